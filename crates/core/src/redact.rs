//! Card numbers (Luhn-valid) and IBANs (checksum-valid) are removed from customer text
//! before anything is stored or logged.

use regex::Regex;
use std::sync::LazyLock;

/// What replaces a card number.
pub const CARD_MARK: &str = "[card number removed]";
/// What replaces an IBAN.
pub const IBAN_MARK: &str = "[IBAN removed]";

static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[0-9](?:[ -]?[0-9]){12,18}\b").expect("valid regex"));
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b").expect("valid regex"));
static IBAN_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[A-Z]{2}[0-9]{2} ?$").expect("valid regex"));

/// The result of redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with secrets replaced.
    pub text: String,
    /// Whether anything was removed.
    pub removed: bool,
}

/// Luhn checksum over ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let digits: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
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
    sum.is_multiple_of(10)
}

/// IBAN mod-97 check (ISO 13616).
pub fn iban_valid(text: &str) -> bool {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if !(15..=34).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).expect("alphanumeric");
        for digit in value.to_string().chars() {
            remainder = (remainder * 10 + digit.to_digit(10).expect("digit")) % 97;
        }
    }
    remainder == 1
}

/// The longest prefix of an IBAN-shaped match that passes the checksum: the pattern may
/// run on into a following word ("DE89 ... 00 bitte").
fn valid_iban_prefix(candidate: &str) -> Option<usize> {
    let ends = candidate
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(candidate.len()));
    let mut ends: Vec<usize> = ends
        .filter(|&e| e == candidate.len() || candidate[e..].starts_with(' '))
        .collect();
    ends.reverse();
    ends.into_iter().find(|&e| iban_valid(&candidate[..e]))
}

/// Replaces valid card numbers and IBANs; look-alikes (failing the checksum) stay.
pub fn redact(text: &str) -> Redacted {
    let mut removed = false;
    let mut step = String::with_capacity(text.len());
    let mut last = 0;
    for m in IBAN.find_iter(text) {
        if let Some(end) = valid_iban_prefix(m.as_str()) {
            step.push_str(&text[last..m.start()]);
            step.push_str(IBAN_MARK);
            last = m.start() + end;
            removed = true;
        }
    }
    step.push_str(&text[last..]);
    let mut out = String::with_capacity(step.len());
    let mut last = 0;
    for m in CARD.find_iter(&step) {
        // Digits right after an IBAN's country and check digits belong to that IBAN.
        if luhn_valid(m.as_str()) && !IBAN_PREFIX.is_match(&step[..m.start()]) {
            out.push_str(&step[last..m.start()]);
            out.push_str(CARD_MARK);
            last = m.end();
            removed = true;
        }
    }
    out.push_str(&step[last..]);
    Redacted { text: out, removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_looking_numbers_are_removed() {
        // Test numbers from card networks' documentation: Luhn-valid.
        let r = redact("my card 4111 1111 1111 1111 and 5500-0000-0000-0004 please");
        assert_eq!(r.text, format!("my card {CARD_MARK} and {CARD_MARK} please"));
        assert!(r.removed);
        let r = redact("IBAN DE89 3704 0044 0532 0130 00 bitte");
        assert_eq!(r.text, format!("IBAN {IBAN_MARK} bitte"));
        assert!(redact("GB82WEST12345698765432").removed);
    }

    #[test]
    fn look_alikes_stay() {
        for text in [
            "order 4111 1111 1111 1112",        // fails Luhn
            "IBAN DE89 3704 0044 0532 0130 01", // fails mod 97
            "invoice G012345678",               // too short for a card
            "subscription 0f8fad5b-d9cb-469f-a165-70867728950e",
            "call +49 30 1234567",
        ] {
            let r = redact(text);
            assert_eq!(r.text, text);
            assert!(!r.removed, "{text}");
        }
    }
}
