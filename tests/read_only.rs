//! A data directory that cannot be written (a read-only mount, a restored backup): customers
//! are still answered from the stored index (or one built in memory when the guidance changed),
//! staff still list and read tickets, and every write fails with a message that says why.
//!
//! As root (CI), permissions do not stop writes, so the data directory is bind-mounted read-only,
//! or where mounting is not allowed, handed to `nobody` without write permission and the commands
//! run as `nobody`; elsewhere its permissions are taken away. It never skips.

#[path = "support/files.rs"]
mod files;
use files::copy_dir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

/// How the data directory is made read-only.
enum Means {
    /// A read-only bind mount of it (root).
    Mount,
    /// Commands run as `nobody` over a directory `nobody` owns without write permission (root,
    /// where mounting is not allowed).
    Nobody,
    /// Its permissions taken away (not root).
    Permissions,
}

/// The data directory seen read-only, undone when dropped.
struct ReadOnlyView {
    path: PathBuf,
    means: Means,
    original: PathBuf,
}

const NOBODY: &str = "65534";

impl ReadOnlyView {
    fn of(dir: &Path, scratch: &Path) -> Self {
        if !is_root() {
            set_writable(dir, false);
            return ReadOnlyView {
                path: dir.to_path_buf(),
                means: Means::Permissions,
                original: dir.to_path_buf(),
            };
        }
        let mount = scratch.join("read-only-view");
        std::fs::create_dir_all(&mount).unwrap();
        let (from, to) = (dir.to_str().unwrap(), mount.to_str().unwrap());
        let bound = Command::new("mount")
            .args(["--bind", from, to])
            .status()
            .is_ok_and(|s| s.success());
        if bound {
            let view = ReadOnlyView {
                path: mount.clone(),
                means: Means::Mount,
                original: dir.to_path_buf(),
            };
            let out = Command::new("mount")
                .args(["-o", "remount,bind,ro", to])
                .output()
                .expect("`mount` runs");
            assert!(out.status.success(), "remount read-only: {out:?}");
            return view;
        }
        // No mounting here: the data directory goes to `nobody`, without write permission.
        for path in [scratch, &scratch.join("knowledge")] {
            let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(path).status();
        }
        let owned = Command::new("chown")
            .args(["-R", &format!("{NOBODY}:{NOBODY}")])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            owned,
            "neither a bind mount nor chown to nobody is possible as root"
        );
        set_writable(dir, false);
        ReadOnlyView {
            path: dir.to_path_buf(),
            means: Means::Nobody,
            original: dir.to_path_buf(),
        }
    }

    /// `switchboard` with `args` on the read-only data directory.
    fn run(&self, knowledge: &Path, args: &[&str]) -> Output {
        let command = match self.means {
            Means::Nobody => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
                    .arg(env!("CARGO_BIN_EXE_switchboard"));
                c
            }
            Means::Mount | Means::Permissions => Command::new(env!("CARGO_BIN_EXE_switchboard")),
        };
        switchboard_with(command, &self.path, knowledge, args, "")
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        match self.means {
            Means::Mount => {
                let _ = Command::new("umount").arg(&self.path).status();
            }
            Means::Nobody | Means::Permissions => set_writable(&self.original, true),
        }
    }
}

fn switchboard(data: &Path, knowledge: &Path, args: &[&str], stdin: &str) -> Output {
    switchboard_with(
        Command::new(env!("CARGO_BIN_EXE_switchboard")),
        data,
        knowledge,
        args,
        stdin,
    )
}

fn switchboard_with(
    mut command: Command,
    data: &Path,
    knowledge: &Path,
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut child = command
        .arg("--data-dir")
        .arg(data)
        .arg("--knowledge")
        .arg(knowledge)
        .args(args)
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL")
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

/// A copy of the bundled knowledge under `scratch`, and ticket T-1 in `data` (a handoff in the
/// terminal chat); returns the knowledge root.
fn with_a_ticket(data: &Path, scratch: &Path) -> PathBuf {
    let knowledge = scratch.join("knowledge");
    copy_dir(&repo("knowledge"), &knowledge);
    let handoff = switchboard(
        data,
        &knowledge,
        &["chat"],
        "please call me back about our invoice\n",
    );
    assert!(handoff.status.success(), "{handoff:?}");
    assert!(
        String::from_utf8_lossy(&handoff.stdout).contains("T-1"),
        "{handoff:?}"
    );
    knowledge
}

#[test]
fn a_read_only_data_directory_still_answers_and_lets_staff_read() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let knowledge = with_a_ticket(&data, scratch.path());

    let view = ReadOnlyView::of(&data, scratch.path());
    // Answered from the guidance; whether the index had to be built in memory, said or not.
    let answers = |built_in_memory: bool| {
        let question = "what happens to our access if we do not pay an invoice?";
        let out = view.run(&knowledge, &["ask", question]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("en-us/billing-policy.md#nonpayment"), "{stdout}");
        assert_eq!(stderr.contains("memory only"), built_in_memory, "{stderr}");
    };
    // The stored index is opened as it is: no lock file, no rebuild, no warning.
    answers(false);
    let out = view.run(&knowledge, &["search", "invoice"]);
    assert!(out.status.success(), "{out:?}");

    // Staff read; a write says why it cannot be done.
    let staff = ["tickets", "--as", "anna", "--role", "global-admin"];
    let list = view.run(&knowledge, &[&staff[..], &["list"]].concat());
    assert!(list.status.success(), "{list:?}");
    assert!(String::from_utf8_lossy(&list.stdout).contains("T-1"), "{list:?}");
    let show = view.run(&knowledge, &[&staff[..], &["show", "T-1"]].concat());
    assert!(show.status.success(), "{show:?}");
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("please call me back about our invoice"),
        "{show:?}"
    );
    let claim = view.run(&knowledge, &[&staff[..], &["claim", "T-1"]].concat());
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
    answers(true);
    drop(view);
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a 16 MB tmpfs at `dir` (room for a data directory: the cached intent model alone
    /// is about 2 MB); `None` where mounting is not allowed.
    fn mount(dir: &Path) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = is_root()
            && Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk(dir.to_path_buf()))
    }

    /// Fills what is left of it.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_only_writes_and_says_why() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&scratch.path().join("disk")) else {
        eprintln!("skipped: mounting a small tmpfs needs root with mount permission");
        return;
    };
    let data = disk.0.join("data");
    let knowledge = with_a_ticket(&data, scratch.path());
    disk.fill();

    let question = "what happens to our access if we do not pay an invoice?";
    let out = switchboard(&data, &knowledge, &["ask", question], "");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("billing-policy.md#nonpayment"));
    let staff = ["tickets", "--as", "anna", "--role", "global-admin"];
    let list = switchboard(&data, &knowledge, &[&staff[..], &["list"]].concat(), "");
    assert!(list.status.success(), "{list:?}");
    assert!(String::from_utf8_lossy(&list.stdout).contains("T-1"), "{list:?}");
    let claim = switchboard(&data, &knowledge, &[&staff[..], &["claim", "T-1"]].concat(), "");
    assert!(!claim.status.success(), "{claim:?}");
    assert!(
        String::from_utf8_lossy(&claim.stderr).contains("cannot be written"),
        "{claim:?}"
    );
    // The customer is told the message could not be saved (and it stays in the session).
    let again = switchboard(&data, &knowledge, &["chat"], "please call me back again\n");
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("could not save"),
        "{again:?}"
    );
}
