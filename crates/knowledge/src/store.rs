//! Where indexes live: derived data in a data directory, one index per set of knowledge
//! roots, rebuilt when the guidance or the analyzer changes. Deleting it loses nothing.

use crate::analysis::ANALYZER_VERSION;
use crate::index::{IndexStats, KnowledgeBase, KnowledgeError, Result};
use crate::ingest::{discover, ingest_roots_with_progress, IngestWarning, SkippedFile, MAX_INCLUDED_BYTES};
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
    /// Why the index was built in memory and not stored (a data directory that is read-only,
    /// not ours to write or full): the next process builds it again.
    pub not_stored: Option<String>,
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

    /// Builds (or rebuilds) the index for these roots: into a new generation directory, under
    /// an exclusive lock, published by replacing the `CURRENT` pointer in one rename. Readers
    /// (other processes included) open whichever generation `CURRENT` names and never see a
    /// half-built one; old generations are removed after the switch (an open one stays readable
    /// to the process that has it, as unlinked files do).
    pub fn build(
        &self,
        roots: &[PathBuf],
        progress: impl FnMut(usize, usize),
    ) -> Result<(KnowledgeBase, BuildReport)> {
        let home = self.index_dir(roots);
        create_home(&home)?;
        let _lock = BuildLock::take(&home)?;
        self.build_locked(roots, &home, fingerprint(roots), progress)
    }

    /// Builds and publishes a generation; the caller holds the build lock.
    fn build_locked(
        &self,
        roots: &[PathBuf],
        home: &Path,
        fingerprint: String,
        progress: impl FnMut(usize, usize),
    ) -> Result<(KnowledgeBase, BuildReport)> {
        let started = Instant::now();
        let mut ingested = ingest_roots_with_progress(roots, progress);
        // Counted now: the build consumes the sections.
        let mut stats = IndexStats::of(&ingested.sections, 0);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KnowledgeError::Io { path, source }
        };
        let generation = format!(
            "gen-{}-{}-{}",
            &fingerprint[..16],
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let dir = home.join(&generation);
        let pointer_tmp = home.join(format!("{CURRENT_FILE}.tmp-{}", std::process::id()));
        let published = (|| {
            KnowledgeBase::build_in_dir(&dir, std::mem::take(&mut ingested.sections))?;
            let manifest = Manifest {
                fingerprint,
                analyzer_version: ANALYZER_VERSION,
                roots: canonical_roots(roots),
            };
            let manifest_path = dir.join(MANIFEST_FILE);
            let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
            std::fs::write(&manifest_path, json).map_err(io(&manifest_path))?;
            // Publish: the pointer is replaced in one rename.
            std::fs::write(&pointer_tmp, &generation).map_err(io(&pointer_tmp))?;
            std::fs::rename(&pointer_tmp, home.join(CURRENT_FILE)).map_err(io(home))
        })();
        if let Err(e) = published {
            // A half-written generation (a full disk) is never named by the pointer: remove it
            // now rather than leave it to the next build.
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::remove_file(&pointer_tmp);
            return Err(e);
        }
        remove_all_but(home, &generation);
        let kb = KnowledgeBase::open(&dir)?;
        stats.compound_words = kb.compound_words();
        let report = BuildReport {
            files: ingested.files,
            stats,
            skipped: ingested.skipped,
            warnings: ingested.warnings,
            elapsed: started.elapsed(),
            index_dir: dir,
            not_stored: None,
        };
        Ok((kb, report))
    }

    /// The current generation for these roots, when it is complete and built from exactly this
    /// guidance with this analyzer.
    fn open_current(home: &Path, fingerprint: &str) -> Option<KnowledgeBase> {
        let generation = std::fs::read_to_string(home.join(CURRENT_FILE)).ok()?;
        let dir = home.join(generation.trim());
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?).ok()?;
        (manifest.analyzer_version == ANALYZER_VERSION && manifest.fingerprint == fingerprint)
            .then(|| KnowledgeBase::open(&dir).ok())
            .flatten()
    }

    /// Opens the index for these roots, building it first if it is missing or stale. Processes
    /// that find it stale at once build it once: the others wait for the build lock and then
    /// open what the first one published.
    pub fn open_or_build(&self, roots: &[PathBuf]) -> Result<(KnowledgeBase, Option<BuildReport>)> {
        let home = self.index_dir(roots);
        let fingerprint =
            crate::freshness::fingerprint(&home, roots, ANALYZER_VERSION, || fingerprint(roots));
        if let Some(kb) = Self::open_current(&home, &fingerprint) {
            return Ok((kb, None));
        }
        let published = (|| {
            create_home(&home)?;
            let _lock = BuildLock::take(&home)?;
            if let Some(kb) = Self::open_current(&home, &fingerprint) {
                return Ok((kb, None));
            }
            let (kb, report) = self.build_locked(roots, &home, fingerprint.clone(), |_, _| {})?;
            Ok((kb, Some(report)))
        })();
        match published {
            Err(e) if is_unwritable(&e) => {
                let (kb, report) = build_in_memory(roots, &home, e.to_string())?;
                Ok((kb, Some(report)))
            }
            other => other,
        }
    }
}

/// Creates the folder of one index's generations.
fn create_home(home: &Path) -> Result<()> {
    std::fs::create_dir_all(home).map_err(|source| KnowledgeError::Io {
        path: home.to_path_buf(),
        source,
    })
}

/// Whether building failed because the data directory cannot be written: read-only, not ours,
/// or full. Searching needs no stored index, so those build in memory instead.
fn is_unwritable(error: &KnowledgeError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{PermissionDenied, QuotaExceeded, ReadOnlyFilesystem, StorageFull};
            if matches!(
                io.kind(),
                ReadOnlyFilesystem | PermissionDenied | StorageFull | QuotaExceeded
            ) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// The index for `roots` built in memory only, with why it was not stored.
fn build_in_memory(roots: &[PathBuf], home: &Path, why: String) -> Result<(KnowledgeBase, BuildReport)> {
    let started = Instant::now();
    let ingested = ingest_roots_with_progress(roots, |_, _| {});
    let kb = KnowledgeBase::build_in_ram(&ingested.sections)?;
    let stats = IndexStats::of(&ingested.sections, kb.compound_words());
    Ok((
        kb,
        BuildReport {
            files: ingested.files,
            stats,
            skipped: ingested.skipped,
            warnings: ingested.warnings,
            elapsed: started.elapsed(),
            index_dir: home.to_path_buf(),
            not_stored: Some(why),
        },
    ))
}

/// The file naming the published generation of an index.
const CURRENT_FILE: &str = "CURRENT";

/// An exclusive lock on building one index (a lock file beside its generations), released when
/// dropped or when the process ends.
struct BuildLock(std::fs::File);

impl BuildLock {
    fn take(home: &Path) -> Result<BuildLock> {
        let path = home.join("build.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| KnowledgeError::Io {
                path: path.clone(),
                source,
            })?;
        fs4::fs_std::FileExt::lock_exclusive(&file).map_err(|source| KnowledgeError::Io { path, source })?;
        Ok(BuildLock(file))
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs4::fs_std::FileExt::unlock(&self.0);
    }
}

/// Removes every generation and temporary file of an index home but `keep`, the pointer and
/// the lock (best effort: what cannot be removed now is removed by a later build).
fn remove_all_but(home: &Path, keep: &str) {
    for entry in std::fs::read_dir(home).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == keep
            || name == crate::freshness::verified_record_name(keep)
            || name == CURRENT_FILE
            || name == "build.lock"
            || name == crate::freshness::FILE
        {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
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

/// A hash of every guidance file's path and content, of every other file under the roots
/// (anything may be included: `[!INCLUDE [t](snippets/terms.txt)]`), and of the analyzer
/// version.
pub fn fingerprint(roots: &[PathBuf]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&ANALYZER_VERSION.to_le_bytes());
    let (files, _) = discover(roots);
    let mut guidance = std::collections::HashSet::new();
    for file in files {
        hasher.update(file.doc_path.as_bytes());
        hasher.update(b"\0");
        match std::fs::read(&file.path) {
            Ok(bytes) => hasher.update(&bytes),
            Err(_) => hasher.update(b"<unreadable>"),
        };
        guidance.insert(file.path);
    }
    for root in roots {
        let entries = walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .flatten();
        for entry in entries.filter(|e| e.file_type().is_file() && !guidance.contains(e.path())) {
            hasher.update(entry.path().to_string_lossy().as_bytes());
            hasher.update(b"\0");
            // Regular files only (a FIFO would block); one too large to be included counts by
            // its size, since only crossing the include limit changes what is indexed.
            let size = entry.metadata().map_or(0, |m| m.len());
            let content = (size <= MAX_INCLUDED_BYTES)
                .then(|| std::fs::read(entry.path()).ok())
                .flatten();
            match content {
                Some(bytes) => hasher.update(&bytes),
                None => hasher.update(&size.to_le_bytes()),
            };
        }
    }
    hasher.finalize().to_hex().to_string()
}
