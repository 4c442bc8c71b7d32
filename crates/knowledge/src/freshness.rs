//! Whether the guidance changed since the index was built, from one `stat` pass.
//!
//! Hashing every guidance file on every process start costs tens of milliseconds on the
//! Partner Center corpora and grows with them. The fingerprint is therefore kept beside the
//! index with what a `stat` of every file under the roots saw when it was computed (path, size,
//! modification and change times, inode); a start whose `stat` pass sees the same reuses it and
//! reads no file. The change time cannot be set back by a user (`touch -d` sets the modification
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    path: String,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
}

/// A fingerprint with the `stat` pass it was computed after.
#[derive(Debug, Serialize, Deserialize)]
struct Cache {
    fingerprint: String,
    analyzer_version: u32,
    computed_ns: i128,
    files: Vec<Stat>,
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Every file under the roots, links followed, in a stable order.
fn stat_pass(roots: &[PathBuf]) -> Vec<Stat> {
    let mut files = Vec::new();
    for root in roots {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
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
            files.push(Stat {
                path: entry.path().to_string_lossy().into_owned(),
                size: meta.len(),
                modified_ns,
                changed_ns,
                inode,
            });
        }
    }
    files
}

/// What one `stat` pass sees of every file under `roots`, as one value: it changes when a file
/// is added, removed or changed, and no file is read (to watch guidance and plugins).
pub fn stat_signature(roots: &[PathBuf]) -> String {
    let files = stat_pass(roots);
    let bytes = serde_json::to_vec(&files).expect("stats serialise");
    blake3::hash(&bytes).to_hex().to_string()
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
    let path = home.join(FILE);
    let cached = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cache>(&bytes).ok());
    if let Some(cache) = cached {
        let racy = files
            .iter()
            .any(|f| f.modified_ns.max(f.changed_ns) >= cache.computed_ns - RACY_NS);
        if cache.analyzer_version == analyzer_version && cache.files == files && !racy {
            return cache.fingerprint;
        }
    }
    let computed_ns = now_ns();
    let fingerprint = compute();
    let cache = Cache {
        fingerprint: fingerprint.clone(),
        analyzer_version,
        computed_ns,
        files,
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
