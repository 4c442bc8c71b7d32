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
    let mut out = Vec::new();
    visit_features(text, lang, |name| out.push(name.to_string()));
    out
}

/// Calls `visit` with each of [`features`]' names in the same order, from one reused buffer:
/// a message has hundreds of character n-grams, and a string allocated for each was most of
/// what classifying it cost.
pub fn visit_features(text: &str, lang: Language, mut visit: impl FnMut(&str)) {
    let normal = normalise(text, lang);
    let tokens: Vec<&str> = normal
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '@' | '.' | ',' | '-' | '_')))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | ',' | '-' | '_')))
        .filter(|t| !t.is_empty())
        .collect();
    let mut name = String::with_capacity(64);
    let mut padded = String::with_capacity(64);
    let mut bounds: Vec<usize> = Vec::with_capacity(64);
    let mut words: Vec<&str> = Vec::with_capacity(tokens.len());
    for token in &tokens {
        if let Some(shape) = shape(token) {
            visit(shape);
            words.push(shape);
            continue;
        }
        for word in token
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            name.clear();
            name.push_str("w:");
            name.push_str(word);
            visit(&name);
            padded.clear();
            padded.push('<');
            padded.push_str(word);
            padded.push('>');
            bounds.clear();
            bounds.extend(padded.char_indices().map(|(i, _)| i));
            bounds.push(padded.len());
            let chars = bounds.len() - 1;
            for n in CHAR_MIN..=CHAR_MAX {
                for first in 0..(chars + 1).saturating_sub(n) {
                    name.clear();
                    name.push_str("c:");
                    name.push_str(&padded[bounds[first]..bounds[first + n]]);
                    visit(&name);
                }
            }
            words.push(word);
        }
    }
    let mut previous = "^";
    for word in &words {
        name.clear();
        name.push_str("b:");
        name.push_str(previous);
        name.push(' ');
        name.push_str(word);
        visit(&name);
        previous = word;
    }
    name.clear();
    name.push_str("b:");
    name.push_str(previous);
    name.push_str(" $");
    visit(&name);
    visit(match words.len() {
        0 => "#len0",
        1 => "#len1",
        2..=3 => "#len2-3",
        4..=8 => "#len4-8",
        9..=20 => "#len9-20",
        _ => "#len21+",
    });
    if text.contains('?') {
        visit("#question-mark");
    }
    if text.contains('!') {
        visit("#exclamation");
    }
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
