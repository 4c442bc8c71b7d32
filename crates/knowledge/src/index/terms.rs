//! Turning a question into weighted query terms: analysis, typo correction, expansions.

use super::presence::idf;
use super::request::{QueryTerm, TermSource};
use super::KnowledgeBase;
use crate::model::Language;
use tantivy::query::FuzzyTermQuery;
use tantivy::{Searcher, Term};

/// Weight of a compound part next to the whole word.
const COMPOUND_PART_WEIGHT: f32 = 0.6;
/// Weight of each of two typo corrections of a word next to a word spelt right (a correction
/// without a rival weighs as the word).
const CORRECTION_WEIGHT: f32 = 0.8;
/// Words shorter than this are never corrected: too many neighbours.
const MIN_CORRECTABLE_CHARS: usize = 4;
/// Words this long may be corrected by two edits.
const TWO_EDITS_FROM_CHARS: usize = 8;
/// At most this many terms go into one query.
const MAX_SEARCHED_TERMS: usize = 24;

impl KnowledgeBase {
    /// The closest indexed terms to a misspelt one, most frequent first.
    fn corrections(&self, searcher: &Searcher, lang: Language, term: &str) -> Vec<(String, u64)> {
        let chars = term.chars().count();
        if chars < MIN_CORRECTABLE_CHARS || term.chars().any(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        let body = self.fields.of(lang).body;
        let mut best: Vec<(String, u64, u8)> = Vec::new();
        for distance in 1..=2u8 {
            if distance == 2 && chars < TWO_EDITS_FROM_CHARS {
                break;
            }
            let Ok(automaton) =
                FuzzyTermQuery::new(Term::from_field_text(body, term), distance, true).automaton()
            else {
                break;
            };
            for segment in searcher.segment_readers() {
                let Ok(inverted) = segment.inverted_index(body) else {
                    continue;
                };
                // Typos rarely hit the first letter: requiring it prunes most of the dictionary.
                let first = SameFirstByte {
                    first: term.as_bytes()[0],
                    typos: &automaton,
                };
                let Ok(mut stream) = inverted.terms().search(first).into_stream() else {
                    continue;
                };
                while stream.advance() {
                    let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                        continue;
                    };
                    let df = u64::from(stream.value().doc_freq);
                    best.push((candidate.to_string(), df, distance));
                }
            }
            if !best.is_empty() {
                break;
            }
        }
        best.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        best.dedup_by(|a, b| a.0 == b.0);
        best.into_iter().take(2).map(|(t, df, _)| (t, df)).collect()
    }

    /// Turns text into weighted terms for one language, correcting typos against the index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn query_terms(
        &self,
        searcher: &Searcher,
        lang: Language,
        text: &str,
        weight: f32,
        source: TermSource,
        context: (&[std::ops::Range<usize>], f32),
        out: &mut Vec<QueryTerm>,
    ) {
        let from_question = source == TermSource::Question;
        let word_of = |position: usize| match source {
            TermSource::Question => Some(position),
            TermSource::Expansion(word) => word,
        };
        let analyzer = self.analyzer(lang);
        for t in analyzer.analyze_question(text) {
            let emphasis = if context.0.iter().any(|r| r.contains(&t.from)) {
                context.1
            } else {
                1.0
            };
            let weight = weight * emphasis;
            if let Some(q) = out.iter_mut().find(|q| {
                q.language == lang && (q.term == t.term || q.corrected_from.as_deref() == Some(&t.term))
            }) {
                // A word of the question said again in its context keeps the question's weight.
                if from_question && !q.expands && emphasis > q.emphasis && q.emphasis > 0.0 {
                    q.weight *= emphasis / q.emphasis;
                    q.emphasis = emphasis;
                }
                continue;
            }
            let part_weight = if t.is_compound_part {
                COMPOUND_PART_WEIGHT
            } else {
                1.0
            };
            let df = self.doc_freq(searcher, lang, &t.term);
            if df > 0 {
                out.push(QueryTerm {
                    language: lang,
                    term: t.term,
                    corrected_from: None,
                    compound_part: t.is_compound_part,
                    weight: weight * part_weight,
                    doc_freq: df,
                    word: word_of(t.position),
                    expands: !from_question,
                    emphasis,
                });
                continue;
            }
            let corrections = self.corrections(searcher, lang, &t.term);
            if corrections
                .first()
                .is_some_and(|(term, _)| analyzer.is_stop_stem(term))
            {
                // A misspelt filler word ("acually", its likeliest reading a stop word's stem) is
                // filler, not a word to search for.
                continue;
            }
            if corrections.is_empty() && from_question && !t.is_compound_part {
                // Unknown to the guidance: not searched, but it counts against coverage.
                out.push(QueryTerm {
                    language: lang,
                    term: t.term.clone(),
                    corrected_from: None,
                    compound_part: false,
                    weight: 0.0,
                    doc_freq: 0,
                    word: Some(t.position),
                    expands: false,
                    emphasis,
                });
            }
            // One correction in reach is the word the customer meant; of two, either may be.
            let sole = corrections.len() == 1;
            for (term, df) in corrections {
                if out.iter().any(|q| q.language == lang && q.term == term) {
                    continue;
                }
                out.push(QueryTerm {
                    language: lang,
                    term,
                    corrected_from: Some(t.term.clone()),
                    compound_part: t.is_compound_part,
                    weight: weight * part_weight * if sole { 1.0 } else { CORRECTION_WEIGHT },
                    doc_freq: df,
                    word: word_of(t.position),
                    expands: !from_question,
                    emphasis,
                });
            }
        }
    }

    /// Drops the typo corrections of question words an expansion stands for: a word the
    /// thesaurus explains is not misspelt but unknown to the guidance ("Abos" is "Abonnements",
    /// not the indexed word one letter away, "ablos"). The word stays, unsearched, so that the
    /// expansion's terms cover it.
    pub(super) fn without_corrections_of_expanded_words(terms: &mut Vec<QueryTerm>) {
        let expanded: Vec<(Language, usize)> = terms
            .iter()
            .filter(|q| q.expands)
            .filter_map(|q| Some((q.language, q.word?)))
            .collect();
        let mut unknown: Vec<QueryTerm> = Vec::new();
        terms.retain(|q| {
            let explained = !q.expands && q.word.is_some_and(|w| expanded.contains(&(q.language, w)));
            let Some(misspelt) = q.corrected_from.as_ref().filter(|_| explained) else {
                return true;
            };
            let listed = unknown
                .iter()
                .any(|u| u.word == q.word && u.language == q.language);
            if !q.compound_part && !listed {
                unknown.push(QueryTerm {
                    term: misspelt.clone(),
                    corrected_from: None,
                    weight: 0.0,
                    doc_freq: 0,
                    ..q.clone()
                });
            }
            false
        });
        terms.extend(unknown);
    }

    /// The searched terms (weight above zero), most informative first: the rarest, weighted.
    /// Long chat messages carry many common words; beyond [`MAX_SEARCHED_TERMS`] the least
    /// informative are dropped, which bounds the cost of the longest (or hostile) questions.
    pub(super) fn informative_first(terms: &[QueryTerm], total_docs: u64) -> Vec<&QueryTerm> {
        let mut searched: Vec<&QueryTerm> = terms.iter().filter(|q| q.weight > 0.0).collect();
        let key = |q: &QueryTerm| q.weight * idf(q.doc_freq, total_docs);
        searched.sort_by(|a, b| key(b).total_cmp(&key(a)));
        searched.truncate(MAX_SEARCHED_TERMS);
        searched
    }
}

/// The typo automaton, restricted to terms with the same first byte.
struct SameFirstByte<'a> {
    first: u8,
    typos: &'a tantivy::query::DfaWrapper,
}

impl tantivy_fst::Automaton for SameFirstByte<'_> {
    /// Whether the first byte matched (`None` before it is read), and the typo state.
    type State = (Option<bool>, u32);

    fn start(&self) -> Self::State {
        (None, self.typos.start())
    }

    fn is_match(&self, state: &Self::State) -> bool {
        state.0 == Some(true) && self.typos.is_match(&state.1)
    }

    fn can_match(&self, state: &Self::State) -> bool {
        state.0 != Some(false) && self.typos.can_match(&state.1)
    }

    fn accept(&self, state: &Self::State, byte: u8) -> Self::State {
        (
            Some(state.0.unwrap_or(byte == self.first)),
            self.typos.accept(&state.1, byte),
        )
    }
}
