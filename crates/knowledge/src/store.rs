//! Where indexes live: derived data in a data directory, one index per set of knowledge
//! roots, rebuilt when the guidance or the analyzer changes. Deleting it loses nothing.

use crate::analysis::ANALYZER_VERSION;
use crate::index::{IndexStats, KnowledgeBase, KnowledgeError, Result};
use crate::ingest::{discover, ingest_roots_with_progress, IngestWarning, SkippedFile};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MANIFEST_FILE: &str = "switchboard-index.json";

/// What was built, and what was left out.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Files that produced sections.
    pub files: usize,
    /// What the index holds.
    pub stats: IndexStats,
    /// Files not indexed, with reasons.
    pub skipped: Vec<SkippedFile>,
    /// Problems inside indexed files.
    pub warnings: Vec<IngestWarning>,
    /// Wall time of ingestion and indexing.
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
    /// Where the index was written.
    pub index_dir: PathBuf,
}

mod duration_ms {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    fingerprint: String,
    analyzer_version: u32,
    roots: Vec<String>,
}

/// The data directory that holds indexes.
#[derive(Debug, Clone)]
pub struct IndexStore {
    data_dir: PathBuf,
}

impl IndexStore {
    /// A store under `data_dir` (created on first build).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        IndexStore {
            data_dir: data_dir.into(),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory of the index for these roots.
    pub fn index_dir(&self, roots: &[PathBuf]) -> PathBuf {
        let mut hasher = blake3::Hasher::new();
        for root in canonical_roots(roots) {
            hasher.update(root.as_bytes());
            hasher.update(b"\0");
        }
        let id = hasher.finalize().to_hex();
        self.data_dir.join("indexes").join(&id.as_str()[..16])
    }

    /// Builds (or rebuilds) the index for these roots.
    pub fn build(
        &self,
        roots: &[PathBuf],
        progress: impl FnMut(usize, usize),
    ) -> Result<(KnowledgeBase, BuildReport)> {
        let started = Instant::now();
        let fingerprint = fingerprint(roots);
        let ingested = ingest_roots_with_progress(roots, progress);
        let dir = self.index_dir(roots);
        let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        KnowledgeBase::build_in_dir(&tmp, &ingested.sections)?;
        let manifest = Manifest {
            fingerprint,
            analyzer_version: ANALYZER_VERSION,
            roots: canonical_roots(roots),
        };
        let manifest_path = tmp.join(MANIFEST_FILE);
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        std::fs::write(&manifest_path, json).map_err(|source| KnowledgeError::Io {
            path: manifest_path,
            source,
        })?;
        // Swap in the finished index; readers never see a half-built one.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| KnowledgeError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        std::fs::rename(&tmp, &dir).map_err(|source| KnowledgeError::Io {
            path: dir.clone(),
            source,
        })?;
        let kb = KnowledgeBase::open(&dir)?;
        let stats = IndexStats::of(&ingested.sections, kb.compound_words());
        let report = BuildReport {
            files: ingested.files,
            stats,
            skipped: ingested.skipped,
            warnings: ingested.warnings,
            elapsed: started.elapsed(),
            index_dir: dir,
        };
        Ok((kb, report))
    }

    /// Opens the index for these roots, building it first if it is missing or stale.
    pub fn open_or_build(&self, roots: &[PathBuf]) -> Result<(KnowledgeBase, Option<BuildReport>)> {
        let dir = self.index_dir(roots);
        if let Ok(text) = std::fs::read_to_string(dir.join(MANIFEST_FILE)) {
            if let Ok(manifest) = serde_json::from_str::<Manifest>(&text) {
                if manifest.analyzer_version == ANALYZER_VERSION && manifest.fingerprint == fingerprint(roots)
                {
                    if let Ok(kb) = KnowledgeBase::open(&dir) {
                        return Ok((kb, None));
                    }
                }
            }
        }
        let (kb, report) = self.build(roots, |_, _| {})?;
        Ok((kb, Some(report)))
    }
}

fn canonical_roots(roots: &[PathBuf]) -> Vec<String> {
    roots
        .iter()
        .map(|r| {
            std::fs::canonicalize(r)
                .unwrap_or_else(|_| r.clone())
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// A hash of every guidance file's path and content, and of the analyzer version.
pub fn fingerprint(roots: &[PathBuf]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&ANALYZER_VERSION.to_le_bytes());
    let (files, _) = discover(roots);
    for file in files {
        hasher.update(file.doc_path.as_bytes());
        hasher.update(b"\0");
        match std::fs::read(&file.path) {
            Ok(bytes) => hasher.update(&bytes),
            Err(_) => hasher.update(b"<unreadable>"),
        };
    }
    hasher.finalize().to_hex().to_string()
}
