//! Whether the guidance changed since the index was built, from one `stat` pass.
//!
//! Hashing every guidance file on every process start costs tens of milliseconds on the
//! Partner Center corpora and grows with them. The fingerprint is therefore kept beside the
//! index with a digest of what a `stat` of every file under the roots saw when it was computed
//! (path, size, modification and change times, inode); a start whose `stat` pass sees the same
//! reuses it and reads no file. The same rule spares a start checking the index's own files
//! against their checksums when none changed since they last passed ([`verified_unchanged`]). The change time cannot be set back by a user (`touch -d` sets the modification
//! time only), so an edit that keeps size and modification time is still seen. A file changed
//! within [`RACY_NS`] before the fingerprint was computed could change again within the
//! timestamp's granularity unseen; while such a file exists, the fingerprint is computed again
//! (git's "racily clean" rule).

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
    files: usize,
    stats_digest: String,
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Every file under the roots, links followed, in a stable order. The directories are listed
/// on this thread and the files `stat`ed on every core: at tens of thousands of files the
/// `stat` calls are most of a warm start.
fn stat_pass(roots: &[PathBuf]) -> Vec<Stat> {
    use rayon::prelude::{IntoParallelRefIterator, ParallelIterator};
    let mut paths = Vec::new();
    for root in roots {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .flatten()
        {
            // Links are followed, so a link's type is its target's.
            if entry.file_type().is_file() {
                paths.push(entry.into_path());
            }
        }
    }
    // Sorted as bytes once, not by name within each directory as it is read: walkdir's sort
    // parses each name out of its path at every comparison.
    paths.sort_unstable_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    paths.par_iter().filter_map(|path| stat(path)).collect()
}

/// What `stat` says of the file at `path` (links followed), if it is still a file.
fn stat(path: &Path) -> Option<Stat> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
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
    Some(Stat {
        path: path.to_string_lossy().into_owned(),
        size: meta.len(),
        modified_ns,
        changed_ns,
        inode,
    })
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
        let racy = files
            .iter()
            .any(|f| f.modified_ns.max(f.changed_ns) >= cache.computed_ns - RACY_NS);
        if cache.analyzer_version == analyzer_version
            && cache.files == files.len()
            && cache.stats_digest == stats_digest
            && !racy
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
        files: files.len(),
        stats_digest,
    };
    if std::fs::create_dir_all(home).is_ok() {
        let tmp = home.join(format!("{FILE}.tmp-{}", std::process::id()));
        let json = serde_json::to_vec(&cache).expect("cache serialises");
        if std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .is_err()
        {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    fingerprint
}

/// Name of the record, beside an index generation (`<generation>.verified.json`), of its files
/// as they were when they last passed their checksums: nothing writes into a published
/// generation.
pub fn verified_record_name(generation: &str) -> String {
    format!("{generation}.verified.json")
}

/// Where the record of the generation in `dir` is kept.
fn verified_record(dir: &Path) -> PathBuf {
    let generation = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(verified_record_name(&generation))
}

/// When the files of an index generation last passed their checksums, and what `stat` saw.
#[derive(Debug, Serialize, Deserialize)]
struct Verified {
    verified_ns: i128,
    stats_digest: String,
}

/// The files of the index generation in `dir`.
fn generation_stats(dir: &Path) -> Vec<Stat> {
    stat_pass(&[dir.to_path_buf()])
}

/// Whether every file of the index generation in `dir` is as it was when its checksums last
/// passed ([`record_verified`]): then reading all of it again finds nothing new. A file written
/// within [`RACY_NS`] before that check is not trusted to it.
pub fn verified_unchanged(dir: &Path) -> bool {
    let Some(verified) = std::fs::read(verified_record(dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Verified>(&bytes).ok())
    else {
        return false;
    };
    let files = generation_stats(dir);
    let racy = files
        .iter()
        .any(|f| f.modified_ns.max(f.changed_ns) >= verified.verified_ns - RACY_NS);
    !racy && digest(&files) == verified.stats_digest
}

/// Records that the files of the index generation in `dir` passed their checksums, as they are
/// now (best effort: a data directory that cannot be written only means checking every time).
pub fn record_verified(dir: &Path, verified_ns: i128) {
    let record = Verified {
        verified_ns,
        stats_digest: digest(&generation_stats(dir)),
    };
    let path = verified_record(dir);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let json = serde_json::to_vec(&record).expect("record serialises");
    if std::fs::write(&tmp, json)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Now, in nanoseconds since the epoch: when a check that [`record_verified`] records began.
pub fn checked_at() -> i128 {
    now_ns()
}

#[cfg(test)]
mod tests {
    use super::{checked_at, record_verified, verified_unchanged, RACY_NS};

    #[test]
    fn an_index_is_trusted_to_its_checksums_only_while_no_file_changed_since_they_passed() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("generation-1");
        std::fs::create_dir(&dir).unwrap();
        let dir = &dir;
        std::fs::write(dir.join("a.idx"), b"terms").unwrap();
        std::fs::write(dir.join("b.store"), b"sections").unwrap();
        assert!(!verified_unchanged(dir), "never checked");
        // Checked just after the files were written: within the timestamps' granularity a
        // change could still go unseen, so the check is not trusted.
        record_verified(dir, checked_at());
        assert!(!verified_unchanged(dir), "racily clean");
        // Checked well after the files were last written.
        record_verified(dir, checked_at() + 2 * RACY_NS);
        assert!(verified_unchanged(dir));
        std::fs::write(dir.join("b.store"), b"sectionz").unwrap();
        assert!(!verified_unchanged(dir), "a file changed, same size");
        record_verified(dir, checked_at() + 2 * RACY_NS);
        std::fs::remove_file(dir.join("a.idx")).unwrap();
        assert!(!verified_unchanged(dir), "a file went missing");
    }
}
