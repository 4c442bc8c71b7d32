//! What the guidance holds for a message: search with the thesaurus's and the guidance's own
//! expansions, the ranking (hand-set or learnt), direction words, and the confidence signals.

use super::replies::heading_of;
use super::{Retrieval, Router, UNDERSTOOD_SHARE};
use crate::decision::TracedHit;
use crate::direction;
use crate::ranker::RankInput;
use std::collections::HashSet;
use switchboard_knowledge::{Expansion, KnowledgeError, Language, QueryTerm, SearchHit, SearchRequest};

/// Confidence is a logistic model of four signals: the top section's rarity-weighted
/// coverage of the question, its margin over the best other document it is not linked with
/// (as a share of its score), the share of the question's words the guidance knows, and the
/// top document's share of the score of all retrieved sections (evidence concentrated in one
/// document). The weights
/// were fitted by L2-regularised logistic regression on ../shared/eval/dev.toml (answered
/// cases, target: the top document is acceptable), so the confidence reads as an estimated
/// probability that the cited section is right. See ARCHITECTURE.md.
const CONFIDENCE_BIAS: f32 = -0.92;
const COVERAGE_WEIGHT: f32 = 0.52;
const MARGIN_WEIGHT: f32 = 1.78;
const KNOWN_WEIGHT: f32 = 0.33;
const DOC_MASS_WEIGHT: f32 = 1.16;

/// A section saying the opposite of the asked change scores at most this share of its
/// counterpart.
const OPPOSITE_BELOW: f32 = 0.9;

/// Sections retrieved per question.
const RETRIEVED_SECTIONS: usize = 15;

impl Router {
    /// Adds the long form of each abbreviation of the message that the guidance defines and no
    /// thesaurus entry already expands: sections written with "granular delegated admin
    /// privileges" answer a customer who writes "gdap".
    fn expand_abbreviations(&self, text: &str, lang: Language, expansions: &mut Vec<(String, String)>) {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let Some(long_form) = self.kb.long_form(lang, word) else {
                continue;
            };
            let word = word.to_lowercase();
            if !expansions.iter().any(|(from, _)| *from == word) {
                expansions.push((word, long_form.to_string()));
            }
        }
    }

    pub(super) fn retrieve(
        &self,
        text: &str,
        lang: Language,
        context_products: &[String],
    ) -> Result<Retrieval, KnowledgeError> {
        let mut expansions = if self.config.layers.thesaurus {
            self.plugins
                .expansions(text, lang, |word| self.kb.knows_word(lang, word))
        } else {
            Vec::new()
        };
        if self.config.layers.abbreviations {
            self.expand_abbreviations(text, lang, &mut expansions);
        }
        let mut request = SearchRequest::new(text, RETRIEVED_SECTIONS);
        request.language = Some(lang);
        request.snippets = false;
        request.rerank = self.config.layers.rerank;
        request.link_text = self.config.layers.link_text && *self.config.link_text.get(lang);
        if self.config.layers.context {
            request.context_weight = self.config.context_weight;
        }
        request.expansions = expansions
            .iter()
            .map(|(from, to)| Expansion {
                text: to.clone(),
                weight: self.config.expansion_weight,
                replaces: Some(from.clone()),
            })
            .collect();
        for product in context_products {
            // A product named earlier in the conversation still applies, a little.
            request.expansions.push(Expansion {
                text: product.clone(),
                weight: 0.3,
                replaces: None,
            });
            expansions.push(("(conversation)".into(), product.clone()));
        }
        let outcome = self.kb.search(&request)?;
        let audience = self.support.audience;
        let hits: Vec<SearchHit> = outcome
            .hits
            .into_iter()
            .filter(|h| audience.admits(&h.audience))
            .collect();
        let inputs = self.rank_inputs(&hits);
        let learnt = self.config.layers.ranker && *self.config.learnt_ranking.get(lang);
        let mut ranked: Vec<(f32, SearchHit, RankInput)> = hits
            .into_iter()
            .zip(inputs)
            .map(|(h, input)| {
                let score = if learnt {
                    self.config.ranker.score(&input)
                } else {
                    input.hand_set_score()
                };
                (score, h, input)
            })
            .collect();
        rank_below_counterparts(&mut ranked, &direction::directions_of(text, lang), lang);
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (scored, rank_inputs): (Vec<(f32, SearchHit)>, Vec<RankInput>) =
            ranked.into_iter().map(|(s, h, i)| ((s, h), i)).unzip();
        let traced = scored
            .iter()
            .take(10)
            .map(|(s, h)| TracedHit {
                citation: h.citation.clone(),
                score: *s,
                raw_score: h.score,
            })
            .collect();
        let known_share = self.known_share(&outcome.terms, &expansions, lang);
        let (confidence, signals, margin, doc_mass) = self.confidence(&scored, known_share);
        let terms = outcome
            .terms
            .iter()
            .map(|t| match &t.corrected_from {
                Some(from) => format!("{} (for {from})", t.term),
                None => t.term.clone(),
            })
            .collect();
        Ok(Retrieval {
            hits: scored
                .into_iter()
                .map(|(s, mut h)| {
                    h.score = s;
                    h
                })
                .collect(),
            traced,
            terms,
            query_terms: outcome.terms,
            known_share,
            expansions,
            confidence,
            signals,
            margin,
            doc_mass,
            rank_inputs,
        })
    }

    /// What the ranker reads of each retrieved section (priors and links as their layers allow).
    pub(super) fn rank_inputs(&self, hits: &[SearchHit]) -> Vec<RankInput> {
        let best_score = hits.iter().map(|h| h.score).fold(0.0, f32::max);
        hits.iter()
            .map(|h| RankInput {
                score: h.score,
                best_score,
                coverage: h.coverage,
                title_coverage: h.title_coverage,
                prior: if self.config.layers.priors {
                    self.plugins.prior(&h.doc_path)
                } else {
                    1.0
                },
                linking_documents: if self.config.layers.links {
                    linking_documents(hits, h)
                } else {
                    0
                },
                introduction: h.anchor.is_empty(),
                length: h.body.len(),
            })
            .collect()
    }

    /// The sections retrieved for a question, each with what the ranker reads of it, in search
    /// order (to fit the ranker on labelled questions).
    pub fn rank_candidates(
        &self,
        text: &str,
        lang: Language,
    ) -> Result<Vec<(String, RankInput)>, KnowledgeError> {
        let retrieval = self.retrieve(crate::pleasantries::without_pleasantries(text), lang, &[])?;
        let mut by_search: Vec<(&SearchHit, &RankInput)> =
            retrieval.hits.iter().zip(&retrieval.rank_inputs).collect();
        by_search.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
        Ok(by_search
            .into_iter()
            .map(|(h, input)| (h.doc_path.clone(), *input))
            .collect())
    }

    /// Share of the question's words the guidance knows: found in the index (as written or as
    /// a typo correction), or mapped to the guidance's words by a thesaurus entry that fired.
    /// Numbers (amounts, invoice and order numbers, quantities) are the customer's data, not
    /// words: no guidance is expected to know `2291`, and counting them made "my card was
    /// charged twice for INV-2291, 1.234,56 EUR" look two-thirds unknown.
    pub(super) fn known_share(
        &self,
        terms: &[QueryTerm],
        expansions: &[(String, String)],
        lang: Language,
    ) -> f32 {
        let analyzer = self.kb.analyzer(lang);
        let mapped: HashSet<String> = expansions
            .iter()
            .flat_map(|(from, _)| analyzer.analyze(from))
            .map(|t| t.term)
            .collect();
        let mut words: Vec<usize> = terms
            .iter()
            .filter(|t| t.language == lang && !t.compound_part)
            .filter(|t| !t.term.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|t| t.word)
            .collect();
        words.sort_unstable();
        words.dedup();
        if words.is_empty() {
            return 0.0;
        }
        let known = words
            .iter()
            .filter(|&&w| {
                terms
                    .iter()
                    .any(|t| t.word == Some(w) && (t.doc_freq > 0 || mapped.contains(&t.term)))
            })
            .count();
        known as f32 / words.len() as f32
    }

    /// Confidence in the top section, from four signals: how much of the question (by
    /// rarity) it covers, how clearly it beats the best other document not linked with it, how
    /// many of the question's words the guidance knows at all, and how much of the retrieved
    /// evidence lies in the top document.
    pub(super) fn confidence(
        &self,
        scored: &[(f32, SearchHit)],
        known_share: f32,
    ) -> (f32, Vec<(String, f32)>, f32, f32) {
        let Some((top_score, top)) = scored.first() else {
            return (0.0, vec![("no-hits".into(), 0.0)], 0.0, 0.0);
        };
        // A document the top one links to, or that links to it, is the same subject seen from
        // another side: a near tie with it is no doubt about what the question is about.
        let second_doc = scored
            .iter()
            .find(|(_, h)| h.doc_path != top.doc_path && !(self.config.layers.links && h.is_linked_with(top)))
            .map_or(0.0, |(s, _)| *s);
        let margin = if *top_score > 0.0 {
            (top_score - second_doc) / top_score
        } else {
            0.0
        };
        let total: f32 = scored.iter().map(|(s, _)| *s).sum();
        let doc_mass = if total > 0.0 {
            scored
                .iter()
                .filter(|(_, h)| h.doc_path == top.doc_path)
                .map(|(s, _)| *s)
                .sum::<f32>()
                / total
        } else {
            0.0
        };
        let z = CONFIDENCE_BIAS
            + COVERAGE_WEIGHT * top.coverage
            + MARGIN_WEIGHT * margin.clamp(0.0, 1.0)
            + KNOWN_WEIGHT * known_share
            + DOC_MASS_WEIGHT * doc_mass;
        // A question the guidance mostly does not know (gibberish, another product's jargon) is
        // not understood, however clearly one document wins on the rest of it.
        let understood = (known_share / UNDERSTOOD_SHARE).min(1.0);
        let confidence = understood / (1.0 + (-z).exp());
        (
            confidence,
            vec![
                ("coverage".into(), top.coverage),
                ("margin".into(), margin),
                ("known-words".into(), known_share),
                ("doc-mass".into(), doc_mass),
            ],
            margin,
            doc_mass,
        )
    }
}

/// A section headed with the opposite of the asked change (or move) ranks below its document's
/// section headed with the asked one, whatever else it shares with the question.
fn rank_below_counterparts(
    ranked: &mut [(f32, SearchHit, RankInput)],
    asked: &[direction::Direction],
    lang: Language,
) {
    if asked.is_empty() {
        return;
    }
    // Each heading read once, not once per pair of sections.
    let headings: Vec<direction::Named> = ranked
        .iter()
        .map(|(_, h, _)| direction::Named::of(heading_of(h), lang))
        .collect();
    for &asked in asked {
        for i in 0..ranked.len() {
            if !headings[i].contradicts(asked) {
                continue;
            }
            let counterpart = ranked
                .iter()
                .zip(&headings)
                .filter(|((_, h, _), named)| h.doc_path == ranked[i].1.doc_path && named.goes(asked))
                .map(|((s, _, _), _)| *s)
                .fold(0.0f32, f32::max);
            if counterpart > 0.0 {
                ranked[i].0 = ranked[i].0.min(OPPOSITE_BELOW * counterpart);
            }
        }
    }
}

/// Link authority within the results: a document that other documents retrieved for the same
/// question link to is where their authors send readers on this subject, so each distinct citing
/// document raises its sections' scores by [`LINK_AUTHORITY_WEIGHT`] (a query-time form of
/// Kleinberg's authorities). Citations from outside the results say nothing about the question
/// and are not counted: the most linked documents of a corpus are hubs such as API references.
/// This counts, for `hit`, the other retrieved documents that link to its document.
fn linking_documents(hits: &[SearchHit], hit: &SearchHit) -> usize {
    hits.iter()
        .filter(|other| other.doc_path != hit.doc_path && other.linked_documents.contains(&hit.doc_path))
        .map(|other| other.doc_path.as_str())
        .collect::<HashSet<_>>()
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_knowledge::KnowledgeBase;
    use switchboard_knowledge::{Language, Section};

    fn section(path: &str, body: &str, links: &[&str]) -> Section {
        Section {
            body: body.into(),
            links: links.iter().map(ToString::to_string).collect(),
            ..Section::new(path, Language::En)
        }
    }

    #[test]
    fn link_authority_counts_each_citing_retrieved_document_once() {
        let kb = KnowledgeBase::build_in_ram(&[
            section("en-us/refunds.md", "Refunds are credited.", &[]),
            section("en-us/cancel.md", "Cancel for a refund.", &["refunds.md"]),
            // A second section of the same citing document does not count again.
            section(
                "en-us/cancel.md",
                "A refund takes a week.",
                &["refunds.md#timing"],
            ),
            section(
                "en-us/invoice.md",
                "A refund shows on the invoice.",
                &["refunds.md"],
            ),
            section("en-us/other.md", "A refund of quota.", &[]),
            // Not retrieved for the question: its link says nothing about it.
            section(
                "en-us/unrelated.md",
                "Quotas and limits.",
                &["refunds.md", "other.md"],
            ),
        ])
        .expect("index builds");
        let mut request = SearchRequest::new("refund", 10);
        request.language = Some(Language::En);
        let hits = kb.search(&request).expect("search").hits;
        assert_eq!(hits.len(), 5);
        for hit in &hits {
            let expected = match hit.doc_path.as_str() {
                "en-us/refunds.md" => 2,
                _ => 0,
            };
            assert_eq!(linking_documents(&hits, hit), expected, "{}", hit.doc_path);
        }
    }
}
