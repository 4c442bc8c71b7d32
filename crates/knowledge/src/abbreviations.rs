//! The abbreviations the guidance defines for itself: "Granular delegated admin privileges
//! (GDAP)" teaches that a customer's `gdap` means what sections written with the long form say.
//! Found with Schwartz and Hearst's algorithm (2003): the short form in parentheses, the long
//! form the shortest run of the words before it that holds the short form's letters in order,
//! its first letter starting a word.

use crate::model::{Language, Section};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Name of the abbreviations file in an index directory.
pub const ABBREVIATIONS_FILE: &str = "abbreviations.tsv";

/// A definition must occur this often: one occurrence may be a slip or a one-off coinage.
const MIN_DEFINITIONS: usize = 2;

/// A short form used in this share of a language's documents names the guidance's own domain
/// ("CSP" is in a third of the English and three quarters of the German documents): its long
/// form then adds only common words to every question that names it.
const MAX_DOCUMENT_SHARE: f64 = 0.25;

/// The longest word a long form is read with; a longer one is cut (and then not matched).
const MAX_WORD_BYTES: usize = 64;

/// The most ASCII letters and digits a short form has...
const SHORT_FORM_MAX: usize = 8;
/// ...and how many it may have.
const SHORT_FORM_CHARS: std::ops::RangeInclusive<usize> = 2..=SHORT_FORM_MAX;

/// Short form (lower case) -> long form (lower case), per language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Abbreviations {
    de: HashMap<String, String>,
    en: HashMap<String, String>,
}

impl Abbreviations {
    fn of(&self, lang: Language) -> &HashMap<String, String> {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }

    fn of_mut(&mut self, lang: Language) -> &mut HashMap<String, String> {
        match lang {
            Language::De => &mut self.de,
            Language::En => &mut self.en,
        }
    }

    /// The long form of `word` (any case) in `lang`, if the guidance defines it. Asked for every
    /// word of every message: a word that cannot be a short form is not lower-cased or hashed.
    pub fn long_form(&self, lang: Language, word: &str) -> Option<&str> {
        let map = self.of(lang);
        if map.is_empty() {
            return None;
        }
        let mut buffer = [0u8; SHORT_FORM_MAX];
        map.get(lower_short_form(word, &mut buffer)?).map(String::as_str)
    }

    /// Every `(language, short form, long form)`, sorted.
    pub fn entries(&self) -> Vec<(Language, &str, &str)> {
        let mut all: Vec<(Language, &str, &str)> = Language::ALL
            .iter()
            .flat_map(|&lang| {
                self.of(lang)
                    .iter()
                    .map(move |(short, long)| (lang, short.as_str(), long.as_str()))
            })
            .collect();
        all.sort_unstable();
        all
    }

    /// One `lang<TAB>short<TAB>long` line per abbreviation, sorted (stored beside the index).
    pub fn to_tsv(&self) -> String {
        self.entries()
            .into_iter()
            .map(|(lang, short, long)| format!("{}\t{short}\t{long}", lang.code()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads what [`Abbreviations::to_tsv`] wrote; lines it cannot read are skipped.
    pub fn from_tsv(text: &str) -> Self {
        let mut out = Abbreviations::default();
        for line in text.lines() {
            let mut parts = line.split('\t');
            let (Some(code), Some(short), Some(long)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if let Some(lang) = Language::ALL.iter().find(|l| l.code() == code) {
                out.of_mut(*lang).insert(short.to_string(), long.to_string());
            }
        }
        out
    }
}

/// What one pass over the sections finds.
#[derive(Default)]
struct Found<'s> {
    /// (language, short, long) -> definitions.
    definitions: HashMap<(Language, String, String), usize>,
    /// Per document: its language and the words it writes as short forms are written (lower case).
    documents: HashMap<&'s str, (Language, HashSet<String>)>,
}

impl<'s> Found<'s> {
    fn read(mut self, s: &'s Section) -> Self {
        let (_, used) = self
            .documents
            .entry(s.doc_path.as_str())
            .or_insert_with(|| (s.language, HashSet::new()));
        for text in [&s.doc_title, &s.heading, &s.body] {
            for (short, long) in definitions_in(text) {
                *self.definitions.entry((s.language, short, long)).or_default() += 1;
            }
            let mut buffer = [0u8; SHORT_FORM_MAX];
            for word in capitalised_words(text) {
                if let Some(word) = lower_short_form(word, &mut buffer) {
                    if !used.contains(word) {
                        used.insert(word.to_string());
                    }
                }
            }
        }
        self
    }

    fn merge(mut self, other: Found<'s>) -> Self {
        for (key, n) in other.definitions {
            *self.definitions.entry(key).or_default() += n;
        }
        for (path, (lang, used)) in other.documents {
            self.documents
                .entry(path)
                .or_insert_with(|| (lang, HashSet::new()))
                .1
                .extend(used);
        }
        self
    }
}

/// Learns the abbreviations the sections define (read on every core, in one pass).
pub fn learn_abbreviations(sections: &[Section]) -> Abbreviations {
    let found = sections
        .par_iter()
        .fold(Found::default, Found::read)
        .reduce(Found::default, Found::merge);
    // The commonest long form of each short form (ties: the first in order, so every build
    // learns the same).
    let mut best: BTreeMap<(Language, String), (usize, String)> = BTreeMap::new();
    for ((lang, short, long), n) in found.definitions {
        if n < MIN_DEFINITIONS {
            continue;
        }
        let entry = best.entry((lang, short)).or_insert((0, String::new()));
        if n > entry.0 || (n == entry.0 && long < entry.1) {
            *entry = (n, long);
        }
    }
    let mut out = Abbreviations::default();
    for ((lang, short), (_, long)) in best {
        let documents = found.documents.values().filter(|(l, _)| *l == lang);
        let (mut all, mut using) = (0usize, 0usize);
        for (_, used) in documents {
            all += 1;
            using += usize::from(used.contains(&short));
        }
        if (using as f64) < MAX_DOCUMENT_SHARE * all as f64 {
            out.of_mut(lang).insert(short, long);
        }
    }
    out
}

/// The words of `text` that may be short forms as the guidance writes them: runs of two to eight
/// ASCII letters and digits with at least two capitals. Read byte by byte: most words are
/// passed over without being decoded, lower-cased or hashed.
fn capitalised_words(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if !bytes[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            let mut capitals = 0;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                capitals += usize::from(bytes[i].is_ascii_uppercase());
                i += 1;
            }
            if capitals >= 2 && SHORT_FORM_CHARS.contains(&(i - start)) {
                // ASCII bytes between ASCII boundaries: always a valid `str`.
                return text.get(start..i);
            }
        }
        None
    })
}

/// `word` lower-cased into `buffer`, if it has a short form's length and is all ASCII letters and
/// digits (the stored short forms are); otherwise `None`, having allocated nothing.
fn lower_short_form<'b>(word: &str, buffer: &'b mut [u8; SHORT_FORM_MAX]) -> Option<&'b str> {
    if !SHORT_FORM_CHARS.contains(&word.len()) || !word.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    for (to, from) in buffer.iter_mut().zip(word.bytes()) {
        *to = from.to_ascii_lowercase();
    }
    std::str::from_utf8(&buffer[..word.len()]).ok()
}

/// The `(short, long)` definitions in `text`, both lower case.
fn definitions_in(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(open) = text[offset..].find('(') {
        let at = offset + open;
        offset = at + 1;
        let after = &text[offset..];
        // A short form closes within its eight characters: looking further would make a text
        // of many `(` quadratic.
        let Some(close) = after.bytes().take(SHORT_FORM_MAX + 1).position(|b| b == b')') else {
            continue;
        };
        let short = &after[..close];
        if !is_short_form(short) {
            continue;
        }
        if let Some(long) = long_form(&text[..at], short) {
            out.push((short.to_lowercase(), long));
        }
    }
    out
}

/// Two to eight ASCII letters or digits, beginning with a letter, at least two of them capitals
/// (`GDAP`, `ISVs`, `AKS`; not `(optional)` or `(2)`).
fn is_short_form(s: &str) -> bool {
    SHORT_FORM_CHARS.contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.bytes().filter(u8::is_ascii_uppercase).count() >= 2
}

/// The long form of `short` ending `before`: the shortest run of its last words that holds the
/// short form's letters in order, the first letter at a word's start (Schwartz and Hearst).
/// At least two words and at most the short form's length plus two; plain words only.
fn long_form(before: &str, short: &str) -> Option<String> {
    let letters: Vec<char> = short.to_lowercase().chars().collect();
    let window = (letters.len() + 5).min(letters.len() * 2);
    // Only the end of the text can hold the long form: reading all of it for every definition
    // would make a long text full of definitions quadratic.
    let mut from = before.len().saturating_sub(window * MAX_WORD_BYTES);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let words: Vec<&str> = before[from..].split_whitespace().collect();
    let words = &words[words.len().saturating_sub(window)..];
    let candidate: String = words.join(" ").to_lowercase();
    let chars: Vec<char> = candidate.chars().collect();
    // Matched right to left; `li` walks the candidate.
    let mut li = chars.len();
    for (si, &letter) in letters.iter().enumerate().rev() {
        loop {
            if li == 0 {
                return None;
            }
            li -= 1;
            let word_start = li == 0 || !chars[li - 1].is_alphanumeric();
            if chars[li] == letter && (si > 0 || word_start) {
                break;
            }
        }
    }
    // The long form starts at the word holding the first letter.
    let start = chars[..li].iter().rposition(|c| *c == ' ').map_or(0, |p| p + 1);
    let long: String = chars[start..].iter().collect();
    let long = long.trim().to_string();
    let count = long.split_whitespace().count();
    let plain = long
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\''));
    (count >= 2 && count <= letters.len() + 2 && plain).then_some(long)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(path: &str, lang: Language, body: &str) -> Section {
        Section {
            body: body.into(),
            ..Section::new(path, lang)
        }
    }

    #[test]
    fn long_forms_are_the_shortest_run_of_words_holding_the_letters() {
        let found = definitions_in(
            "Use granular delegated admin privileges (GDAP) for least privilege. Some \
             independent software vendors (ISVs) sell via Azure spending (NCE) (optional) (2).",
        );
        assert_eq!(
            found,
            vec![
                (
                    "gdap".to_string(),
                    "granular delegated admin privileges".to_string()
                ),
                ("isvs".to_string(), "independent software vendors".to_string()),
            ]
        );
    }

    #[test]
    fn hostile_parentheses_and_many_definitions_take_linear_time() {
        let opens = "(".repeat(200_000) + ")";
        assert!(definitions_in(&opens).is_empty());
        let many = "granular delegated admin privileges (GDAP) ".repeat(20_000);
        let started = std::time::Instant::now();
        assert_eq!(definitions_in(&many).len(), 20_000);
        // Quadratic, this is minutes; linear, milliseconds even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn definitions_seen_twice_are_learnt_and_domain_names_are_not() {
        let mut sections = Vec::new();
        for i in 0..4 {
            // Every document says CSP: it names the domain, its long form adds nothing.
            let body = if i < 2 {
                "A Cloud Solution Provider (CSP) partner may use Partner Admin Link (PAL)."
            } else {
                "A CSP partner."
            };
            sections.push(section(&format!("d{i}.md"), Language::En, body));
        }
        sections.push(section("once.md", Language::En, "A one off term (OOT) here."));
        for i in 0..6 {
            sections.push(section(&format!("other{i}.md"), Language::En, "Other guidance."));
        }
        let learnt = learn_abbreviations(&sections);
        assert_eq!(learnt.long_form(Language::En, "PAL"), Some("partner admin link"));
        assert_eq!(learnt.long_form(Language::En, "pal"), Some("partner admin link"));
        assert_eq!(learnt.long_form(Language::En, "csp"), None);
        assert_eq!(learnt.long_form(Language::En, "oot"), None);
        assert_eq!(learnt.long_form(Language::De, "pal"), None);
        assert_eq!(Abbreviations::from_tsv(&learnt.to_tsv()), learnt);
    }
}
