//! What the intent classifier sees of a message: word and character n-grams that survive chat
//! (typos, compounds, missing umlauts), the shape of numbers and ids, and the message's length.
//! No feature names a word: which words matter is learnt from the examples.

use switchboard_knowledge::Language;

/// Character n-grams of a word, from this length...
const CHAR_MIN: usize = 3;
/// ...to this one.
const CHAR_MAX: usize = 4;

/// Lower case, umlauts and ß folded; in German also `ae`/`oe`/`ue` (customers without a German
/// keyboard write `kuendigen` as often as `kundigen`), so all three spellings meet.
pub fn normalise(text: &str, lang: Language) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push('a'),
            'ö' => out.push('o'),
            'ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    if lang == Language::De {
        out = out.replace("ae", "a").replace("oe", "o").replace("ue", "u");
    }
    out
}

/// The shape of a token that is not a plain word: numbers, amounts, ids, addresses, error codes.
fn shape(token: &str) -> Option<&'static str> {
    let digits = token.chars().filter(char::is_ascii_digit).count();
    if token.contains('@') && token.contains('.') {
        Some("#email")
    } else if token.starts_with("0x") && token.len() > 4 {
        Some("#hexcode")
    } else if digits == 0 {
        None
    } else if digits == token.chars().count() {
        Some(if digits >= 5 { "#longnumber" } else { "#number" })
    } else if token.chars().any(char::is_alphabetic) {
        Some("#code")
    } else {
        Some("#amount")
    }
}

/// The features of a message, as names (the classifier maps them to columns). Groups:
/// `w:` words, `b:` word pairs (with `^`/`$` marking start and end), `c:` character n-grams
/// within words, `#...` shapes and the message's length and punctuation.
pub fn features(text: &str, lang: Language) -> Vec<String> {
    let normal = normalise(text, lang);
    let tokens: Vec<&str> = normal
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '@' | '.' | ',' | '-' | '_')))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | ',' | '-' | '_')))
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::with_capacity(tokens.len() * 12 + 4);
    let mut words: Vec<String> = Vec::with_capacity(tokens.len());
    for token in &tokens {
        if let Some(shape) = shape(token) {
            out.push(shape.to_string());
            words.push(shape.to_string());
            continue;
        }
        for word in token
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            out.push(format!("w:{word}"));
            let padded: Vec<char> = format!("<{word}>").chars().collect();
            for n in CHAR_MIN..=CHAR_MAX {
                for gram in padded.windows(n) {
                    out.push(format!("c:{}", gram.iter().collect::<String>()));
                }
            }
            words.push(word.to_string());
        }
    }
    let mut previous = "^".to_string();
    for word in &words {
        out.push(format!("b:{previous} {word}"));
        previous.clone_from(word);
    }
    out.push(format!("b:{previous} $"));
    out.push(
        match words.len() {
            0 => "#len0",
            1 => "#len1",
            2..=3 => "#len2-3",
            4..=8 => "#len4-8",
            9..=20 => "#len9-20",
            _ => "#len21+",
        }
        .to_string(),
    );
    if text.contains('?') {
        out.push("#question-mark".into());
    }
    if text.contains('!') {
        out.push("#exclamation".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_spellings_of_umlauts_meet() {
        for spelling in ["kündigen", "kuendigen", "kundigen", "KÜNDIGEN"] {
            assert_eq!(normalise(spelling, Language::De), "kundigen", "{spelling}");
        }
        assert_eq!(normalise("queue", Language::En), "queue");
    }

    #[test]
    fn numbers_and_ids_become_shapes() {
        let f = features(
            "Invoice INV-2093 shows 1.234,56 € and error 0x80070005, mail a@b.de",
            Language::En,
        );
        for shape in ["#code", "#amount", "#hexcode", "#email"] {
            assert!(f.iter().any(|x| x == shape), "{shape} in {f:?}");
        }
        assert!(f.iter().any(|x| x == "b:^ invoice"));
        assert!(f.iter().any(|x| x == "c:<inv"));
    }
}
