//! What a search is asked (question, expansions, options) and what it answers (ranked sections, the
//! query terms it made of the question).

use crate::analysis::fold_german;
use crate::model::{Language, Product};
use serde::Serialize;

/// Extra text to search for beside the question.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// The text (the guidance's words).
    pub text: String,
    /// Its weight next to the question's own words.
    pub weight: f32,
    /// The customer's words it stands for, if any: a section with the expansion's terms then
    /// covers those words of the question (see [`SearchHit::coverage`]).
    pub replaces: Option<String>,
}

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    /// The question or keywords, as the user wrote them.
    pub text: &'a str,
    /// Search only this language; `None` searches both.
    pub language: Option<Language>,
    /// How many sections to return.
    pub limit: usize,
    /// Compute highlighted snippets (costs a little per hit).
    pub snippets: bool,
    /// Extra text to search for (query expansion by the caller).
    pub expansions: Vec<Expansion>,
    /// Re-rank the top sections by how much of the question they cover.
    pub rerank: bool,
    /// Weight of the words of a message's sentences that are not questions, when it also has a
    /// question ("We moved to an Azure plan last month. How are reservations billed now?"): the
    /// question says what is wanted, the rest is context. 1.0 weighs all words alike.
    pub context_weight: f32,
    /// Also search the words other documents link to a section's document with.
    pub link_text: bool,
}

impl<'a> SearchRequest<'a> {
    /// A request for `limit` sections with snippets, in any language.
    pub fn new(text: &'a str, limit: usize) -> Self {
        SearchRequest {
            text,
            language: None,
            limit,
            snippets: true,
            expansions: Vec::new(),
            rerank: true,
            context_weight: 1.0,
            link_text: true,
        }
    }
}

/// Words that open a question, for messages written without a question mark (chat often has
/// none): wh-words and the auxiliaries and modals of a yes/no question. Lower case; German
/// folded as the index folds it ([`fold_german`]: `können`, `koennen` and `konnen` are `konnen`).
const QUESTION_OPENERS_EN: &[&str] = &[
    "what", "what's", "whats", "how", "when", "where", "why", "who", "which", "whose", "can", "could", "do",
    "does", "did", "is", "are", "was", "were", "will", "would", "should", "shall", "may", "might", "must",
    "have", "has", "am", "can't", "cant", "don't", "dont", "doesn't", "doesnt", "isn't", "isnt", "aren't",
    "arent", "won't", "wont",
];
const QUESTION_OPENERS_DE: &[&str] = &[
    "was", "wie", "wann", "wo", "woher", "wohin", "warum", "wieso", "weshalb", "weswegen", "wer", "wen",
    "wem", "welche", "welcher", "welches", "welchen", "welchem", "womit", "wofur", "wozu", "woran", "worauf",
    "wobei", "wodurch", "kann", "kannst", "konnen", "konnt", "muss", "musst", "mussen", "darf", "darfst",
    "durfen", "soll", "sollen", "sollte", "sollten", "ist", "sind", "gibt", "habe", "hat", "haben", "habt",
    "wird", "werden", "wurde", "bekomme", "bekommen", "geht", "gilt", "brauche", "brauchen",
];

/// Whether a sentence reads as a question in one of `languages` by its first word.
fn opens_a_question(sentence: &str, languages: &[Language]) -> bool {
    let Some(first) = sentence
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .find(|w| !w.is_empty())
    else {
        return false;
    };
    let first = first.to_lowercase();
    languages.iter().any(|l| match l {
        Language::En => QUESTION_OPENERS_EN.contains(&first.as_str()),
        Language::De => QUESTION_OPENERS_DE.contains(&fold_german(&first).as_str()),
    })
}

/// Byte ranges of the sentences of `text` that are not questions, when it has a question and
/// something else; empty otherwise. A question ends with a question mark; in a message without
/// any, a sentence that opens as a question in one of `languages` is one.
pub(super) fn context_spans(text: &str, languages: &[Language]) -> Vec<std::ops::Range<usize>> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let boundary =
            matches!(c, '?' | '!' | '.' | '\n') && bytes.get(end).is_none_or(u8::is_ascii_whitespace);
        if boundary {
            sentences.push((start..end, c == '?'));
            start = end;
        }
    }
    if start < text.len() {
        sentences.push((start..text.len(), false));
    }
    let mut sentences: Vec<_> = sentences
        .into_iter()
        .filter(|(r, _)| text[r.clone()].chars().any(char::is_alphanumeric))
        .collect();
    if !sentences.iter().any(|(_, q)| *q) {
        for (range, question) in &mut sentences {
            *question = opens_a_question(&text[range.clone()], languages);
        }
    }
    if sentences.iter().any(|(_, q)| *q) && sentences.iter().any(|(_, q)| !*q) {
        sentences
            .into_iter()
            .filter(|(_, q)| !*q)
            .map(|(r, _)| r)
            .collect()
    } else {
        Vec::new()
    }
}

/// One ranked section.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHit {
    /// `path#anchor`.
    pub citation: String,
    /// Document path relative to its knowledge root.
    pub doc_path: String,
    /// Section anchor (empty for an introduction).
    pub anchor: String,
    /// Document title.
    pub title: String,
    /// Section heading.
    pub heading: String,
    /// A short excerpt, matched words between `**`.
    pub snippet: String,
    /// The ranking score (not a probability).
    pub score: f32,
    /// Language of the section.
    pub language: Language,
    /// Products of the document.
    pub products: Vec<Product>,
    /// Audiences of the document.
    pub audience: Vec<String>,
    /// Roles of the document.
    pub roles: Vec<String>,
    /// Link targets in the section.
    pub links: Vec<String>,
    /// The other documents of the knowledge base the section's document links to (paths).
    #[serde(skip)]
    pub linked_documents: Vec<String>,
    /// First line of the section in its file.
    pub line: u64,
    /// The section's text is only the texts of its links ("Next steps", "See also"): it sends
    /// the reader elsewhere and answers nothing itself (not serialised).
    #[serde(skip)]
    pub links_only: bool,
    /// Share of the question's words (weighted by rarity) the section contains, 0..1.
    pub coverage: f32,
    /// The same share counted only in the document's title and description and the section's
    /// headings: what the section is about rather than what it mentions.
    pub title_coverage: f32,
    /// The section's full text (not serialised).
    #[serde(skip)]
    pub body: String,
}

impl SearchHit {
    /// Whether either hit's document links to the other's: their authors treat them as one
    /// subject seen from two sides, so a near tie between them is no doubt about the subject.
    pub fn is_linked_with(&self, other: &SearchHit) -> bool {
        self.linked_documents.contains(&other.doc_path) || other.linked_documents.contains(&self.doc_path)
    }
}

/// Where text turned into query terms comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TermSource {
    /// The question: each word stands for itself.
    Question,
    /// An expansion, standing for the question word at this position, if any.
    Expansion(Option<usize>),
}

/// How one word of the question became query terms.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueryTerm {
    /// The language whose analyzer produced it.
    pub language: Language,
    /// The indexed term searched for.
    pub term: String,
    /// The misspelt term this one corrects, if it is a correction.
    pub corrected_from: Option<String>,
    /// True for a part of a compound word.
    pub compound_part: bool,
    /// The weight given to the term.
    pub weight: f32,
    /// Sections containing the term in the body.
    pub doc_freq: u64,
    /// Which word of the question it came from, or stands for; `None` for expansions that
    /// stand for no word of the question.
    pub word: Option<usize>,
    /// True for a term of an expansion (standing for `word`, if any).
    pub expands: bool,
    /// How much the word counts: 1.0, or the context weight for a word of a sentence around
    /// the question.
    pub emphasis: f32,
}

/// The result of a search.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchOutcome {
    /// Ranked sections, best first.
    pub hits: Vec<SearchHit>,
    /// The terms searched for; a question word unknown to the guidance is among them with
    /// weight 0, so callers can tell which words the guidance knows.
    pub terms: Vec<QueryTerm>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'t>(text: &'t str, languages: &[Language]) -> Vec<&'t str> {
        context_spans(text, languages)
            .into_iter()
            .map(|r| text[r].trim())
            .collect()
    }

    #[test]
    fn the_sentences_around_a_question_are_its_context() {
        let text = "We moved to an Azure plan last month. How are reservations billed now?";
        assert_eq!(
            context(text, &Language::ALL),
            ["We moved to an Azure plan last month."]
        );
        // One sentence, or no question: nothing is only context.
        assert!(context("How are reservations billed now?", &Language::ALL).is_empty());
        assert!(context("Our invoice is wrong. Please check it.", &Language::ALL).is_empty());
    }

    /// Chat often has no question mark: a sentence that opens as a question in the message's
    /// language is the question then, and one that does not open so in it is not.
    #[test]
    fn a_question_without_a_question_mark_is_known_by_its_first_word() {
        let english = "We moved to an Azure plan last month. how are reservations billed now";
        assert_eq!(
            context(english, &[Language::En]),
            ["We moved to an Azure plan last month."]
        );
        let german = "Wir haben letzten Monat gewechselt. Wie werden Reservierungen jetzt abgerechnet";
        assert_eq!(
            context(german, &[Language::De]),
            ["Wir haben letzten Monat gewechselt."]
        );
        assert!(context(german, &[Language::En]).is_empty());
        // Where the writer marks a question, the marks decide.
        let marked = "How we bill changed. Is the old invoice still valid?";
        assert_eq!(context(marked, &[Language::En]), ["How we bill changed."]);
    }
}
