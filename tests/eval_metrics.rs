//! The eval metrics on a tiny case file, every figure computed by hand; the typo perturbation.

use switchboard_core::Outcome;
use switchboard_eval::{
    calibration, load_cases, parse_thresholds, report, shortfalls, with_typos, Case, CaseResult,
};

fn cases() -> Vec<Case> {
    load_cases(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/eval/tiny.toml"))
        .unwrap()
}

/// A result as the router might have produced it.
fn result(case: &Case, outcome: Outcome, queue: Option<&str>, cited: &[&str], ranked: &[&str]) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        lang: case.lang,
        expect: case.expect,
        outcome,
        queue: queue.map(str::to_string),
        cited: cited.iter().map(|s| (*s).to_string()).collect(),
        ranked_docs: ranked.iter().map(|s| (*s).to_string()).collect(),
        docs: case.docs.clone(),
        expected_queue: case.queue.clone(),
        confidence: 0.5,
        answer_probability: 0.5,
        signals: Vec::new(),
        learnt_intents: Vec::new(),
    }
}

fn results() -> Vec<CaseResult> {
    let c = cases();
    vec![
        // en-1: answered from the right document, ranked first.
        result(
            &c[0],
            Outcome::Answer,
            None,
            &["en-us/a.md"],
            &["en-us/a.md", "en-us/x.md"],
        ),
        // en-2: suggested; the right document is ranked third.
        result(
            &c[1],
            Outcome::Suggest,
            None,
            &["en-us/x.md", "en-us/y.md", "en-us/c.md"],
            &["en-us/x.md", "en-us/y.md", "en-us/c.md"],
        ),
        // en-3: handoff expected, but answered (a confident wrong answer).
        result(&c[2], Outcome::Answer, None, &["en-us/b.md"], &["en-us/b.md"]),
        // de-1: answered from a wrong document; the right one is ranked second.
        result(
            &c[3],
            Outcome::Answer,
            None,
            &["de-de/z.md"],
            &["de-de/z.md", "de-de/a.md"],
        ),
        // de-2: declined, as expected.
        result(&c[4], Outcome::Decline, None, &[], &[]),
        // de-3: handed off to the wrong queue.
        result(&c[5], Outcome::Handoff, Some("billing"), &[], &[]),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn overall_figures() {
    let r = report(results());
    let m = r.overall;
    assert_eq!(m.cases, 6);
    // Answer cases: en-1 (rank 1), en-2 (rank 3), de-1 (rank 2).
    assert!(close(m.hit_at_1, 1.0 / 3.0), "{m:?}");
    assert!(close(m.hit_at_3, 1.0));
    assert!(close(m.mrr_at_10, (1.0 + 1.0 / 3.0 + 0.5) / 3.0));
    // Right outcomes: en-1, en-2 (suggest citing c.md), de-2.
    assert!(close(m.decision_accuracy, 3.0 / 6.0));
    // Confident answers: en-1 (right), en-3 (wrong: a handoff case), de-1 (wrong document).
    assert!(close(m.answer_precision, 1.0 / 3.0));
    // Of three answer cases, only en-1 was answered confidently and correctly.
    assert!(close(m.answer_coverage, 1.0 / 3.0));
}

#[test]
fn per_language_figures() {
    let r = report(results());
    let en = r.by_lang["en"];
    assert_eq!(en.cases, 3);
    assert!(close(en.hit_at_1, 0.5) && close(en.hit_at_3, 1.0));
    assert!(close(en.decision_accuracy, 2.0 / 3.0));
    assert!(close(en.answer_precision, 0.5));
    assert!(close(en.answer_coverage, 0.5));
    let de = r.by_lang["de"];
    assert!(close(de.hit_at_1, 0.0) && close(de.hit_at_3, 1.0) && close(de.mrr_at_10, 0.5));
    assert!(close(de.decision_accuracy, 1.0 / 3.0));
    assert!(close(de.answer_precision, 0.0) && close(de.answer_coverage, 0.0));
}

#[test]
fn failures_say_what_happened() {
    let r = report(results());
    let ids: Vec<&str> = r.failures.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["en-3", "de-1", "de-3"]);
    let de3 = &r.failures[2];
    assert_eq!(de3.expected, "handoff to technical");
    assert_eq!(de3.got, "handoff to billing");
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "cases",
        "hit_at_1",
        "hit_at_3",
        "mrr_at_10",
        "decision_accuracy",
        "answer_precision",
        "answer_coverage",
        "by_lang",
        "failures",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from JSON");
    }
    assert!(json["by_lang"]["de"]["hit_at_3"].is_number());
}

#[test]
fn fail_under_names_the_shortfall() {
    let r = report(results());
    let t = parse_thresholds("hit_at_3=1.0,decision_accuracy=0.9").unwrap();
    assert_eq!(shortfalls(&r, &t), ["decision_accuracy = 0.500 < 0.9"]);
    assert!(parse_thresholds("hit_at_7=0.5").is_err());
    assert!(parse_thresholds("hit_at_1=high").is_err());
}

#[test]
fn fail_under_per_language() {
    let r = report(results());
    let overall = r.overall.decision_accuracy;
    let de = r.by_lang["de"].decision_accuracy;
    let en = r.by_lang["en"].decision_accuracy;
    assert!(de < en, "the fixture's German cases fare worse: {de} vs {en}");
    // A gate between the two languages' figures fails for German only.
    let gate = f64::midpoint(de, en);
    let t = parse_thresholds(&format!(
        "de.decision_accuracy={gate},en.decision_accuracy={gate}"
    ))
    .unwrap();
    assert_eq!(
        shortfalls(&r, &t),
        [format!("de.decision_accuracy = {de:.3} < {gate}")]
    );
    assert!(shortfalls(
        &r,
        &parse_thresholds(&format!("decision_accuracy={overall}")).unwrap()
    )
    .is_empty());
    assert!(parse_thresholds("fr.hit_at_1=0.5").is_err());
    assert!(parse_thresholds("de.hit_at_7=0.5").is_err());
}

#[test]
fn bad_case_files_are_refused_with_a_reason() {
    let dup = "[[case]]\nid='a'\nlang='en'\nquestion='q'\nexpect='answer'\n[[case]]\nid='a'\nlang='en'\nquestion='q'\nexpect='answer'\n";
    assert!(switchboard_eval::parse_cases(dup)
        .unwrap_err()
        .contains("used twice"));
    let no_queue = "[[case]]\nid='a'\nlang='en'\nquestion='q'\nexpect='handoff'\n";
    assert!(switchboard_eval::parse_cases(no_queue)
        .unwrap_err()
        .contains("no queue"));
    let unknown = "[[case]]\nid='a'\nlang='en'\nquestion='q'\nexpect='answer'\ncolour='red'\n";
    assert!(switchboard_eval::parse_cases(unknown).is_err());
}

#[test]
fn calibration_bands_compare_confidence_with_the_share_right() {
    let mut r = results();
    // en-1 right (top a.md), en-2 wrong top, en-3 a handoff case, de-1 wrong top; de-2 and de-3
    // found no guidance and are left out.
    for (result, confidence) in r.iter_mut().zip([1.0, 0.8, 0.6, 0.55, 0.1, 0.3]) {
        result.confidence = confidence;
    }
    let bands = calibration(&r);
    assert_eq!(bands.len(), 4);
    assert_eq!(bands.iter().map(|b| b.cases).collect::<Vec<_>>(), [0, 0, 2, 2]);
    // Confidences are f32: compare their means to single precision.
    let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(near(bands[2].mean_confidence, 0.575), "{bands:?}");
    assert!(close(bands[2].right, 0.0));
    // The top band holds confidence 1.0 itself.
    assert!(near(bands[3].mean_confidence, 0.9), "{bands:?}");
    assert!(close(bands[3].right, 0.5));
}

#[test]
fn typos_change_one_long_word_per_question_keeping_its_first_letter() {
    let cases = cases();
    let long = Case {
        question: "where do we download the reconciliation files".into(),
        ..cases[0].clone()
    };
    let short = Case {
        question: "who bills us".into(),
        ..cases[0].clone()
    };
    for seed in 0..50 {
        let typed = with_typos(&[long.clone(), short.clone()], seed);
        assert_eq!(
            typed,
            with_typos(&[long.clone(), short.clone()], seed),
            "same seed, same typos"
        );
        assert_eq!(
            typed[1].question, short.question,
            "no word of six letters: unchanged"
        );
        let before: Vec<&str> = long.question.split(' ').collect();
        let after: Vec<&str> = typed[0].question.split(' ').collect();
        assert_eq!(before.len(), after.len());
        let changed: Vec<(&&str, &&str)> = before.iter().zip(&after).filter(|(b, a)| b != a).collect();
        assert_eq!(changed.len(), 1, "seed {seed}: {:?}", typed[0].question);
        let (b, a) = changed[0];
        assert!(b.chars().count() >= 6);
        assert_eq!(b.chars().next(), a.chars().next(), "first letter kept");
        assert!(b.chars().count().abs_diff(a.chars().count()) <= 1);
    }
}
