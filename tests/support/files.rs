//! File helpers shared by the integration tests.

use std::path::Path;

/// Copies a directory tree (creating `to`).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Writes `document` as `defining.md` into the guidance folder `dir`, beside four documents that
/// define nothing: a short form it defines is then in a fifth of the documents, below the share
/// that names the guidance's own domain.
#[allow(dead_code)] // not every test binary that shares these helpers writes guidance
pub fn write_guidance_defining(dir: &Path, document: &str) {
    std::fs::write(dir.join("defining.md"), document).unwrap();
    for i in 0..4 {
        std::fs::write(dir.join(format!("other-{i}.md")), "# Other\n\nInvoices.\n").unwrap();
    }
}
