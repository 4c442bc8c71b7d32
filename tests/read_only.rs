//! A data directory that cannot be written (a read-only mount, a restored backup): customers
//! are still answered from the stored index (or one built in memory when the guidance changed),
//! staff still list and read tickets, and every write fails with a message that says why.
//!
//! As root (CI), permissions do not stop writes, so the data directory is bind-mounted
//! read-only; elsewhere its permissions are taken away. Either way the test runs: it never skips.

#[path = "support/files.rs"]
mod files;
use files::copy_dir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn switchboard(data: &Path, knowledge: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data)
        .arg("--knowledge")
        .arg(knowledge)
        .args(args)
        .env_remove("SWITCHBOARD_PLUGINS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("binary ends")
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("`id -u` runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The data directory seen read-only, undone when dropped.
struct ReadOnlyView {
    path: PathBuf,
    mounted: bool,
    original: PathBuf,
}

impl ReadOnlyView {
    fn of(dir: &Path, scratch: &Path) -> Self {
        if is_root() {
            let mount = scratch.join("read-only-view");
            std::fs::create_dir_all(&mount).unwrap();
            let run = |args: &[&str]| {
                let out = Command::new("mount").args(args).output().expect("`mount` runs");
                assert!(
                    out.status.success(),
                    "a read-only bind mount is needed to test a read-only data directory as root: mount {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let (from, to) = (dir.to_str().unwrap(), mount.to_str().unwrap());
            run(&["--bind", from, to]);
            let view = ReadOnlyView {
                path: mount.clone(),
                mounted: true,
                original: dir.to_path_buf(),
            };
            run(&["-o", "remount,bind,ro", to]);
            view
        } else {
            set_writable(dir, false);
            ReadOnlyView {
                path: dir.to_path_buf(),
                mounted: false,
                original: dir.to_path_buf(),
            }
        }
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.path).status();
        } else {
            set_writable(&self.original, true);
        }
    }
}

fn set_writable(path: &Path, writable: bool) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            set_writable(&entry.path(), writable);
        }
    }
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_readonly(!writable);
    let _ = std::fs::set_permissions(path, perms);
}

#[test]
fn a_read_only_data_directory_still_answers_and_lets_staff_read() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let knowledge = scratch.path().join("knowledge");
    copy_dir(&repo("knowledge"), &knowledge);
    let handoff = switchboard(
        &data,
        &knowledge,
        &["chat"],
        "please call me back about our invoice\n",
    );
    assert!(handoff.status.success(), "{handoff:?}");
    assert!(
        String::from_utf8_lossy(&handoff.stdout).contains("T-1"),
        "{handoff:?}"
    );

    let view = ReadOnlyView::of(&data, scratch.path());
    let ro = view.path.clone();
    // The stored index is opened as it is: no lock file, no rebuild, no warning.
    let question = "what happens to our access if we do not pay an invoice?";
    let out = switchboard(&ro, &knowledge, &["ask", question], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("en-us/billing-policy.md#nonpayment"), "{stdout}");
    assert!(!stderr.contains("memory only"), "{stderr}");
    let out = switchboard(&ro, &knowledge, &["search", "invoice"], "");
    assert!(out.status.success(), "{out:?}");

    // Staff read; a write says why it cannot be done.
    let staff = ["tickets", "--as", "anna", "--role", "global-admin"];
    let list = switchboard(&ro, &knowledge, &[&staff[..], &["list"]].concat(), "");
    assert!(list.status.success(), "{list:?}");
    assert!(String::from_utf8_lossy(&list.stdout).contains("T-1"), "{list:?}");
    let show = switchboard(&ro, &knowledge, &[&staff[..], &["show", "T-1"]].concat(), "");
    assert!(show.status.success(), "{show:?}");
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("please call me back about our invoice"),
        "{show:?}"
    );
    let claim = switchboard(&ro, &knowledge, &[&staff[..], &["claim", "T-1"]].concat(), "");
    assert!(!claim.status.success(), "{claim:?}");
    assert!(
        String::from_utf8_lossy(&claim.stderr).contains("cannot be written"),
        "{claim:?}"
    );

    // Guidance changed since the index was stored: built in memory, said so, answered.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(knowledge.join("en-us/billing-policy.md"))
        .unwrap();
    writeln!(
        file,
        "\n## Read-only note\n\nA section added after the index was stored."
    )
    .unwrap();
    let out = switchboard(&ro, &knowledge, &["ask", question], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("en-us/billing-policy.md#nonpayment"), "{stdout}");
    assert!(stderr.contains("memory only"), "{stderr}");
    drop(view);
}
