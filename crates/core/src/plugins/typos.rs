//! A message word one typo away from a long thesaurus key or intent word reads as it.

use std::collections::HashMap;

/// A one-word thesaurus key (or intent word) at least this long also matches a message word one
/// typo away from it (`gesperrrt` for `gesperrt`, `persn` for `person`); shorter keys would match
/// other words.
pub(super) const MIN_FUZZY_KEY_CHARS: usize = 6;

/// Whether `word` is `key` with one letter added, dropped, changed or two swapped, the first
/// letter kept (typos rarely hit it, and `locked` is not `blocked`).
fn one_typo_apart(word: &str, key: &str) -> bool {
    // Cheap tests first: a long message meets every key of the thesaurus.
    word.chars().next() == key.chars().next()
        && word.len().abs_diff(key.len()) <= 2
        && strsim::damerau_levenshtein(word, key) == 1
}

/// Words of six or more letters (one-word thesaurus keys, intent words) by first letter, so that
/// a message word one typo from one of them can be read as it: a long message meets every target,
/// and typos keep the first letter.
#[derive(Debug, Clone, Default)]
pub(super) struct TypoTargets {
    by_first: HashMap<char, Vec<String>>,
}

impl TypoTargets {
    pub(super) fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut by_first: HashMap<char, Vec<String>> = HashMap::new();
        for word in words {
            let Some(first) = word.chars().next() else {
                continue;
            };
            if word.chars().count() < MIN_FUZZY_KEY_CHARS {
                continue;
            }
            let bucket = by_first.entry(first).or_default();
            if !bucket.iter().any(|w| w == word) {
                bucket.push(word.to_string());
            }
        }
        TypoTargets { by_first }
    }

    fn bucket(&self, word: &str) -> &[String] {
        word.chars()
            .next()
            .and_then(|first| self.by_first.get(&first))
            .map_or(&[], Vec::as_slice)
    }

    pub(super) fn contains(&self, word: &str) -> bool {
        self.bucket(word).iter().any(|w| w == word)
    }

    /// The targets `word` is one typo from.
    pub(super) fn near<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.bucket(word)
            .iter()
            .filter(move |target| one_typo_apart(word, target))
            .map(String::as_str)
    }
}

/// `text` with every whole-word occurrence of `word` replaced by `by`.
pub(super) fn replace_word(text: &str, word: &str, by: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(char::is_alphabetic) || after.is_some_and(char::is_alphabetic) {
            out.push_str(word);
        } else {
            out.push_str(by);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}
