//! Answer quality on ../shared/eval/dev.toml through the shipped binary, gated per language
//! with `eval --fail-under` at the acceptance levels of the answer-quality issue that this
//! build meets (README, "Answer quality"). A change that loses them fails here, not in a
//! note. Skips with a message where ../shared is absent. The bundled guidance has its own
//! regression set, which always runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.join("eval/dev.toml").is_file().then_some(dir)
}

/// `switchboard eval` on a case file over ../shared/corpus, in a fresh data dir.
fn eval_cases(shared: &Path, cases: &Path, args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .arg("--knowledge")
        .arg(shared.join("corpus"))
        .arg("eval")
        .arg("--cases")
        .arg(cases)
        .args(args)
        .output()
        .expect("switchboard runs")
}

/// `switchboard eval` on ../shared/eval/dev.toml.
fn eval_dev(shared: &Path, args: &[&str]) -> std::process::Output {
    eval_cases(shared, &shared.join("eval/dev.toml"), args)
}

#[test]
fn dev_set_meets_the_gates_per_language() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/eval/dev.toml not found beside the repository");
        return;
    };
    let gates = [
        // What the shipped build reaches, less one case (48 answer questions and 80 cases per
        // language): hit@1 0.812 / 0.771, hit@3 0.875 / 0.875, decision 0.875 / 0.900.
        "de.hit_at_1=0.77",
        "en.hit_at_1=0.72",
        "de.hit_at_3=0.85",
        "en.hit_at_3=0.85",
        "de.decision_accuracy=0.86",
        "en.decision_accuracy=0.88",
        "de.answer_precision=0.95",
        "en.answer_precision=0.85",
        "de.answer_coverage=0.16",
        "en.answer_coverage=0.18",
        "de.handoff_recall=0.85",
        "en.handoff_recall=0.95",
        "de.out_of_scope_recall=0.90",
        "en.out_of_scope_recall=0.90",
    ]
    .join(",");
    let out = eval_dev(&shared, &["--fail-under", &gates]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "eval below its gates:\n{stderr}\n{stdout}");
    assert!(
        stdout.contains("switchboard (de)") && stdout.contains("switchboard (en)"),
        "{stdout}"
    );
}

/// The second development set (real-world messages, more handoffs and out-of-scope ones) at
/// what the learnt intents and the arbiter reach; the arbiter was fitted on dev and dev-2, so
/// this is a regression gate, and `eval --fit-arbiter` prints the cross-validated figures.
#[test]
fn second_dev_set_meets_the_gates_per_language() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/eval/dev-2.toml not found beside the repository");
        return;
    };
    let gates = [
        // What the shipped build reaches, less one case where a case sits at a threshold
        // (30 answer questions and 60 cases per language): decision 0.800 / 0.817, coverage
        // 0.200 / 0.067 (0.300 / 0.067 before the fourth batch of out-of-scope examples, which
        // turned a few answers into suggestions; cross-validated over both sets coverage rose),
        // handoff 0.80 / 0.85, out of scope 0.90 / 0.90, hit@3 0.767 / 0.800.
        "de.decision_accuracy=0.78",
        "en.decision_accuracy=0.80",
        "de.answer_precision=0.95",
        "en.answer_precision=0.90",
        "de.answer_coverage=0.16",
        "en.answer_coverage=0.03",
        "de.handoff_recall=0.80",
        "en.handoff_recall=0.80",
        "de.out_of_scope_recall=0.85",
        "en.out_of_scope_recall=0.85",
        "de.hit_at_3=0.75",
        "en.hit_at_3=0.78",
    ]
    .join(",");
    let out = eval_cases(
        &shared,
        &shared.join("eval/dev-2.toml"),
        &["--fail-under", &gates],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "eval below its gates:\n{stderr}\n{stdout}");
    assert!(
        stdout.contains("decisions (de): handoff to the right queue"),
        "{stdout}"
    );
}

/// Our own guidance keeps answering the questions it was written for (the bundled regression
/// set; runs without ../shared). Every case must get the right outcome, every confident answer
/// the right page.
#[test]
fn bundled_guidance_keeps_answering_its_regression_questions() {
    let data = tempfile::tempdir().expect("temp dir");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/eval/bundled.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .arg("eval")
        .arg("--cases")
        .arg(&cases)
        .arg("--fail-under")
        .arg("decision_accuracy=1.0,answer_precision=1.0,de.hit_at_1=0.9,en.hit_at_1=0.9")
        .output()
        .expect("switchboard runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bundled regression set below its gates:\n{stderr}\n{stdout}"
    );
}

/// With one typo in each question (`eval --typos`), decisions and retrieval still hold at the
/// issue's decision level: typo correction, typo-tolerant thesaurus keys and intents at work.
#[test]
fn dev_set_with_typos_keeps_its_decisions() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/eval/dev.toml not found beside the repository");
        return;
    };
    let out = eval_dev(
        &shared,
        &[
            "--typos",
            "1",
            "--fail-under",
            "de.decision_accuracy=0.73,en.decision_accuracy=0.81,de.hit_at_3=0.80,en.hit_at_3=0.80",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "eval with typos below its gates:\n{stderr}\n{stdout}"
    );
    assert!(stderr.contains("one typo put into each question"), "{stderr}");
}

/// The dev set with each question rewritten by `rewrite`, as a case file in `dir`.
fn dev_variant(shared: &Path, dir: &Path, rewrite: impl Fn(&switchboard_eval::Case) -> String) -> PathBuf {
    #[derive(serde::Serialize)]
    struct CaseFile {
        case: Vec<switchboard_eval::Case>,
    }
    let cases = switchboard_eval::load_cases(&shared.join("eval/dev.toml")).expect("dev cases");
    let case = cases
        .iter()
        .map(|c| switchboard_eval::Case {
            question: rewrite(c),
            ..c.clone()
        })
        .collect();
    let path = dir.join("variant.toml");
    std::fs::write(&path, toml::to_string(&CaseFile { case }).expect("toml")).expect("write");
    path
}

/// `eval --json` on a case file over ../shared/corpus.
fn eval_json(shared: &Path, cases: &Path) -> serde_json::Value {
    let out = eval_cases(shared, cases, &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("eval --json prints one object")
}

/// Customers without a German keyboard, customers who greet and sign off, sign with a mail
/// signature, announce their question, leave out question marks or mention the bot on Discord
/// get what the questions as written get: per language, each variant loses at most one case on any figure.
#[test]
fn dev_set_in_other_spellings_or_with_greetings_keeps_its_figures() {
    let Some(shared) = shared() else {
        eprintln!("skipped: ../shared/eval/dev.toml not found beside the repository");
        return;
    };
    let plain_vowels = |c: &switchboard_eval::Case| {
        c.question
            .replace(['ä', 'Ä'], "a")
            .replace(['ö', 'Ö'], "o")
            .replace(['ü', 'Ü'], "u")
            .replace('ß', "ss")
    };
    let greeted = |c: &switchboard_eval::Case| match c.lang {
        switchboard_knowledge::Language::De => {
            format!("Hallo zusammen, {} Danke und viele Grüße", c.question)
        }
        switchboard_knowledge::Language::En => format!("Hi team, {} Thanks a lot, regards", c.question),
    };
    let plain = eval_json(&shared, &shared.join("eval/dev.toml"));
    // One of the 48 answer questions of a language.
    let one_case = 1.0 / 48.0 + 1e-9;
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().expect("dir")).collect();
    for (name, got) in [
        (
            "without umlauts",
            dev_variant(&shared, dirs[0].path(), plain_vowels),
        ),
        ("with greetings", dev_variant(&shared, dirs[1].path(), greeted)),
    ]
    .into_iter()
    .map(|(name, variant)| (name, eval_json(&shared, &variant)))
    .chain(
        ["umlauts", "signature", "announced", "no-question-marks"].map(|kind| {
            let out = eval_cases(
                &shared,
                &shared.join("eval/dev.toml"),
                &["--json", "--rewrite", kind],
            );
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            (
                kind,
                serde_json::from_slice(&out.stdout).expect("eval --json prints one object"),
            )
        }),
    ) {
        for lang in ["de", "en"] {
            for metric in ["hit_at_1", "hit_at_3", "decision_accuracy", "answer_coverage"] {
                let (p, v) = (
                    plain["by_lang"][lang][metric].as_f64().expect("figure"),
                    got["by_lang"][lang][metric].as_f64().expect("figure"),
                );
                assert!(
                    v >= p - one_case,
                    "dev {name}, {lang} {metric}: {v:.3} against {p:.3} as written"
                );
            }
        }
    }
}
