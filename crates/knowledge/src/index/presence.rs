//! How much of the question a section covers, read from the postings lists.

use super::request::QueryTerm;
use super::search::{address_order, visit_matches};
use super::{KnowledgeBase, KnowledgeError, Result};
use crate::model::Language;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

/// How much the guidance's words for a customer's word (a thesaurus expansion) count towards
/// covering it: fully for the expansion's rarest term, because a thesaurus entry states that
/// they mean the same (a typo correction, by contrast, is a guess); a more common term of the
/// same expansion counts by its rarity relative to that one.
const EXPANSION_COVERAGE: f32 = 1.0;
/// How much a typo correction counts towards coverage: a guess is weaker evidence.
const CORRECTION_COVERAGE: f32 = 0.6;

impl KnowledgeBase {
    /// For each candidate: its language, and which query terms it contains (in its title,
    /// headings or body), read from the postings lists rather than the stored text.
    pub(super) fn presence(
        &self,
        searcher: &Searcher,
        candidates: &[(f32, tantivy::DocAddress)],
        terms: &[QueryTerm],
        link_text: bool,
    ) -> Result<Presence> {
        let mut languages = vec![Language::En; candidates.len()];
        let mut present = vec![vec![false; terms.len()]; candidates.len()];
        let mut in_title = vec![vec![false; terms.len()]; candidates.len()];
        let order = address_order(candidates);
        let mark = |field: Field, text: &str, hit: &mut dyn FnMut(usize)| -> Result<()> {
            let term = Term::from_field_text(field, text);
            visit_matches(
                candidates,
                &order,
                |segment| {
                    searcher
                        .segment_reader(segment)
                        .inverted_index(field)?
                        .read_postings(&term, IndexRecordOption::Basic)
                        .map_err(|source| KnowledgeError::Io {
                            path: "postings".into(),
                            source,
                        })
                },
                |i, _| hit(i),
            )
        };
        mark(self.fields.lang, Language::De.code(), &mut |i| {
            languages[i] = Language::De;
        })?;
        for (t, q) in terms.iter().enumerate() {
            if q.doc_freq == 0 {
                continue;
            }
            let lf = self.fields.of(q.language);
            // The words the document is linked with describe it as its title does.
            let link_field = link_text.then_some(lf.link_text);
            for field in [lf.title, lf.heading].into_iter().chain(link_field) {
                mark(field, &q.term, &mut |i| {
                    present[i][t] = true;
                    in_title[i][t] = true;
                })?;
            }
            mark(lf.body, &q.term, &mut |i| present[i][t] = true)?;
        }
        Ok(Presence {
            languages,
            present,
            in_title,
        })
    }
}

/// BM25's inverse document frequency, as tantivy computes it.
pub(super) fn idf(doc_freq: u64, total_docs: u64) -> f32 {
    let df = doc_freq.max(1) as f32;
    ((1.0 + (total_docs as f32 - df + 0.5) / (df + 0.5)).ln()).max(0.01)
}

/// Which query terms each re-ranked candidate contains, from the postings.
pub(super) struct Presence {
    /// Each candidate's language.
    pub(super) languages: Vec<Language>,
    /// `present[i][t]`: candidate `i` contains term `t` anywhere.
    pub(super) present: Vec<Vec<bool>>,
    /// `in_title[i][t]`: candidate `i` contains term `t` in its title, description or headings.
    pub(super) in_title: Vec<Vec<bool>>,
}

/// Rarity-weighted share of the question's words a section contains. A word counts fully
/// when its term is present, less through a typo correction, and by the share of its parts
/// for a compound whose whole form is absent. `present[i]` tells whether `terms[i]` occurs.
pub(super) fn coverage(terms: &[QueryTerm], present: &[bool], language: Language, total_docs: u64) -> f32 {
    // A word the guidance never uses weighs like a word found in one section (see `idf`).
    let idf = |df: u64| idf(df, total_docs);
    let mut words: Vec<usize> = terms
        .iter()
        .filter(|t| t.language == language)
        .filter_map(|t| t.word)
        .collect();
    words.sort_unstable();
    words.dedup();
    let (mut got, mut all) = (0.0f32, 0.0f32);
    for w in words {
        let of_word = || {
            terms
                .iter()
                .enumerate()
                .filter(move |(_, t)| t.word == Some(w) && t.language == language)
        };
        let weight = of_word()
            .filter(|(_, t)| !t.compound_part && !t.expands)
            .map(|(_, t)| t.emphasis * idf(t.doc_freq))
            .fold(0.0f32, f32::max);
        if weight == 0.0 {
            continue;
        }
        // An expansion's rarest term is what it means; its common ones (`partner` in "billing
        // relationship partner invoice") are in most sections and vouch for the word only in
        // proportion to their rarity.
        let signature = of_word()
            .filter(|(_, t)| t.expands && !t.compound_part)
            .map(|(_, t)| idf(t.doc_freq))
            .fold(0.0f32, f32::max);
        let mut score: f32 = of_word()
            .filter(|(i, t)| !t.compound_part && present[*i])
            .map(|(_, t)| {
                if t.expands {
                    EXPANSION_COVERAGE * idf(t.doc_freq) / signature
                } else if t.corrected_from.is_some() {
                    CORRECTION_COVERAGE
                } else {
                    1.0
                }
            })
            .fold(0.0, f32::max);
        let parts = of_word().filter(|(_, t)| t.compound_part).count();
        if score == 0.0 && parts > 0 {
            let found = of_word().filter(|(i, t)| t.compound_part && present[*i]).count();
            score = 0.8 * found as f32 / parts as f32;
        }
        got += weight * score;
        all += weight;
    }
    if all == 0.0 {
        0.0
    } else {
        got / all
    }
}
