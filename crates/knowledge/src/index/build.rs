//! Building an index from sections (in memory or in a directory) and opening a built one.

use super::schema::{build_schema, index_builder, tokenizer_name, Fields};
use super::{KnowledgeBase, KnowledgeError, Result};
use crate::abbreviations::{learn_abbreviations, Abbreviations, ABBREVIATIONS_FILE};
use crate::analysis::{Analyzer, CompoundDictionary};
use crate::model::{Language, Section};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use tantivy::{Index, IndexWriter, TantivyDocument};

/// Writer memory budget.
const WRITER_HEAP_BYTES: usize = 100_000_000;
/// Indexing threads at most: beyond a few, merging their segments costs what they saved.
const MAX_WRITER_THREADS: usize = 4;
/// Decompressed doc-store blocks kept in memory (16 KB each before compression).
const DOC_STORE_CACHE_BLOCKS: usize = 2048;
/// Name of the compound dictionary file in an index directory.
pub const COMPOUNDS_FILE: &str = "compounds.txt";

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
        kb.write_all(sections, &crate::links::document_links(sections))?;
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
        let links = crate::links::document_links(&sections);
        kb.write_all(sections, &links)?;
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
        // files' checksums find it (about a millisecond per ten megabytes, so it grows with the
        // corpus): they are checked again only when a file changed since they last passed.
        let files = crate::freshness::GenerationFiles::of(dir);
        if !files.verified() {
            let checked_at = crate::freshness::now_ns();
            let damaged = index.validate_checksum()?;
            if let Some(file) = damaged.iter().next() {
                return Err(KnowledgeError::Corrupt {
                    path: dir.join(file),
                    reason: "a file of the index fails its checksum".into(),
                });
            }
            files.record_verified(checked_at);
        }
        Self::with_index(index, fields, compounds, abbreviations)
    }

    fn write_all<S: std::borrow::Borrow<Section>>(
        &self,
        sections: impl IntoIterator<Item = S>,
        links: &crate::links::DocumentLinks,
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
            if let Some(targets) = links.linked.get(&s.doc_path) {
                doc.add_text(f.linked, targets.join("\n"));
            }
            doc.add_u64(f.line, s.line as u64);
            doc.add_u64(f.links_only, u64::from(s.is_links_only()));
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
            if let Some(texts) = links.texts.get(&s.doc_path) {
                doc.add_text(lf.link_text, texts.join("\n"));
            }
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
}
