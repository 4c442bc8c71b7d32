//! The tantivy index of sections and the search over it.

use crate::abbreviations::{learn_abbreviations, Abbreviations, ABBREVIATIONS_FILE};
use crate::analysis::{Analyzer, CompoundDictionary};
use crate::model::{Language, Product, Section};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::index::{IndexSettings, IndexSortByField, Order};
use tantivy::query::{
    BooleanQuery, BoostQuery, EnableScoring, FuzzyTermQuery, Occur, Query, QueryParser, Scorer, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocSet, Index, IndexReader, IndexWriter, Searcher, TantivyDocument, Term};

/// Boost of a term found in the document title.
const TITLE_BOOST: f32 = 2.0;
/// Boost of a term found in a section heading.
const HEADING_BOOST: f32 = 1.5;
/// Weight of a compound part next to the whole word.
const COMPOUND_PART_WEIGHT: f32 = 0.6;
/// Weight of a typo correction next to a word spelt right.
const CORRECTION_WEIGHT: f32 = 0.8;
/// How much the guidance's words for a customer's word (a thesaurus expansion) count towards
/// covering it: fully for the expansion's rarest term, because a thesaurus entry states that
/// they mean the same (a typo correction, by contrast, is a guess); a more common term of the
/// same expansion counts by its rarity relative to that one.
const EXPANSION_COVERAGE: f32 = 1.0;
/// How much a typo correction counts towards coverage: a guess is weaker evidence.
const CORRECTION_COVERAGE: f32 = 0.6;
/// Words shorter than this are never corrected: too many neighbours.
const MIN_CORRECTABLE_CHARS: usize = 4;
/// Words this long may be corrected by two edits.
const TWO_EDITS_FROM_CHARS: usize = 8;
/// Snippet length in characters.
const SNIPPET_CHARS: usize = 220;
/// Writer memory budget.
const WRITER_HEAP_BYTES: usize = 100_000_000;
/// Indexing threads at most: beyond a few, merging their segments costs what they saved.
const MAX_WRITER_THREADS: usize = 4;
/// Decompressed doc-store blocks kept in memory (16 KB each before compression).
const DOC_STORE_CACHE_BLOCKS: usize = 2048;
/// At most this many terms go into one query.
const MAX_SEARCHED_TERMS: usize = 24;
/// How much more a section counts when the question's words are in its title, description or
/// headings (by rarity-weighted share), on top of its coverage anywhere.
const TITLE_COVERAGE_WEIGHT: f32 = 0.4;
/// A passage from the section's beginning is preferred while it holds this share of the best
/// passage's question terms.
const PASSAGE_BEGINNING_SHARE: f32 = 0.75;
/// Terms searched in the first pass over the index; the rest are scored on its candidates.
const FIRST_PASS_TERMS: usize = 12;
/// Candidates the first pass keeps when terms are left for the second.
const FIRST_PASS_DEPTH: usize = 200;
/// Sections considered for re-ranking by coverage.
const RERANK_DEPTH: usize = 30;
/// A section covering none of the question keeps this share of its score.
const MIN_COVERAGE_FACTOR: f32 = 0.05;
/// Name of the compound dictionary file in an index directory.
pub const COMPOUNDS_FILE: &str = "compounds.txt";

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

#[derive(Clone, Copy)]
struct LangFields {
    title: Field,
    heading: Field,
    body: Field,
}

#[derive(Clone, Copy)]
struct Fields {
    path: Field,
    anchor: Field,
    heading_text: Field,
    lang: Field,
    products: Field,
    audience: Field,
    roles: Field,
    date: Field,
    links: Field,
    linked: Field,
    line: Field,
    /// The section's place in the ingested order: the index is sorted by it.
    ordinal: Field,
    de: LangFields,
    en: LangFields,
}

impl Fields {
    fn of(&self, lang: Language) -> LangFields {
        match lang {
            Language::De => self.de,
            Language::En => self.en,
        }
    }
}

fn tokenizer_name(lang: Language) -> &'static str {
    match lang {
        Language::De => "switchboard_de",
        Language::En => "switchboard_en",
    }
}

/// The field documents are sorted by.
const ORDINAL_FIELD: &str = "ordinal";

/// A new index of `schema`, its documents in the order they were ingested, whichever indexing
/// thread took them and however their segments were merged: a document's id, and so the order
/// of results with equal scores, is the same in every build of the same guidance.
fn index_builder(schema: Schema) -> tantivy::IndexBuilder {
    Index::builder().schema(schema).settings(IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: ORDINAL_FIELD.into(),
            order: Order::Asc,
        }),
        ..IndexSettings::default()
    })
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |lang: Language, stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer_name(lang))
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let path = b.add_text_field("path", STRING | STORED);
    let anchor = b.add_text_field("anchor", STORED);
    let heading_text = b.add_text_field("heading", STORED);
    let lang = b.add_text_field("lang", STRING | STORED);
    let products = b.add_text_field("products", STRING | STORED);
    let audience = b.add_text_field("audience", STORED);
    let roles = b.add_text_field("roles", STORED);
    let date = b.add_text_field("date", STORED);
    let links = b.add_text_field("links", STORED);
    let linked = b.add_text_field("linked", STORED);
    let line = b.add_u64_field("line", STORED | FAST);
    let ordinal = b.add_u64_field(ORDINAL_FIELD, FAST);
    let mut lang_fields = |l: Language| LangFields {
        title: b.add_text_field(&format!("title_{l}"), text(l, true)),
        heading: b.add_text_field(&format!("headings_{l}"), text(l, false)),
        body: b.add_text_field(&format!("body_{l}"), text(l, true)),
    };
    let de = lang_fields(Language::De);
    let en = lang_fields(Language::En);
    let fields = Fields {
        path,
        anchor,
        heading_text,
        lang,
        products,
        audience,
        roles,
        date,
        links,
        linked,
        line,
        ordinal,
        de,
        en,
    };
    (b.build(), fields)
}

/// Counts of what an index holds.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IndexStats {
    /// Sections indexed.
    pub sections: usize,
    /// Distinct documents.
    pub documents: usize,
    /// Sections per language code.
    pub sections_by_language: std::collections::BTreeMap<String, usize>,
    /// Words in the German compound dictionary.
    pub compound_words: usize,
}

impl IndexStats {
    /// Counts the sections that were indexed (no need to read them back from the index).
    pub fn of(sections: &[Section], compound_words: usize) -> Self {
        let mut stats = IndexStats {
            sections: sections.len(),
            compound_words,
            ..IndexStats::default()
        };
        for s in sections {
            *stats
                .sections_by_language
                .entry(s.language.code().to_string())
                .or_default() += 1;
        }
        stats.documents = sections
            .iter()
            .map(|s| s.doc_path.as_str())
            .collect::<HashSet<_>>()
            .len();
        stats
    }
}

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
        }
    }
}

/// Byte ranges of the sentences of `text` that are not questions, when it has a question and
/// something else; empty otherwise.
fn context_spans(text: &str) -> Vec<std::ops::Range<usize>> {
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
    let sentences: Vec<_> = sentences
        .into_iter()
        .filter(|(r, _)| text[r.clone()].chars().any(char::is_alphanumeric))
        .collect();
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
enum TermSource {
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

/// Learns the German compound dictionary from the German sections' own words (counted on
/// every core).
pub fn learn_compounds(sections: &[Section]) -> CompoundDictionary {
    use rayon::prelude::*;
    let probe = Analyzer::new(Language::De, Arc::default());
    let counts = sections
        .par_iter()
        .filter(|s| s.language == Language::De)
        .fold(HashMap::<String, usize>::new, |mut counts, s| {
            for text in [&s.doc_title, &s.heading, &s.body] {
                for (word, _, _) in probe.words(text) {
                    *counts.entry(word).or_default() += 1;
                }
            }
            counts
        })
        .reduce(HashMap::new, |mut all, part| {
            for (word, n) in part {
                *all.entry(word).or_default() += n;
            }
            all
        });
    CompoundDictionary::from_counts(&counts)
}

impl KnowledgeBase {
    fn with_index(
        index: Index,
        fields: Fields,
        compounds: Arc<CompoundDictionary>,
        abbreviations: Abbreviations,
    ) -> Result<Self> {
        let de = Analyzer::new(Language::De, compounds.clone());
        let en = Analyzer::new(Language::En, compounds.clone());
        index
            .tokenizers()
            .register(tokenizer_name(Language::De), de.clone());
        index
            .tokenizers()
            .register(tokenizer_name(Language::En), en.clone());
        // Re-ranking reads a few dozen stored sections per question: keep decompressed
        // store blocks in memory rather than decompressing them again for every question.
        let reader = index
            .reader_builder()
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()?;
        Ok(KnowledgeBase {
            index,
            reader,
            fields,
            de,
            en,
            compounds,
            abbreviations,
        })
    }

    /// Builds an index in memory (tests, small knowledge sets).
    pub fn build_in_ram(sections: &[Section]) -> Result<Self> {
        let (schema, fields) = build_schema();
        let compounds = Arc::new(learn_compounds(sections));
        let abbreviations = learn_abbreviations(sections);
        let kb = Self::with_index(
            index_builder(schema).create_in_ram()?,
            fields,
            compounds,
            abbreviations,
        )?;
        kb.write_all(sections, &crate::links::linked_documents(sections))?;
        Ok(kb)
    }

    /// Builds an index in `dir` (which must be empty or absent). The sections are consumed:
    /// each is dropped once the index has it, so the index's memory grows as theirs shrinks.
    pub fn build_in_dir(dir: &Path, sections: Vec<Section>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| KnowledgeError::Io {
            path: dir.into(),
            source,
        })?;
        let (schema, fields) = build_schema();
        let compounds = Arc::new(learn_compounds(&sections));
        let words = compounds.sorted_words().join("\n");
        let dict_path = dir.join(COMPOUNDS_FILE);
        std::fs::write(&dict_path, words).map_err(|source| KnowledgeError::Io {
            path: dict_path,
            source,
        })?;
        let abbreviations = learn_abbreviations(&sections);
        let abbreviations_path = dir.join(ABBREVIATIONS_FILE);
        std::fs::write(&abbreviations_path, abbreviations.to_tsv()).map_err(|source| KnowledgeError::Io {
            path: abbreviations_path,
            source,
        })?;
        let index = index_builder(schema).create_in_dir(dir)?;
        let kb = Self::with_index(index, fields, compounds, abbreviations)?;
        let linked = crate::links::linked_documents(&sections);
        kb.write_all(sections, &linked)?;
        Ok(kb)
    }

    /// Opens an index built by [`KnowledgeBase::build_in_dir`].
    pub fn open(dir: &Path) -> Result<Self> {
        let dict_path = dir.join(COMPOUNDS_FILE);
        let words = std::fs::read_to_string(&dict_path).map_err(|source| KnowledgeError::Io {
            path: dict_path,
            source,
        })?;
        let compounds = Arc::new(CompoundDictionary::from_words(words.lines().map(str::to_string)));
        let abbreviations_path = dir.join(ABBREVIATIONS_FILE);
        let abbreviations =
            std::fs::read_to_string(&abbreviations_path).map_err(|source| KnowledgeError::Io {
                path: abbreviations_path,
                source,
            })?;
        let abbreviations = Abbreviations::from_tsv(&abbreviations);
        let directory =
            crate::published::PublishedDirectory::open(dir).map_err(|e| KnowledgeError::Corrupt {
                path: dir.into(),
                reason: e.to_string(),
            })?;
        let index = Index::open(directory)?;
        let (expected, fields) = build_schema();
        if index.schema() != expected {
            return Err(KnowledgeError::Corrupt {
                path: dir.into(),
                reason: "schema differs from this version".into(),
            });
        }
        // A segment file that went missing (a cleanup, a disk error) would make searches quietly
        // find less: an index is whole or it is not opened, and then it is rebuilt.
        for segment in index.searchable_segment_metas()? {
            // The components every segment we write has (no deletes, no temporary store).
            let components = [
                tantivy::index::SegmentComponent::Postings,
                tantivy::index::SegmentComponent::Positions,
                tantivy::index::SegmentComponent::Terms,
                tantivy::index::SegmentComponent::Store,
                tantivy::index::SegmentComponent::FastFields,
                tantivy::index::SegmentComponent::FieldNorms,
            ];
            for component in components {
                let file = segment.relative_path(component);
                if !dir.join(&file).is_file() {
                    return Err(KnowledgeError::Corrupt {
                        path: dir.join(file),
                        reason: "a file of the index is missing".into(),
                    });
                }
            }
        }
        // A flipped or zeroed block (a disk error, a bad copy) keeps every file in place; the
        // files' checksums find it (about a millisecond per ten megabytes).
        let damaged = index.validate_checksum()?;
        if let Some(file) = damaged.iter().next() {
            return Err(KnowledgeError::Corrupt {
                path: dir.join(file),
                reason: "a file of the index fails its checksum".into(),
            });
        }
        Self::with_index(index, fields, compounds, abbreviations)
    }

    fn write_all<S: std::borrow::Borrow<Section>>(
        &self,
        sections: impl IntoIterator<Item = S>,
        linked: &HashMap<String, Vec<String>>,
    ) -> Result<()> {
        // One indexing thread per core (the sections are read into documents on this one);
        // their segments are merged into one below.
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_WRITER_THREADS);
        let mut writer: IndexWriter = self.index.writer_with_num_threads(threads, WRITER_HEAP_BYTES)?;
        let f = self.fields;
        for (ordinal, s) in sections.into_iter().enumerate() {
            let s = s.borrow();
            let lf = f.of(s.language);
            let mut doc = TantivyDocument::default();
            doc.add_u64(f.ordinal, ordinal as u64);
            doc.add_text(f.path, &s.doc_path);
            doc.add_text(f.anchor, &s.anchor);
            doc.add_text(f.heading_text, &s.heading);
            doc.add_text(f.lang, s.language.code());
            for p in &s.products {
                doc.add_text(f.products, p.tag());
            }
            doc.add_text(f.audience, s.audience.join("\n"));
            doc.add_text(f.roles, s.roles.join("\n"));
            doc.add_text(f.date, s.date.as_deref().unwrap_or(""));
            doc.add_text(f.links, s.links.join("\n"));
            if let Some(targets) = linked.get(&s.doc_path) {
                doc.add_text(f.linked, targets.join("\n"));
            }
            doc.add_u64(f.line, s.line as u64);
            doc.add_text(lf.title, &s.doc_title);
            let mut headings = s.parent_headings.join("\n");
            headings.push('\n');
            headings.push_str(&s.heading);
            if let Some(d) = &s.doc_description {
                // What the whole document is about counts for each of its sections.
                headings.push('\n');
                headings.push_str(d);
            }
            doc.add_text(lf.heading, headings);
            doc.add_text(lf.body, &s.body);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        // One segment keeps typo correction to one term dictionary and search fast.
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            writer.merge(&ids).wait()?;
        }
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The analyzer of a language.
    pub fn analyzer(&self, lang: Language) -> &Analyzer {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }

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
        let units = sentences(&hit.body);
        let unit_terms: Vec<HashSet<String>> = units
            .iter()
            .map(|u| {
                analyzer
                    .analyze(u)
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

    /// Whether an indexed term exists in a language's body or title.
    fn doc_freq(&self, searcher: &Searcher, lang: Language, term: &str) -> u64 {
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
    fn query_terms(
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
            for (term, df) in corrections {
                if out.iter().any(|q| q.language == lang && q.term == term) {
                    continue;
                }
                out.push(QueryTerm {
                    language: lang,
                    term,
                    corrected_from: Some(t.term.clone()),
                    compound_part: t.is_compound_part,
                    weight: weight * part_weight * CORRECTION_WEIGHT,
                    doc_freq: df,
                    word: word_of(t.position),
                    expands: !from_question,
                    emphasis,
                });
            }
        }
    }

    /// The searched terms (weight above zero), most informative first: the rarest, weighted.
    /// Long chat messages carry many common words; beyond [`MAX_SEARCHED_TERMS`] the least
    /// informative are dropped, which bounds the cost of the longest (or hostile) questions.
    fn informative_first(terms: &[QueryTerm], total_docs: u64) -> Vec<&QueryTerm> {
        let mut searched: Vec<&QueryTerm> = terms.iter().filter(|q| q.weight > 0.0).collect();
        let key = |q: &QueryTerm| q.weight * idf(q.doc_freq, total_docs);
        searched.sort_by(|a, b| key(b).total_cmp(&key(a)));
        searched.truncate(MAX_SEARCHED_TERMS);
        searched
    }

    /// The fields a term is searched in, with their boosts (the term's weight included).
    fn clauses_of(&self, q: &QueryTerm) -> [(Field, f32); 3] {
        let lf = self.fields.of(q.language);
        [
            (lf.title, TITLE_BOOST * q.weight),
            (lf.heading, HEADING_BOOST * q.weight),
            (lf.body, q.weight),
        ]
    }

    fn build_query(&self, terms: &[&QueryTerm]) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 3);
        for q in terms {
            for (field, boost) in self.clauses_of(q) {
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
    ) -> Result<()> {
        let order = address_order(candidates);
        let scoring = EnableScoring::enabled_from_searcher(searcher);
        for q in terms {
            for (field, boost) in self.clauses_of(q) {
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
            context_spans(request.text)
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
        if terms.is_empty() || request.limit == 0 {
            return Ok(SearchOutcome {
                hits: Vec::new(),
                terms,
            });
        }
        let total = searcher.num_docs();
        let by_information = Self::informative_first(&terms, total);
        let (first, second) = by_information.split_at(by_information.len().min(FIRST_PASS_TERMS));
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
        let mut top = searcher.search(
            &self.build_query(first),
            &TopDocs::with_limit(first_depth).order_by_score(),
        )?;
        if !second.is_empty() {
            self.add_scores(&searcher, &mut top, second)?;
            top.sort_by(|a, b| b.0.total_cmp(&a.0));
            top.truncate(depth);
        }
        // Coverage comes from the postings, so only the sections returned are read from the store.
        let presence = self.presence(&searcher, &top, &terms)?;
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
            self.add_snippets(&searcher, &self.build_query(&by_information), &mut hits)?;
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

    fn hits(&self, searcher: &Searcher, top: Vec<(f32, tantivy::DocAddress)>) -> Result<Vec<SearchHit>> {
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
                body: first_text(&doc, lf.body),
                coverage: 0.0,
                title_coverage: 0.0,
            });
        }
        Ok(hits)
    }

    /// For each candidate: its language, and which query terms it contains (in its title,
    /// headings or body), read from the postings lists rather than the stored text.
    fn presence(
        &self,
        searcher: &Searcher,
        candidates: &[(f32, tantivy::DocAddress)],
        terms: &[QueryTerm],
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
            for field in [lf.title, lf.heading] {
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

    /// Fills in highlighted snippets (only for the hits that are returned: it costs).
    fn add_snippets(&self, searcher: &Searcher, query: &dyn Query, hits: &mut [SearchHit]) -> Result<()> {
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
fn sentences(body: &str) -> Vec<String> {
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

/// Candidate indices sorted by segment and document, the order doc sets can seek in.
fn address_order(candidates: &[(f32, tantivy::DocAddress)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| (candidates[i].1.segment_ord, candidates[i].1.doc_id));
    order
}

/// Calls `hit` for each candidate (visited in `order`, see [`address_order`]) that the doc set
/// `open` gives for its segment contains.
fn visit_matches<D: DocSet>(
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

/// BM25's inverse document frequency, as tantivy computes it.
fn idf(doc_freq: u64, total_docs: u64) -> f32 {
    let df = doc_freq.max(1) as f32;
    ((1.0 + (total_docs as f32 - df + 0.5) / (df + 0.5)).ln()).max(0.01)
}

/// Which query terms each re-ranked candidate contains, from the postings.
struct Presence {
    /// Each candidate's language.
    languages: Vec<Language>,
    /// `present[i][t]`: candidate `i` contains term `t` anywhere.
    present: Vec<Vec<bool>>,
    /// `in_title[i][t]`: candidate `i` contains term `t` in its title, description or headings.
    in_title: Vec<Vec<bool>>,
}

/// Rarity-weighted share of the question's words a section contains. A word counts fully
/// when its term is present, less through a typo correction, and by the share of its parts
/// for a compound whose whole form is absent. `present[i]` tells whether `terms[i]` occurs.
fn coverage(terms: &[QueryTerm], present: &[bool], language: Language, total_docs: u64) -> f32 {
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

fn lines(text: &str) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The second pass must add exactly what the common terms' clauses would have scored in
    /// one boolean query over all terms.
    #[test]
    fn two_passes_score_like_one_query() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/knowledge");
        let ingested = crate::ingest::ingest_roots(&[root]);
        let kb = KnowledgeBase::build_in_ram(&ingested.sections).expect("index builds");
        let text = "We added licences in the middle of the month, the invoice shows prorated \
                    charges for the billing cycle and the subscription; can we cancel within \
                    the cancellation window, get a credit, and which support contact helps?";
        let mut request = SearchRequest::new(text, 10);
        request.language = Some(Language::En);
        request.rerank = false;
        request.snippets = false;
        let outcome = kb.search(&request).expect("search");
        let searcher = kb.reader.searcher();
        let all = KnowledgeBase::informative_first(&outcome.terms, searcher.num_docs());
        assert!(all.len() > FIRST_PASS_TERMS, "{} terms", all.len());
        let one_query = searcher
            .search(&kb.build_query(&all), &TopDocs::with_limit(1000).order_by_score())
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
