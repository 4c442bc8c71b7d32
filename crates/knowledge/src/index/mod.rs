//! The tantivy index of sections and the search over it.
//!
//! One module per step a question goes through: `schema` (the fields), `build` (building
//! and opening an index), `request` (what a search is asked and what it answers), `terms`
//! (the question as weighted query terms, typos corrected), `search` (two passes over the
//! postings, re-ranking), `presence` (how much of the question a section covers, from the
//! postings) and `passage` (what of a section is quoted).

use crate::abbreviations::Abbreviations;
use crate::analysis::{Analyzer, CompoundDictionary};
use crate::model::Language;
use schema::Fields;
use std::sync::Arc;
use tantivy::{Index, IndexReader, Searcher, Term};

mod build;
mod passage;
mod presence;
mod request;
mod schema;
mod search;
mod terms;

pub use build::{learn_compounds, IndexStats, COMPOUNDS_FILE};
pub use request::{Expansion, QueryTerm, SearchHit, SearchOutcome, SearchRequest};

/// Errors of the knowledge base.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KnowledgeError {
    /// tantivy failed.
    #[error("index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The stored index is unusable.
    #[error("stored index at {path} is unusable: {reason}")]
    Corrupt {
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result alias.
pub type Result<T> = std::result::Result<T, KnowledgeError>;

/// An opened knowledge base.
pub struct KnowledgeBase {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    de: Analyzer,
    en: Analyzer,
    compounds: Arc<CompoundDictionary>,
    abbreviations: Abbreviations,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").finish_non_exhaustive()
    }
}

impl KnowledgeBase {
    /// The analyzer of a language.
    pub fn analyzer(&self, lang: Language) -> &Analyzer {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }

    /// Words in the German compound dictionary.
    pub fn compound_words(&self) -> usize {
        self.compounds.len()
    }

    /// The long form of an abbreviation the guidance defines ("GDAP" -> "granular delegated
    /// admin privileges"), lower case.
    pub fn long_form(&self, lang: Language, word: &str) -> Option<&str> {
        self.abbreviations.long_form(lang, word)
    }

    /// The abbreviations the guidance defines (learnt when the index was built).
    pub fn abbreviations(&self) -> &Abbreviations {
        &self.abbreviations
    }

    /// Whether the guidance of `lang` uses `word` (every term the analyzer makes of it): a word
    /// it does not know may be a typo of one it does. A stop word, which the analyzer drops,
    /// counts as known: it is a word of the language, not a typo.
    pub fn knows_word(&self, lang: Language, word: &str) -> bool {
        let searcher = self.reader.searcher();
        self.analyzer(lang)
            .analyze(word)
            .iter()
            .all(|t| self.doc_freq(&searcher, lang, &t.term) > 0)
    }

    /// Share of a chat message's words the guidance of `lang` uses, as the router counts them
    /// (stop words and numbers left out, a compound by its whole word), without typo corrections
    /// or thesaurus entries: `None` for a message without such words.
    pub fn known_word_share(&self, lang: Language, text: &str) -> Option<f32> {
        let searcher = self.reader.searcher();
        let mut words: Vec<(usize, bool)> = Vec::new();
        for t in self.analyzer(lang).analyze_question(text) {
            if t.is_compound_part || t.term.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let known = self.doc_freq(&searcher, lang, &t.term) > 0;
            match words.iter_mut().find(|(position, _)| *position == t.position) {
                Some(word) => word.1 |= known,
                None => words.push((t.position, known)),
            }
        }
        (!words.is_empty())
            .then(|| words.iter().filter(|(_, known)| *known).count() as f32 / words.len() as f32)
    }

    /// Whether an indexed term exists in a language's body or title.
    pub(super) fn doc_freq(&self, searcher: &Searcher, lang: Language, term: &str) -> u64 {
        let lf = self.fields.of(lang);
        [lf.body, lf.title, lf.heading]
            .into_iter()
            .map(|field| {
                searcher
                    .doc_freq(&Term::from_field_text(field, term))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }
}
