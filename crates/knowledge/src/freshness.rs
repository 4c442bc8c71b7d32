//! Whether the guidance changed since the index was built, from one `stat` pass.
//!
//! Hashing every guidance file on every process start costs tens of milliseconds on the
//! Partner Center corpora and grows with them. The fingerprint is therefore kept beside the
//! index with a digest of what a `stat` of every file under the roots saw when it was computed
//! (path, size, modification and change times, inode); a start whose `stat` pass sees the same
//! reuses it and reads no file. The same rule spares a start checking the index's own files
//! against their checksums when none changed since they last passed ([`GenerationFiles`]).
//! The change time cannot be set back by a user (`touch -d` sets the modification time only),
//! so an edit that keeps size and modification time is still seen. A file changed within
//! [`RACY_NS`] before the fingerprint was computed could change again within the timestamp's
//! granularity unseen; while such a file exists, the fingerprint is computed again (git's
//! "racily clean" rule).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name of the cache file beside an index's generations.
pub const FILE: &str = "stat-cache.json";
/// Files changed this close before the fingerprint was computed are not trusted to it.
const RACY_NS: i128 = 2_000_000_000;

/// What `stat` says of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stat {
    path: String,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
}

/// A fingerprint with a digest of the `stat` pass it was computed after. The digest, not the
/// list: at 30,000 files, reading the list back costs more than the `stat` pass itself.
#[derive(Debug, Serialize, Deserialize)]
struct Cache {
    fingerprint: String,
    analyzer_version: u32,
    computed_ns: i128,
    stats_digest: String,
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Every file under the roots, links followed, in a stable order (by name within each
/// directory). Directories are read on every core and each name is `stat`ed relative to its
/// open directory: at tens of thousands of files the `stat` calls are most of a warm start, and
/// a lookup of the whole path for each costs more than the call.
fn stat_pass(roots: &[PathBuf]) -> Vec<Stat> {
    roots
        .iter()
        .flat_map(|root| match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => files_under(root, &[directory_id(&meta, root)]),
            Ok(meta) if meta.is_file() => vec![stat_of(root, &meta)],
            _ => Vec::new(),
        })
        .collect()
}

/// Which directory a directory is, to see a link that leads back into a directory it lies in.
fn directory_id(meta: &std::fs::Metadata, path: &Path) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        use std::hash::{Hash, Hasher};
        let _ = meta;
        let mut hasher = std::hash::DefaultHasher::new();
        path.canonicalize()
            .unwrap_or_else(|_| path.to_path_buf())
            .hash(&mut hasher);
        (0, hasher.finish())
    }
}

/// Every file under `dir` (whose identity and its ancestors' are `ancestors`), by name within
/// each directory; a link is followed to what it points at, except back to a directory it lies
/// in.
fn files_under(dir: &Path, ancestors: &[(u64, u64)]) -> Vec<Stat> {
    use rayon::prelude::{IntoParallelRefIterator, ParallelIterator};
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<std::fs::DirEntry> = read.flatten().collect();
    entries.sort_unstable_by_key(std::fs::DirEntry::file_name);
    entries
        .par_iter()
        .flat_map_iter(|entry| {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                return Vec::new();
            };
            // A link counts as what it points at; anything else is `stat`ed by its name in the
            // open directory.
            let meta = if kind.is_symlink() {
                std::fs::metadata(&path)
            } else {
                entry.metadata()
            };
            let Ok(meta) = meta else {
                return Vec::new();
            };
            if meta.is_file() {
                return vec![stat_of(&path, &meta)];
            }
            if meta.is_dir() {
                let id = directory_id(&meta, &path);
                if ancestors.contains(&id) {
                    return Vec::new();
                }
                let mut chain = ancestors.to_vec();
                chain.push(id);
                return files_under(&path, &chain);
            }
            Vec::new()
        })
        .collect()
}

/// What `stat` said of the file at `path`.
fn stat_of(path: &Path, meta: &std::fs::Metadata) -> Stat {
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    #[cfg(unix)]
    let (changed_ns, inode) = {
        use std::os::unix::fs::MetadataExt;
        (
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            meta.ino(),
        )
    };
    #[cfg(not(unix))]
    let (changed_ns, inode) = (modified_ns, 0);
    Stat {
        path: path.to_string_lossy().into_owned(),
        size: meta.len(),
        modified_ns,
        changed_ns,
        inode,
    }
}

/// What a `stat` pass saw, as one value: it changes when a file is added, removed or changed.
fn digest(files: &[Stat]) -> String {
    let mut hasher = blake3::Hasher::new();
    for f in files {
        hasher.update(&(f.path.len() as u64).to_le_bytes());
        hasher.update(f.path.as_bytes());
        hasher.update(&f.size.to_le_bytes());
        hasher.update(&f.modified_ns.to_le_bytes());
        hasher.update(&f.changed_ns.to_le_bytes());
        hasher.update(&f.inode.to_le_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// Whether a check made at `checked_ns` holds for files whose newest modification or change
/// was at `newest_change_ns`: not if they changed within [`RACY_NS`] before it.
fn trusted(newest_change_ns: i128, checked_ns: i128) -> bool {
    newest_change_ns < checked_ns - RACY_NS
}

/// The newest modification or change time among `files`.
fn newest_change(files: &[Stat]) -> i128 {
    files
        .iter()
        .map(|f| f.modified_ns.max(f.changed_ns))
        .max()
        .unwrap_or(i128::MIN)
}

/// What one `stat` pass sees of every file under `roots`, as one value: it changes when a file
/// is added, removed or changed, and no file is read (to watch guidance and plugins).
pub fn stat_signature(roots: &[PathBuf]) -> String {
    digest(&stat_pass(roots))
}

/// The fingerprint of the guidance under `roots`: the cached one in `home` when a `stat` pass
/// sees every file as it was, else `compute()`'s, cached for the next start (best effort: a
/// data directory that cannot be written only means hashing at every start).
pub fn fingerprint(
    home: &Path,
    roots: &[PathBuf],
    analyzer_version: u32,
    compute: impl FnOnce() -> String,
) -> String {
    let files = stat_pass(roots);
    let stats_digest = digest(&files);
    let path = home.join(FILE);
    let cached = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cache>(&bytes).ok());
    if let Some(cache) = cached {
        if cache.analyzer_version == analyzer_version
            && cache.stats_digest == stats_digest
            && trusted(newest_change(&files), cache.computed_ns)
        {
            return cache.fingerprint;
        }
    }
    let computed_ns = now_ns();
    let fingerprint = compute();
    let cache = Cache {
        fingerprint: fingerprint.clone(),
        analyzer_version,
        computed_ns,
        stats_digest,
    };
    if std::fs::create_dir_all(home).is_ok() {
        write_whole(&path, &serde_json::to_vec(&cache).expect("cache serialises"));
    }
    fingerprint
}

/// Writes `bytes` to `path` under a temporary name and renames it, so a concurrent reader sees
/// the whole file or the one before (best effort: what cannot be written is left as it was).
fn write_whole(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    if std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Name of the record, beside an index generation (`<generation>.verified.json`), of its files
/// as they were when they last passed their checksums: nothing writes into a published
/// generation.
pub fn verified_record_name(generation: &str) -> String {
    format!("{generation}.verified.json")
}

/// When the files of an index generation last passed their checksums, and what `stat` saw.
#[derive(Debug, Serialize, Deserialize)]
struct Verified {
    verified_ns: i128,
    stats_digest: String,
}

/// The files of an index generation as one `stat` pass saw them: whether its checksums passed
/// with the files as they are, and, after a check, the record that they did.
pub struct GenerationFiles {
    record: PathBuf,
    stats_digest: String,
    newest_change_ns: i128,
}

impl GenerationFiles {
    /// The files of the generation in `dir`, as they are now.
    pub fn of(dir: &Path) -> Self {
        let files = stat_pass(&[dir.to_path_buf()]);
        let generation = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        GenerationFiles {
            record: dir.with_file_name(verified_record_name(&generation)),
            stats_digest: digest(&files),
            newest_change_ns: newest_change(&files),
        }
    }

    /// Whether every file is as it was when the checksums last passed
    /// ([`GenerationFiles::record_verified`]): then reading all of it again finds nothing new. A
    /// file written within [`RACY_NS`] before that check is not trusted to it.
    pub fn verified(&self) -> bool {
        std::fs::read(&self.record)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Verified>(&bytes).ok())
            .is_some_and(|v| {
                v.stats_digest == self.stats_digest && trusted(self.newest_change_ns, v.verified_ns)
            })
    }

    /// Records that the checksums, read from `checked_ns` on, passed with the files as this
    /// pass saw them (best effort: a data directory that cannot be written only means checking
    /// every time).
    pub fn record_verified(&self, checked_ns: i128) {
        let record = Verified {
            verified_ns: checked_ns,
            stats_digest: self.stats_digest.clone(),
        };
        write_whole(
            &self.record,
            &serde_json::to_vec(&record).expect("record serialises"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{now_ns, stat_pass, GenerationFiles, RACY_NS};

    #[cfg(unix)]
    #[test]
    fn the_stat_pass_follows_links_but_not_back_into_a_directory_it_is_in() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir(root.join("de")).unwrap();
        std::fs::write(root.join("de/b.md"), b"b").unwrap();
        std::fs::write(root.join("a.md"), b"a").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("shared.md"), b"s").unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("shared.md"), root.join("de/linked.md")).unwrap();
        std::os::unix::fs::symlink(root, root.join("de/loop")).unwrap();
        let files: Vec<String> = stat_pass(&[root.to_path_buf()])
            .into_iter()
            .map(|s| s.path.strip_prefix(&*root.to_string_lossy()).unwrap().to_string())
            .collect();
        assert_eq!(files, ["/a.md", "/de/b.md", "/de/linked.md"]);
        assert_eq!(stat_pass(&[root.to_path_buf()]), stat_pass(&[root.to_path_buf()]));
    }

    #[test]
    fn an_index_is_trusted_to_its_checksums_only_while_no_file_changed_since_they_passed() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("generation-1");
        std::fs::create_dir(&dir).unwrap();
        let dir = &dir;
        std::fs::write(dir.join("a.idx"), b"terms").unwrap();
        std::fs::write(dir.join("b.store"), b"sections").unwrap();
        let verified = |dir: &std::path::Path| GenerationFiles::of(dir).verified();
        assert!(!verified(dir), "never checked");
        // Checked just after the files were written: within the timestamps' granularity a
        // change could still go unseen, so the check is not trusted.
        GenerationFiles::of(dir).record_verified(now_ns());
        assert!(!verified(dir), "racily clean");
        // Checked well after the files were last written.
        GenerationFiles::of(dir).record_verified(now_ns() + 2 * RACY_NS);
        assert!(verified(dir));
        std::fs::write(dir.join("b.store"), b"sectionz").unwrap();
        assert!(!verified(dir), "a file changed, same size");
        GenerationFiles::of(dir).record_verified(now_ns() + 2 * RACY_NS);
        std::fs::remove_file(dir.join("a.idx")).unwrap();
        assert!(!verified(dir), "a file went missing");
    }
}
