//! What of a section is shown: the passage that best answers the question, highlighted snippets.

use super::presence::idf;
use super::request::{QueryTerm, SearchHit};
use super::{KnowledgeBase, Result};
use crate::model::Language;
use std::collections::{HashMap, HashSet};
use tantivy::query::Query;
use tantivy::snippet::SnippetGenerator;
use tantivy::Searcher;

/// Snippet length in characters.
const SNIPPET_CHARS: usize = 220;
/// A passage from the section's beginning is preferred while it holds this share of the best
/// passage's question terms.
const PASSAGE_BEGINNING_SHARE: f32 = 0.75;

/// How many first letters of a term a word must hold to be analysed for it.
const TERM_BEGINNING_CHARS: usize = 3;

impl KnowledgeBase {
    /// The passage of a hit's section that best answers the question: the run of consecutive
    /// sentences, at most `max_chars` long, holding the most of the question's terms (weighted
    /// by rarity). It starts at the section's beginning when that holds at least
    /// [`PASSAGE_BEGINNING_SHARE`] as much, because the beginning gives the context; a passage
    /// from further in starts with `…`.
    pub fn best_passage(&self, hit: &SearchHit, terms: &[QueryTerm], max_chars: usize) -> String {
        let total = self.reader.searcher().num_docs();
        let weights: HashMap<&str, f32> = terms
            .iter()
            .filter(|q| q.language == hit.language && q.weight > 0.0)
            .map(|q| (q.term.as_str(), q.weight * idf(q.doc_freq, total)))
            .collect();
        let analyzer = self.analyzer(hit.language);
        // A word whose stem (or a compound part's) is a question term holds the term's first
        // letters: only such words are analysed.
        let beginnings: Vec<&str> = weights
            .keys()
            .map(|t| {
                t.char_indices()
                    .nth(TERM_BEGINNING_CHARS)
                    .map_or(*t, |(i, _)| &t[..i])
            })
            .collect();
        let may_hold = |word: &str| beginnings.iter().any(|b| word.contains(b));
        let units = sentences(&hit.body);
        let unit_terms: Vec<HashSet<String>> = units
            .iter()
            .map(|u| {
                analyzer
                    .analyze_admitted(u, may_hold)
                    .into_iter()
                    .map(|t| t.term)
                    .filter(|t| weights.contains_key(t.as_str()))
                    .collect()
            })
            .collect();
        let lengths: Vec<usize> = units.iter().map(|u| u.chars().count() + 1).collect();
        let mut best = (0usize, 0usize, 0.0f32); // (start, end exclusive, score)
        let mut from_beginning = best;
        for start in 0..units.len() {
            let mut found: HashSet<&str> = HashSet::new();
            let mut chars = 0;
            let mut end = start;
            while end < units.len() && (end == start || chars + lengths[end] <= max_chars) {
                chars += lengths[end];
                found.extend(unit_terms[end].iter().map(String::as_str));
                end += 1;
            }
            let score: f32 = found.iter().map(|t| weights[t]).sum();
            if start == 0 {
                from_beginning = (start, end, score);
            }
            if score > best.2 {
                best = (start, end, score);
            }
        }
        // Also when nothing of the question is in the text: then its beginning, as much as fits.
        if from_beginning.2 >= PASSAGE_BEGINNING_SHARE * best.2 {
            best = from_beginning;
        }
        let (start, end, _) = best;
        let mut text = units[start..end].join(" ");
        if text.chars().count() > max_chars {
            text = format!("{}…", text.chars().take(max_chars).collect::<String>().trim_end());
        }
        if start > 0 {
            text = format!("… {text}");
        }
        // The section goes on (a list's further steps, the rest of a paragraph): say so rather
        // than let the excerpt read as the whole answer.
        if end < units.len() && !text.ends_with('…') {
            text.push_str(" …");
        }
        text
    }

    /// Fills in highlighted snippets (only for the hits that are returned: it costs).
    pub(super) fn add_snippets(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        hits: &mut [SearchHit],
    ) -> Result<()> {
        let mut generators: HashMap<Language, SnippetGenerator> = HashMap::new();
        for hit in hits {
            let generator = match generators.entry(hit.language) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let mut g = SnippetGenerator::create(searcher, query, self.fields.of(hit.language).body)?;
                    g.set_max_num_chars(SNIPPET_CHARS);
                    v.insert(g)
                }
            };
            hit.snippet = render_snippet(&generator.snippet(&hit.body), &hit.body);
        }
        Ok(())
    }
}

/// A section's text as sentences: split at line ends and after `.`, `!` or `?` before a space,
/// whitespace collapsed, empty pieces dropped. Only the first 8 KB are read: an answer quotes from
/// near the beginning, and the cost stays bounded for huge sections.
pub(super) fn sentences(body: &str) -> Vec<String> {
    const READ_BYTES: usize = 8_192;
    let mut cut = body.len().min(READ_BYTES);
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = Vec::new();
    for line in body[..cut].lines() {
        let mut current = String::new();
        let mut words = line.split_whitespace().peekable();
        while let Some(word) = words.next() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
            if word.ends_with(['.', '!', '?']) && words.peek().is_some() {
                out.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// Renders a snippet with `**` around matched words; falls back to the text's start.
fn render_snippet(snippet: &tantivy::snippet::Snippet, body: &str) -> String {
    let fragment = snippet.fragment();
    if fragment.is_empty() {
        let mut start: String = body.chars().take(SNIPPET_CHARS).collect();
        if start.len() < body.len() {
            start.push('…');
        }
        return start.replace('\n', " ");
    }
    // A compound and its parts highlight the same word: merge overlapping ranges.
    let mut ranges: Vec<std::ops::Range<usize>> = snippet.highlighted().to_vec();
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(fragment.len() + 16);
    let mut last = 0;
    for range in &merged {
        out.push_str(&fragment[last..range.start]);
        out.push_str("**");
        out.push_str(&fragment[range.clone()]);
        out.push_str("**");
        last = range.end;
    }
    out.push_str(&fragment[last..]);
    out.replace('\n', " ")
}
