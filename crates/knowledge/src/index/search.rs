//! The search over the index: two passes for long questions, re-ranking by coverage, stored sections
//! read into hits, and the plain tantivy baseline.

use super::presence::coverage;
use super::request::{context_spans, QueryTerm, SearchHit, SearchOutcome, SearchRequest, TermSource};
use super::{KnowledgeBase, Result};
use crate::model::{Language, Product};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocSet, Searcher, TantivyDocument, Term};

/// Boost of a term found in the document title.
const TITLE_BOOST: f32 = 2.0;
/// Boost of a term found in a section heading.
const HEADING_BOOST: f32 = 1.5;
/// Boost of the words other documents link to a section's document with.
const LINK_TEXT_BOOST: f32 = 1.0;
/// How much more a section counts when the question's words are in its title, description or
/// headings (by rarity-weighted share), on top of its coverage anywhere.
const TITLE_COVERAGE_WEIGHT: f32 = 0.4;
/// Terms searched in the first pass over the index; the rest are scored on its candidates.
const FIRST_PASS_TERMS: usize = 12;
/// A term in at least this share of the sections is left to the second pass when a rarer one
/// finds the candidates.
const COMMON_TERM_SHARE: f32 = 0.2;
/// Candidates the first pass keeps when terms are left for the second.
const FIRST_PASS_DEPTH: usize = 200;
/// Sections considered for re-ranking by coverage.
const RERANK_DEPTH: usize = 30;
/// A section covering none of the question keeps this share of its score.
const MIN_COVERAGE_FACTOR: f32 = 0.05;

/// The `limit` best sections for `query`, every match scored. A top-k collector alone lets
/// tantivy prune with block-max WAND, which re-sorts all its term scorers at every candidate: a
/// question's query has up to 48 of them (12 terms in 4 fields), and the pruning cost more than it
/// saved (a long question 1.38 -> 0.63 ms with the union instead; the same sections in the same
/// order). Counting the matches beside the top k is what makes tantivy score them all.
fn top_exhaustive(
    searcher: &Searcher,
    query: &dyn Query,
    limit: usize,
) -> Result<Vec<(f32, tantivy::DocAddress)>> {
    let (top, _matches) = searcher.search(query, &(TopDocs::with_limit(limit).order_by_score(), Count))?;
    Ok(top)
}

impl KnowledgeBase {
    /// The fields a term is searched in, with their boosts (the term's weight included);
    /// `link_text`: also in the words other documents link to a section's document with.
    fn clauses_of(&self, q: &QueryTerm, link_text: bool) -> impl Iterator<Item = (Field, f32)> {
        let lf = self.fields.of(q.language);
        [
            (lf.title, TITLE_BOOST * q.weight),
            (lf.heading, HEADING_BOOST * q.weight),
            (lf.body, q.weight),
        ]
        .into_iter()
        .chain(link_text.then_some((lf.link_text, LINK_TEXT_BOOST * q.weight)))
    }

    fn build_query(&self, terms: &[&QueryTerm], link_text: bool) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 4);
        for q in terms {
            for (field, boost) in self.clauses_of(q, link_text) {
                let tq = TermQuery::new(
                    Term::from_field_text(field, &q.term),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
            }
        }
        BooleanQuery::new(clauses)
    }

    /// Adds the scores `terms` would have contributed to a full query to each candidate, read
    /// by seeking the terms' scorers to the candidates only. The sum equals the score of the
    /// full boolean query for these sections: its clauses' scores add up.
    fn add_scores(
        &self,
        searcher: &Searcher,
        candidates: &mut [(f32, tantivy::DocAddress)],
        terms: &[&QueryTerm],
        link_text: bool,
    ) -> Result<()> {
        let order = address_order(candidates);
        let scoring = EnableScoring::enabled_from_searcher(searcher);
        for q in terms {
            for (field, boost) in self.clauses_of(q, link_text) {
                let weight = TermQuery::new(
                    Term::from_field_text(field, &q.term),
                    IndexRecordOption::WithFreqs,
                )
                .weight(scoring)?;
                let mut extra = vec![0.0f32; candidates.len()];
                visit_matches(
                    candidates,
                    &order,
                    |segment| Ok(Some(weight.scorer(searcher.segment_reader(segment), boost)?)),
                    |i, scorer| extra[i] = scorer.score(),
                )?;
                for (c, e) in candidates.iter_mut().zip(extra) {
                    c.0 += e;
                }
            }
        }
        Ok(())
    }

    /// Searches the knowledge base.
    pub fn search(&self, request: &SearchRequest<'_>) -> Result<SearchOutcome> {
        let searcher = self.reader.searcher();
        let langs: Vec<Language> = request
            .language
            .map_or_else(|| Language::ALL.to_vec(), |l| vec![l]);
        let mut terms = Vec::new();
        let context = if request.context_weight < 1.0 {
            context_spans(request.text, &langs)
        } else {
            Vec::new()
        };
        for &lang in &langs {
            self.query_terms(
                &searcher,
                lang,
                request.text,
                1.0,
                TermSource::Question,
                (&context, request.context_weight),
                &mut terms,
            );
            let question = if request.expansions.iter().any(|e| e.replaces.is_some()) {
                self.analyzer(lang).analyze(request.text)
            } else {
                Vec::new()
            };
            for e in &request.expansions {
                // The expansion stands for the question word its customer phrase starts with.
                let word = e.replaces.as_deref().and_then(|phrase| {
                    let first = self.analyzer(lang).analyze(phrase).into_iter().next()?;
                    question
                        .iter()
                        .find(|q| !q.is_compound_part && q.term == first.term)
                        .map(|q| q.position)
                });
                self.query_terms(
                    &searcher,
                    lang,
                    &e.text,
                    e.weight,
                    TermSource::Expansion(word),
                    (&[], 1.0),
                    &mut terms,
                );
            }
        }
        Self::without_corrections_of_expanded_words(&mut terms);
        if terms.is_empty() || request.limit == 0 {
            return Ok(SearchOutcome {
                hits: Vec::new(),
                terms,
            });
        }
        let total = searcher.num_docs();
        let by_information = Self::informative_first(&terms, total);
        // Terms in a large share of the sections ("microsoft", "partner", "center") find no
        // candidate the rarer ones miss, but make the first pass walk most of the index.
        let rare = by_information
            .iter()
            .take_while(|q| (q.doc_freq as f32) < COMMON_TERM_SHARE * total as f32)
            .count();
        let split = if rare == 0 { by_information.len() } else { rare };
        let (first, second) = by_information.split_at(split.min(FIRST_PASS_TERMS));
        let depth = if request.rerank {
            request.limit.max(RERANK_DEPTH)
        } else {
            request.limit
        };
        // Two passes keep long questions fast: the most informative terms find the candidates
        // (their postings are short), the common rest only add their scores to those.
        let first_depth = if second.is_empty() {
            depth
        } else {
            depth.max(FIRST_PASS_DEPTH)
        };
        let mut top = top_exhaustive(
            &searcher,
            &self.build_query(first, request.link_text),
            first_depth,
        )?;
        if !second.is_empty() {
            self.add_scores(&searcher, &mut top, second, request.link_text)?;
            top.sort_by(|a, b| b.0.total_cmp(&a.0));
            top.truncate(depth);
        }
        // Coverage comes from the postings, so only the sections returned are read from the store.
        let presence = self.presence(&searcher, &top, &terms, request.link_text)?;
        let mut coverages: Vec<(f32, f32, f32, tantivy::DocAddress)> = top
            .drain(..)
            .enumerate()
            .map(|(i, (score, addr))| {
                let language = presence.languages[i];
                let c = coverage(&terms, &presence.present[i], language, total);
                let tc = coverage(&terms, &presence.in_title[i], language, total);
                let score = if request.rerank {
                    score * c.max(MIN_COVERAGE_FACTOR) * (1.0 + TITLE_COVERAGE_WEIGHT * tc)
                } else {
                    score
                };
                (score, c, tc, addr)
            })
            .collect();
        coverages.sort_by(|a, b| b.0.total_cmp(&a.0));
        coverages.truncate(request.limit);
        let mut hits = self.hits(&searcher, coverages.iter().map(|(s, _, _, a)| (*s, *a)).collect())?;
        for (hit, (_, c, tc, _)) in hits.iter_mut().zip(&coverages) {
            hit.coverage = *c;
            hit.title_coverage = *tc;
        }
        if request.snippets {
            self.add_snippets(
                &searcher,
                &self.build_query(&by_information, request.link_text),
                &mut hits,
            )?;
        }
        Ok(SearchOutcome { hits, terms })
    }

    /// The baseline: tantivy's own `QueryParser` over the same fields and boosts, lenient
    /// parsing, no typo correction. Used by benchmarks and evaluations for comparison.
    pub fn baseline_search(
        &self,
        text: &str,
        language: Option<Language>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let searcher = self.reader.searcher();
        let langs: Vec<Language> = language.map_or_else(|| Language::ALL.to_vec(), |l| vec![l]);
        let mut fields = Vec::new();
        let mut boosts = Vec::new();
        for lang in langs {
            let lf = self.fields.of(lang);
            fields.extend([lf.title, lf.heading, lf.body]);
            boosts.extend([(lf.title, TITLE_BOOST), (lf.heading, HEADING_BOOST)]);
        }
        let mut parser = QueryParser::for_index(&self.index, fields);
        for (field, boost) in boosts {
            parser.set_field_boost(field, boost);
        }
        let (query, _errors) = parser.parse_query_lenient(text);
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        self.hits(&searcher, top)
    }

    /// The section a citation (`path#anchor`, or `path` for a document's introduction) names,
    /// with its text; `None` when no section has it.
    pub fn section(&self, citation: &str) -> Result<Option<SearchHit>> {
        let (path, anchor) = citation.split_once('#').unwrap_or((citation, ""));
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.path, path),
            IndexRecordOption::Basic,
        );
        // A document has tens of sections, not thousands.
        let top = searcher.search(&query, &TopDocs::with_limit(1_000).order_by_score())?;
        Ok(self
            .hits(&searcher, top)?
            .into_iter()
            .filter(|h| h.anchor == anchor)
            .min_by_key(|h| h.line))
    }

    pub(super) fn hits(
        &self,
        searcher: &Searcher,
        top: Vec<(f32, tantivy::DocAddress)>,
    ) -> Result<Vec<SearchHit>> {
        let f = self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let language = first_text(&doc, f.lang).parse().unwrap_or(Language::En);
            let lf = f.of(language);
            let path = first_text(&doc, f.path);
            let anchor = first_text(&doc, f.anchor);
            hits.push(SearchHit {
                citation: crate::model::citation(&path, &anchor),
                doc_path: path,
                anchor,
                title: first_text(&doc, lf.title),
                heading: first_text(&doc, f.heading_text),
                snippet: String::new(),
                score,
                language,
                products: doc
                    .get_all(f.products)
                    .filter_map(|v| v.as_str())
                    .filter_map(Product::from_tag)
                    .collect(),
                audience: lines(&first_text(&doc, f.audience)),
                roles: lines(&first_text(&doc, f.roles)),
                links: lines(&first_text(&doc, f.links)),
                linked_documents: lines(&first_text(&doc, f.linked)),
                line: doc.get_first(f.line).and_then(|v| v.as_u64()).unwrap_or(0),
                links_only: doc.get_first(f.links_only).and_then(|v| v.as_u64()) == Some(1),
                body: first_text(&doc, lf.body),
                coverage: 0.0,
                title_coverage: 0.0,
            });
        }
        Ok(hits)
    }
}

/// Candidate indices sorted by segment and document, the order doc sets can seek in.
pub(super) fn address_order(candidates: &[(f32, tantivy::DocAddress)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| (candidates[i].1.segment_ord, candidates[i].1.doc_id));
    order
}

/// Calls `hit` for each candidate (visited in `order`, see [`address_order`]) that the doc set
/// `open` gives for its segment contains.
pub(super) fn visit_matches<D: DocSet>(
    candidates: &[(f32, tantivy::DocAddress)],
    order: &[usize],
    mut open: impl FnMut(u32) -> Result<Option<D>>,
    mut hit: impl FnMut(usize, &mut D),
) -> Result<()> {
    let mut current_segment = u32::MAX;
    let mut docs: Option<D> = None;
    for &i in order {
        let addr = candidates[i].1;
        if addr.segment_ord != current_segment {
            current_segment = addr.segment_ord;
            docs = open(addr.segment_ord)?;
        }
        if let Some(d) = docs.as_mut() {
            if d.doc() <= addr.doc_id && d.seek(addr.doc_id) == addr.doc_id {
                hit(i, d);
            }
        }
    }
    Ok(())
}

pub(super) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn first_text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::request::Expansion;
    use crate::model::Section;
    use std::path::Path;

    #[test]
    fn hits_know_which_documents_their_document_links_to() {
        let section = |path: &str, body: &str, links: &[&str]| Section {
            body: body.into(),
            ..crate::links::tests::section(path, Language::En, links)
        };
        let sections = vec![
            section(
                "en-us/refunds.md",
                "Refunds are credited to the next invoice.",
                &[],
            ),
            // The link sits in another section than the one that matches.
            section("en-us/cancel.md", "Cancel within seven days for a refund.", &[]),
            section("en-us/cancel.md", "Other questions.", &["refunds.md#credit"]),
            section("en-us/quotas.md", "A refund of quota is not possible.", &[]),
        ];
        let kb = KnowledgeBase::build_in_ram(&sections).expect("index builds");
        let mut request = SearchRequest::new("refund", 10);
        request.language = Some(Language::En);
        let hits = kb.search(&request).expect("search").hits;
        let hit = |path: &str| hits.iter().find(|h| h.doc_path == path).expect(path);
        assert_eq!(hit("en-us/cancel.md").linked_documents, vec!["en-us/refunds.md"]);
        assert!(hit("en-us/refunds.md").is_linked_with(hit("en-us/cancel.md")));
        assert!(hit("en-us/cancel.md").is_linked_with(hit("en-us/refunds.md")));
        assert!(!hit("en-us/quotas.md").is_linked_with(hit("en-us/refunds.md")));
    }

    /// A document is retrieved by the words other documents link to it with, which it need not
    /// use itself; with `link_text` off it is not.
    #[test]
    fn a_document_is_found_by_the_words_it_is_linked_with() {
        let sections = vec![
            Section {
                body: "Open the billing page and choose the statement as PDF.".into(),
                ..Section::new("en-us/statements.md", Language::En)
            },
            Section {
                body: "Invoices arrive on the eighth of each month.".into(),
                link_texts: vec![("statements.md".into(), "download an invoice".into())],
                ..Section::new("en-us/arrival.md", Language::En)
            },
            Section {
                body: "Payment by card or transfer; receipts cannot be downloaded here.".into(),
                ..Section::new("en-us/payment.md", Language::En)
            },
        ];
        let kb = KnowledgeBase::build_in_ram(&sections).expect("index builds");
        let mut request = SearchRequest::new("how to download an invoice", 10);
        request.language = Some(Language::En);
        let hits = kb.search(&request).expect("search").hits;
        // Retrieved; coverage re-ranking still weighs it by the words of its own text.
        assert!(
            hits.iter().any(|h| h.doc_path == "en-us/statements.md"),
            "{hits:?}"
        );
        request.link_text = false;
        let hits = kb.search(&request).expect("search").hits;
        assert!(
            hits.iter().all(|h| h.doc_path != "en-us/statements.md"),
            "{hits:?}"
        );
    }

    #[test]
    fn a_word_an_expansion_stands_for_is_not_corrected() {
        let sections = vec![
            Section {
                body: "Abonnements kündigen Sie in der Übersicht.".into(),
                ..Section::new("de-de/kuendigen.md", Language::De)
            },
            Section {
                body: "Ablöse der alten Verträge.".into(),
                ..Section::new("de-de/abloese.md", Language::De)
            },
        ];
        let kb = KnowledgeBase::build_in_ram(&sections).expect("index builds");
        let terms = |expansions: Vec<Expansion>| {
            let mut request = SearchRequest::new("abos kündigen", 10);
            request.language = Some(Language::De);
            request.expansions = expansions;
            kb.search(&request).expect("search").terms
        };
        let corrected = |ts: &[QueryTerm]| ts.iter().any(|t| t.corrected_from.as_deref() == Some("abos"));
        // Without an expansion the unknown word is read as its nearest indexed neighbour...
        assert!(corrected(&terms(Vec::new())), "{:?}", terms(Vec::new()));
        // ...with one, the expansion is what it means, and the word stays for coverage.
        let expanded = terms(vec![Expansion {
            text: "Abonnements".into(),
            weight: 0.8,
            replaces: Some("abos".into()),
        }]);
        assert!(!corrected(&expanded), "{expanded:?}");
        let word = expanded
            .iter()
            .find(|t| t.term == "abos")
            .expect("the word stays");
        assert!(word.weight <= 0.0, "{word:?}");
        assert!(expanded.iter().any(|t| t.expands && t.word == word.word));
    }

    /// A typo with one correction in reach is searched as the word it stands for; a typo of a
    /// filler word ("acually") is filler, not a search for `actual`.
    #[test]
    fn a_sole_typo_correction_weighs_as_the_word_and_a_misspelt_filler_is_dropped() {
        let sections = vec![
            Section {
                body: "Invoices arrive monthly; the actual amount follows usage.".into(),
                ..Section::new("en-us/invoices.md", Language::En)
            },
            Section {
                body: "Payment terms are thirty days.".into(),
                ..Section::new("en-us/payment.md", Language::En)
            },
        ];
        let kb = KnowledgeBase::build_in_ram(&sections).expect("index builds");
        let terms = |text: &str| {
            let mut request = SearchRequest::new(text, 10);
            request.language = Some(Language::En);
            kb.search(&request).expect("search").terms
        };
        let right = terms("payment invoices");
        let typo = terms("paymnet invoices");
        let weight = |ts: &[QueryTerm], term: &str| ts.iter().find(|t| t.term == term).map(|t| t.weight);
        assert_eq!(weight(&typo, "payment"), weight(&right, "payment"), "{typo:?}");
        assert!(typo
            .iter()
            .any(|t| t.corrected_from.as_deref() == Some("paymnet")));
        let filler = terms("acually invoices");
        assert!(filler.iter().all(|t| t.term != "actual"), "{filler:?}");
    }

    /// The second pass must add exactly what the common terms' clauses would have scored in
    /// one boolean query over all terms.
    #[test]
    fn two_passes_score_like_one_query() {
        // A long question (more terms than the first pass takes) and a short one with a word in
        // most sections (left to the second pass).
        for (text, long) in [
            (
                "We added licences in the middle of the month, the invoice shows prorated \
                 charges for the billing cycle and the subscription; can we cancel within \
                 the cancellation window, get a credit, and which support contact helps?",
                true,
            ),
            ("is a prorated charge on the invoice billed by microsoft?", false),
        ] {
            scores_like_one_query(text, long);
        }
    }

    fn scores_like_one_query(text: &str, long: bool) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/knowledge");
        let ingested = crate::ingest::ingest_roots(&[root]);
        let kb = KnowledgeBase::build_in_ram(&ingested.sections).expect("index builds");
        let mut request = SearchRequest::new(text, 10);
        request.language = Some(Language::En);
        request.rerank = false;
        request.snippets = false;
        let outcome = kb.search(&request).expect("search");
        let searcher = kb.reader.searcher();
        let total = searcher.num_docs();
        let all = KnowledgeBase::informative_first(&outcome.terms, total);
        if long {
            assert!(all.len() > FIRST_PASS_TERMS, "{} terms", all.len());
        } else {
            assert!(all.len() <= FIRST_PASS_TERMS, "{} terms", all.len());
            let common = |q: &&QueryTerm| q.doc_freq as f32 >= COMMON_TERM_SHARE * total as f32;
            assert!(all.iter().any(common) && !all.iter().all(common), "{all:?}");
        }
        let one_query = searcher
            .search(
                &kb.build_query(&all, true),
                &TopDocs::with_limit(1000).order_by_score(),
            )
            .expect("search");
        let one_query = kb.hits(&searcher, one_query).expect("hits");
        assert!(!outcome.hits.is_empty());
        assert_eq!(outcome.hits[0].citation, one_query[0].citation);
        for hit in &outcome.hits {
            let full = one_query
                .iter()
                .find(|h| h.citation == hit.citation)
                .expect("every two-pass hit matches the full query");
            assert!(
                (hit.score - full.score).abs() <= 1e-4 * full.score.max(1.0),
                "{}: {} vs {}",
                hit.citation,
                hit.score,
                full.score
            );
        }
    }
}
