//! Intents' regular expressions: compiled with a size limit, matched on folded text, and the
//! words they spell out (for typo tolerance).

use super::manifest::IntentSpec;
use super::typos::MIN_FUZZY_KEY_CHARS;
use crate::entities;
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};
use switchboard_knowledge::Language;

/// Compiled regexes larger than this are refused: a plugin must not exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled intent.
#[derive(Debug, Clone)]
pub struct Intent {
    /// The spec.
    pub spec: IntentSpec,
    pub(super) patterns: Vec<Regex>,
    pub(super) unless: Vec<Regex>,
    pub(super) keywords: Vec<String>,
    /// The whole words of six or more letters its patterns and keywords spell out, which a
    /// message word one typo away is read as (see [`PluginSet::fire`]).
    pub(super) vocabulary: Vec<String>,
}

/// The words of six or more letters a regular expression spells out (`receiving` in
/// `\bnot\s+(working|receiving)\b`, `erstatten` and `erstattung` in `erstatt(en|ung)`), read
/// from its syntax tree: runs of literals, small alternations and optional parts, expanded.
pub(super) fn literal_words(pattern: &str) -> Vec<String> {
    let mut words = Vec::new();
    if let Ok(hir) = regex_syntax::parse(pattern) {
        collect_words(&hir, &mut words);
    }
    words.retain(|w| w.chars().count() >= MIN_FUZZY_KEY_CHARS);
    words.sort();
    words.dedup();
    words
}

/// Every head followed by every tail, unless that makes more than [`MAX_SPELLINGS`].
fn joined(heads: &[String], tails: &[String]) -> Option<Vec<String>> {
    (heads.len() * tails.len() <= MAX_SPELLINGS).then(|| {
        heads
            .iter()
            .flat_map(|head| tails.iter().map(move |tail| format!("{head}{tail}")))
            .collect()
    })
}

/// At most this many spellings of one run are expanded; a pattern with more is not a word.
const MAX_SPELLINGS: usize = 32;

fn collect_words(hir: &Hir, words: &mut Vec<String>) {
    match hir.kind() {
        HirKind::Concat(parts) => {
            // Maximal runs of spellable parts form words; anything else separates them.
            let mut run: Vec<String> = vec![String::new()];
            for part in parts {
                if let Some(longer) = spellings(part).and_then(|tails| joined(&run, &tails)) {
                    run = longer;
                } else {
                    words.append(&mut run);
                    run = vec![String::new()];
                    collect_words(part, words);
                }
            }
            words.append(&mut run);
        }
        HirKind::Alternation(alternatives) => {
            for alternative in alternatives {
                collect_words(alternative, words);
            }
        }
        HirKind::Capture(capture) => collect_words(&capture.sub, words),
        HirKind::Repetition(repetition) => collect_words(&repetition.sub, words),
        // A literal with spaces or punctuation (`not really`) holds several words.
        HirKind::Literal(literal) => words.extend(
            String::from_utf8_lossy(&literal.0)
                .split(|c: char| !c.is_alphabetic())
                .map(str::to_lowercase),
        ),
        _ => words.extend(spellings(hir).unwrap_or_default()),
    }
}

/// Every string of letters `hir` matches, if it is a small finite set of them (a look-around
/// such as `\b` spells the empty string).
fn spellings(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![String::new()]),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            text.chars()
                .all(char::is_alphabetic)
                .then(|| vec![text.to_lowercase()])
        }
        HirKind::Class(Class::Unicode(class)) => {
            let letters: Vec<char> = class
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(5)
                .collect();
            (letters.len() <= 4 && letters.iter().all(|c| c.is_alphabetic()))
                .then(|| letters.iter().map(|c| c.to_lowercase().collect()).collect())
        }
        HirKind::Capture(capture) => spellings(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min == 0 && repetition.max == Some(1) => {
            let mut all = spellings(&repetition.sub)?;
            all.push(String::new());
            Some(all)
        }
        HirKind::Alternation(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(spellings(alternative)?);
            }
            (all.len() <= MAX_SPELLINGS).then_some(all)
        }
        HirKind::Concat(parts) => {
            let mut all = vec![String::new()];
            for part in parts {
                all = joined(&all, &spellings(part)?)?;
            }
            Some(all)
        }
        _ => None,
    }
}

pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    // Matched against text whose umlauts are folded (see `normalize_for_matching`).
    RegexBuilder::new(&fold_umlauts(pattern))
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid regex")
                .trim()
                .to_string()
        })
}

/// Lower-cases and folds text the way keywords are matched.
pub fn normalize_for_matching(text: &str) -> String {
    let text: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '’' | '`' | '´' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    fold_umlauts(&text)
}

/// Text as thesaurus keys and messages are compared: German also folds `ae`, `oe`, `ue` as the
/// analyzer does (`verlaengert` is `verlängert`); keys are plain phrases, not patterns, so this is
/// safe for them, while English keeps its `ue` (`issue`).
pub(super) fn thesaurus_form(text: &str, lang: Language) -> String {
    let normalized = normalize_for_matching(text);
    match lang {
        Language::De => switchboard_knowledge::analysis::fold_german(&normalized),
        Language::En => normalized,
    }
}

/// `ä`, `ö`, `ü` as `a`, `o`, `u` and `ß` as `ss`: customers without a German keyboard write
/// `kundigen` for `kündigen`, so intents, keywords and thesaurus keys match on folded text (their
/// `(ü|ue)` alternatives then cover `u` and `ue`).
pub(super) fn fold_umlauts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push('a'),
            'ö' | 'Ö' => out.push('o'),
            'ü' | 'Ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    out
}

impl Intent {
    /// Whether the intent fires on `normalized` text; returns what matched.
    pub fn matches(&self, normalized: &str) -> Option<String> {
        if self.unless.iter().any(|r| r.is_match(normalized)) {
            return None;
        }
        if let Some(m) = self.patterns.iter().find_map(|r| r.find(normalized)) {
            return Some(m.as_str().to_string());
        }
        self.keywords
            .iter()
            .find(|k| entities::contains_phrase(normalized, k))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_words_expand_small_alternations_and_skip_escapes() {
        assert_eq!(
            literal_words(r"\bnot\s+(working|receiving|loading)\b"),
            ["loading", "receiving", "working"]
        );
        let refund = literal_words(r"\b(zur(ü|ue)ck)?erstatt(en|ung)\b");
        for word in ["erstatten", "erstattung", "zurückerstatten", "zurueckerstattung"] {
            assert!(refund.iter().any(|w| w == word), "{word}: {refund:?}");
        }
        assert!(literal_words(r"\bwiderspr(e|i)che?\b").contains(&"widerspreche".to_string()));
        // `.{0,40}` and `\s+` separate words; nothing shorter than six letters is kept.
        assert_eq!(literal_words(r"\bcharged\s+(us\s+|me\s+)?twice\b"), ["charged"]);
        assert!(literal_words(r"(unclosed").is_empty());
    }
}
