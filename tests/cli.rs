//! The `switchboard` binary end to end: check, ask, search, index, on temporary folders.

#[path = "support/files.rs"]
mod files;
use files::{copy_dir, write_guidance_defining};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn switchboard(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .output()
        .expect("binary runs")
}

/// A copy of the bundled knowledge and plugins with one broken file in each.
fn broken_setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("knowledge");
    let plugins = dir.path().join("plugins");
    copy_dir(&repo("knowledge"), &knowledge);
    copy_dir(&repo("plugins"), &plugins);
    std::fs::write(
        knowledge.join("en-us/broken.md"),
        "---\ntitle: [oops\n  x: : y\n---\n# Broken\n\nText.\n",
    )
    .unwrap();
    std::fs::write(
        knowledge.join("en-us/linking.md"),
        "# Linking\n\nText.\n\n## Moved\n\nSee [the old page](renamed-page.md#part) and [billing](billing-policy.md).\n",
    )
    .unwrap();
    std::fs::create_dir_all(plugins.join("broken")).unwrap();
    std::fs::write(
        plugins.join("broken/plugin.toml"),
        "name = 'broken'\n[[intents]]\nname = 'x'\naction = 'handoff'\nqueue = 'billing'\npatterns.en = ['(?P<unclosed']\n",
    )
    .unwrap();
    std::fs::create_dir_all(plugins.join("vocabulary")).unwrap();
    std::fs::write(
        plugins.join("vocabulary/plugin.toml"),
        "name = 'vocabulary'\n[thesaurus.en]\n\"dunning\" = \"nonpayment Mahnwesen\"\n",
    )
    .unwrap();
    (dir, knowledge, plugins)
}

/// Runs the binary on the broken setup's knowledge and plugins.
fn with_broken_setup(args: &[&str]) -> Output {
    let (dir, knowledge, plugins) = broken_setup();
    let mut all = vec![
        "--knowledge",
        knowledge.to_str().unwrap(),
        "--plugins",
        plugins.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    switchboard(&dir.path().join("data"), &all)
}

#[test]
fn check_names_the_broken_plugin_and_guidance_file_and_fails() {
    let out = with_broken_setup(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("broken.md:3: invalid YAML"), "{stdout}");
    assert!(
        stdout.contains("broken/plugin.toml: intents[0].patterns.en[0]"),
        "{stdout}"
    );
    assert!(stdout.contains("plugins: 6 loaded"), "{stdout}");
    // A thesaurus word the guidance never uses is counted in a note (it may serve other
    // knowledge), and named with its plugin on request; a word it uses is not.
    assert!(
        stdout.contains("note: ") && stdout.contains("check --verbose"),
        "{stdout}"
    );
    let verbose = with_broken_setup(&["check", "--verbose"]);
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    assert!(
        verbose.contains("note: ") && verbose.contains("vocabulary/plugin.toml: thesaurus.en: 1 guidance word(s) occur in no `en` guidance file and find nothing: Mahnwesen"),
        "{verbose}"
    );
    // A link to a guidance file that does not exist is a warning with file and line; the link
    // to an existing file is not.
    assert!(
        stdout.contains("warning: en-us/linking.md:5: link `renamed-page.md#part`"),
        "{stdout}"
    );
    assert!(!stdout.contains("billing-policy.md`"), "{stdout}");
}

#[test]
fn eval_switches_layers_off_by_name_and_adds_them_in_turn() {
    let data = tempfile::tempdir().unwrap();
    let cases = repo("tests/fixtures/eval/tiny.toml");
    let cases = cases.to_str().unwrap();
    let out = switchboard(data.path(), &["eval", "--cases", cases, "--layers"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let steps = [
        "plain search, always answer",
        "+ coverage re-ranking",
        "+ document priors",
        "+ thesaurus",
        "+ link authority",
        "+ intents",
        "+ confidence (full)",
    ];
    for step in steps {
        assert!(stdout.contains(&format!("| {step} (all)")), "{step}: {stdout}");
    }
    let out = switchboard(
        data.path(),
        &["eval", "--cases", cases, "--without", "links,thesaurus", "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(report["cases"].as_u64().unwrap() > 0);
    let out = switchboard(
        data.path(),
        &["eval", "--cases", cases, "--without", "links,bogus"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("unknown layer `bogus`") && stderr.contains("links"),
        "{stderr}"
    );
}

#[test]
fn ask_still_works_beside_broken_files() {
    let out = with_broken_setup(&[
        "ask",
        "what happens to our access if we do not pay an invoice?",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken/plugin.toml"),
        "the problem is reported"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"], "answer");
    assert_eq!(
        json["citations"][0]["citation"],
        "en-us/billing-policy.md#nonpayment"
    );
}

#[test]
fn ask_explain_prints_the_trace() {
    let data = tempfile::tempdir().unwrap();
    let out = switchboard(
        data.path(),
        &[
            "ask",
            "Wir wurden doppelt abgebucht, 1.234,56 €, bitte erstatten",
            "--explain",
            "--at",
            "2026-11-28T11:00:00Z",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "language:    de",
        "billing/refund-or-dispute",
        "learnt:      billing/refund-or-dispute",
        "deciding:",
        "1234.56",
        "confidence:",
        "reason:",
        // A German handoff is reported in German, like the reply; the summary is for staff.
        "[Übergabe] Team: Abrechnungsteam (`billing`, jetzt geschlossen)",
        "[Übergabe] Servicezeiten: Mo-Fr 09:00-17:00",
    ] {
        assert!(stdout.contains(needle), "missing `{needle}` in\n{stdout}");
    }
    assert!(
        !stdout.contains("closed now") && !stdout.contains("mon-fri"),
        "{stdout}"
    );
}

#[test]
fn search_json_is_stable() {
    let data = tempfile::tempdir().unwrap();
    let out = switchboard(
        data.path(),
        &[
            "search",
            "abrechnungs support",
            "--lang",
            "de",
            "--json",
            "--limit",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["language"], "de");
    let first = &json["results"][0];
    for key in [
        "citation", "doc_path", "anchor", "title", "heading", "snippet", "score", "language", "products",
        "roles", "line",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert!(first["doc_path"].as_str().unwrap().starts_with("de-de/"));
}

#[test]
fn index_reports_skipped_files_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("k");
    std::fs::create_dir_all(&knowledge).unwrap();
    std::fs::write(knowledge.join("ok.md"), "# Fine\n\nSome guidance.\n").unwrap();
    std::fs::write(knowledge.join("bin.md"), b"\x00\x01\x02").unwrap();
    std::fs::write(knowledge.join("bad.md"), b"# T\n\xff\xfe\n").unwrap();
    let out = switchboard(
        &dir.path().join("data"),
        &["--knowledge", knowledge.to_str().unwrap(), "index"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("files:     1"), "{stdout}");
    assert!(stdout.contains("bin.md: binary file"), "{stdout}");
    assert!(stdout.contains("bad.md: invalid UTF-8 at line 2"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["search", "invoice"])
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // Close the reading end before the first line is written, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "killed by SIGPIPE like other Unix tools: {stderr}"
    );
}

#[test]
fn learnt_intents_are_trained_once_and_read_back_from_the_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let question = [
        "ask",
        "please refund the two licences we cancelled yesterday",
        "--json",
        "--at",
        "2026-11-27T10:00:00Z",
    ];
    let first = switchboard(data.path(), &question);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stored: Vec<PathBuf> = std::fs::read_dir(data.path().join("intent-models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        stored.len(),
        1,
        "one model, named by its training data: {stored:?}"
    );
    let second = switchboard(data.path(), &question);
    assert_eq!(
        first.stdout, second.stdout,
        "the stored model decides as the trained one"
    );
    // A damaged model is not trusted: the next start trains again and replaces it.
    std::fs::write(&stored[0], b"damaged").unwrap();
    let third = switchboard(data.path(), &question);
    assert_eq!(first.stdout, third.stdout);
    assert!(std::fs::metadata(&stored[0]).unwrap().len() > 1000);
}

#[test]
fn numeric_flags_out_of_range_are_clear_errors() {
    let data = tempfile::tempdir().unwrap();
    let purge = |days: &'static str| {
        [
            "tickets",
            "--as",
            "root",
            "--role",
            "global-admin",
            "purge",
            "--older-than-days",
            days,
        ]
    };
    for args in [
        &purge("9223372036854775807")[..],
        &purge("0")[..],
        &["chat", "--reopen-hours", "99999999999"][..],
    ] {
        let out = switchboard(data.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is not in"), "{args:?}: {stderr}");
    }
}

#[test]
fn staff_commands_never_open_or_build_the_index() {
    let data = tempfile::tempdir().unwrap();
    let out = switchboard(
        data.path(),
        &["tickets", "--as", "root", "--role", "global-admin", "list"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No tickets"));
    let entries: Vec<String> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.iter().all(|e| e.starts_with("tickets.sqlite3")),
        "only the ticket database: {entries:?}"
    );
}

#[test]
fn concurrent_processes_after_a_guidance_edit_all_succeed_and_leave_one_generation() {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("knowledge");
    copy_dir(&repo("knowledge"), &knowledge);
    let data = dir.path().join("data");
    let ask = |question: &str| {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("--data-dir")
            .arg(&data)
            .arg("--knowledge")
            .arg(&knowledge)
            .args(["ask", question])
            .env_remove("SWITCHBOARD_PLUGINS")
            .env_remove("SWITCHBOARD_DATABASE_URL")
            .spawn()
            .expect("binary runs")
    };
    assert!(ask("what happens if we do not pay?").wait().unwrap().success());
    std::fs::write(
        knowledge.join("en-us/new-page.md"),
        "# Quokka policy\n\n## Quokkas\n\nQuokka invoices arrive on Mondays.\n",
    )
    .unwrap();
    let children: Vec<_> = (0..16).map(|_| ask("when do quokka invoices arrive?")).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "every process succeeds");
    }
    let homes: Vec<PathBuf> = std::fs::read_dir(data.join("indexes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        homes.len(),
        1,
        "one index home, no temporaries beside it: {homes:?}"
    );
    let mut entries: Vec<String> = std::fs::read_dir(&homes[0])
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries.len(),
        5,
        "CURRENT, build.lock, the stat cache, one generation and the record of its checksums \
         (no temporaries): {entries:?}"
    );
    assert!(entries.contains(&"stat-cache.json".to_string()), "{entries:?}");
    let generation = entries
        .iter()
        .find(|e| e.starts_with("gen-") && !e.contains('.'))
        .expect("one generation");
    assert!(
        entries.contains(&format!("{generation}.verified.json")),
        "{entries:?}"
    );
}

#[test]
fn a_missing_knowledge_root_is_an_error_naming_it() {
    let data = tempfile::tempdir().unwrap();
    for command in [&["ask", "hello"][..], &["search", "invoice"][..], &["index"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["--knowledge", "/no/such/folder"])
            .args(command)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("/no/such/folder"), "{command:?}: {stderr}");
    }
}

#[test]
fn the_support_model_can_come_from_a_configured_file_and_a_missing_one_fails_closed() {
    let data = tempfile::tempdir().unwrap();
    let support = data.path().join("support.toml");
    let bundled = std::fs::read_to_string(repo("plugins/support/support.toml")).unwrap();
    let ours = bundled.replace("Contoso Cloud Services", "Fabrikam Cloud");
    assert_ne!(ours, bundled, "the bundled model names its partner");
    std::fs::write(&support, ours).unwrap();
    let support_arg = support.to_str().unwrap();
    let out = switchboard(
        data.path(),
        &[
            "--support",
            support_arg,
            "ask",
            "please call me back about our invoice",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Fabrikam Cloud"), "{stdout}");
    assert!(!stdout.contains("Contoso"), "{stdout}");

    let missing = data.path().join("missing.toml");
    let missing_arg = missing.to_str().unwrap();
    let check = switchboard(data.path(), &["--support", missing_arg, "check"]);
    assert!(!check.status.success(), "{check:?}");
    let report = String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
    assert!(
        report.contains("missing.toml") && report.contains("--support"),
        "{report}"
    );
    // Staff may not act on any queue while the configured model is missing: a ticket that the
    // configured model lets a global admin see is not listed.
    let mut chat = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["--support", support_arg, "chat"])
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut chat.stdin.take().unwrap(),
        b"please call me back about our invoice\n",
    )
    .unwrap();
    assert!(chat.wait_with_output().unwrap().status.success());
    let staff = ["tickets", "--as", "anna", "--role", "global-admin", "list"];
    let listed = switchboard(data.path(), &[&["--support", support_arg][..], &staff].concat());
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("T-1"),
        "{listed:?}"
    );
    let claim = switchboard(
        data.path(),
        &[
            "--support",
            missing_arg,
            "tickets",
            "--as",
            "anna",
            "--role",
            "global-admin",
            "list",
        ],
    );
    let listed = String::from_utf8_lossy(&claim.stdout);
    assert!(listed.contains("No tickets in your queues"), "{claim:?}");
    assert!(
        String::from_utf8_lossy(&claim.stderr).contains("staff actions are refused"),
        "{claim:?}"
    );
}

#[test]
fn one_shot_output_asks_nothing_it_cannot_read_and_piped_search_has_no_markers() {
    let data = tempfile::tempdir().unwrap();
    let out = switchboard(
        data.path(),
        &["ask", "Innerhalb welcher Frist kann ich ein Abonnement kündigen?"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("de-de/kuendigung.md#window"), "{text}");
    assert!(!text.contains("hilfreich"), "ask cannot read an answer: {text}");
    // Piped (not a terminal): the matched words are plain text, not Markdown markers.
    let out = switchboard(data.path(), &["search", "refund"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("refund"), "{text}");
    assert!(!text.contains("**") && !text.contains('\u{1b}'), "{text}");
}

#[test]
fn the_repository_as_shipped_checks_clean() {
    let data = tempfile::tempdir().unwrap();
    let out = switchboard(data.path(), &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    assert!(
        !stdout.contains("warning") && !stdout.contains("error"),
        "the bundled knowledge and plugins have nothing to warn about: {stdout}"
    );
}

/// `check` says what the guidance taught the search: the abbreviations it defines, counted, and
/// listed with `--verbose`.
#[test]
fn check_lists_the_abbreviations_the_guidance_defines() {
    let data = tempfile::tempdir().unwrap();
    let knowledge = tempfile::tempdir().unwrap();
    write_guidance_defining(
        knowledge.path(),
        "# Revenue\n\nRevenue is attributed through Partner Admin Link (PAL).\n\n\
         ## Columns\n\nEach row names the Partner Admin Link (PAL) attribution.\n",
    );
    let root = knowledge.path().to_str().unwrap();
    let out = switchboard(data.path(), &["--knowledge", root, "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("abbreviations: 1 defined by the guidance"),
        "{stdout}"
    );
    let out = switchboard(data.path(), &["--knowledge", root, "check", "--verbose"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("abbreviation (en): pal = partner admin link"),
        "{stdout}"
    );
}
