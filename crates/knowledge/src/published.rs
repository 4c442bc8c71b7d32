//! A published index generation as tantivy sees it: read-only.
//!
//! A generation is written once, under the build lock, and never again after `CURRENT` names it
//! (a rebuild writes a new generation). Readers therefore need none of tantivy's locks: its meta
//! lock guards readers against a writer committing into the same directory, and there is none.
//! Taking it means creating a lock file, which fails on a read-only data directory (a read-only
//! mount, a backup restored without write permission) and would stop every search there.

use std::path::Path;
use std::sync::Arc;
use tantivy::directory::error::{DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
    META_LOCK,
};

/// An index generation opened for reading only.
#[derive(Debug, Clone)]
pub struct PublishedDirectory(MmapDirectory);

impl PublishedDirectory {
    /// Opens the generation in `dir`.
    pub fn open(dir: &Path) -> Result<Self, OpenDirectoryError> {
        MmapDirectory::open(dir).map(PublishedDirectory)
    }
}

impl Directory for PublishedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.0.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.0.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.0.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        self.0.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        if lock.filepath == META_LOCK.filepath {
            // Nothing writes a published generation: there is nobody to exclude.
            return Ok(DirectoryLock::from(Box::new(())));
        }
        self.0.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.0.watch(watch_callback)
    }
}
