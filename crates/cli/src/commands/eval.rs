//! `switchboard eval`: measure answers and routing on a case file.

use super::Env;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use switchboard_core::answer_gate::GATE_FEATURE_NAMES;
use switchboard_core::plugins::PerLanguage;
use switchboard_core::policy::{Verdict, ARBITER_FEATURE_NAMES};
use switchboard_core::ranker::RANK_FEATURE_NAMES;
use switchboard_core::{Layers, RouterConfig};
use switchboard_eval::{
    calibration, fit_arbiter, fit_ranker, load_cases, parse_thresholds, rewritten, run as run_cases,
    shortfalls, with_typos, ArbiterFit, Metrics, RankerFit, Report, Rewrite, TARGET_PRECISION,
};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The case file (see ../shared/eval/README.md); repeat to evaluate several as one set.
    #[arg(long, required = true)]
    cases: Vec<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Exit non-zero below these figures, e.g. `hit_at_1=0.8,decision_accuracy=0.9`; prefix a
    /// metric with a language (`de.hit_at_1=0.65`) to gate that language's figure.
    #[arg(long)]
    fail_under: Option<String>,
    /// Switch layers off: any of intents, thesaurus, abbreviations, priors, links, rerank, context, ranker, confidence.
    #[arg(long, value_delimiter = ',')]
    without: Vec<String>,
    /// Print the figures with each layer added in turn, from plain search upwards.
    #[arg(long)]
    layers: bool,
    /// Print every case with its outcome and confidence.
    #[arg(long)]
    verbose: bool,
    /// Evaluate service hours at this instant (RFC 3339); default now.
    #[arg(long)]
    at: Option<jiff::Timestamp>,
    /// Put one typo into each question (a letter swapped, dropped or doubled inside a word of
    /// six or more letters, never the first), chosen by this seed, to measure robustness.
    #[arg(long, value_name = "SEED")]
    typos: Option<u64>,
    /// Rewrite every question as real messages differ from them, to measure robustness: one of
    /// no-question-marks, signature, link, announced, mention, greeting, capitals, umlauts.
    #[arg(long, value_name = "KIND")]
    rewrite: Option<Rewrite>,
    /// Fit the arbiter (answer / handoff / decline from the learnt intents and the guidance's
    /// signals) on the cases, print its cross-validated figures and the fitted weights.
    #[arg(long)]
    fit_arbiter: bool,
    /// Fit the learnt ranking on the cases' expected documents, print its cross-validated hit@1
    /// and hit@3 beside the hand-set ranking's, and the fitted weights.
    #[arg(long)]
    fit_ranker: bool,
    /// With --fit-ranker: also train on this many section headings of the guidance asked as
    /// questions (their documents the right answers); never tested on.
    #[arg(long, default_value_t = 0)]
    pseudo_queries: usize,
    /// Rank every language with the learnt ranking (by default only those where it beat the
    /// hand-set one in cross-validation).
    #[arg(long)]
    learnt_ranking: bool,
}

fn layers_without(names: &[String]) -> Result<Layers> {
    let mut layers = Layers::default();
    for name in names {
        match name.as_str() {
            "intents" => layers.intents = false,
            "thesaurus" => layers.thesaurus = false,
            "abbreviations" => layers.abbreviations = false,
            "priors" => layers.priors = false,
            "rerank" => layers.rerank = false,
            "links" => layers.links = false,
            "confidence" => layers.confidence = false,
            "context" => layers.context = false,
            "ranker" => layers.ranker = false,
            "link-text" => layers.link_text = false,
            other => {
                anyhow::bail!(
                    "unknown layer `{other}` (intents, thesaurus, abbreviations, priors, links, link-text, rerank, context, ranker, confidence)"
                )
            }
        }
    }
    Ok(layers)
}

/// Up to `n` section headings of the guidance as questions, with their documents: headings of
/// three words or more (they read like what a customer asks), chosen evenly through the corpus.
fn pseudo_queries(roots: &[PathBuf], n: usize) -> Vec<(switchboard_knowledge::Language, String, String)> {
    if n == 0 {
        return Vec::new();
    }
    let sections = switchboard_knowledge::ingest::ingest_roots(roots).sections;
    let usable: Vec<_> = sections
        .iter()
        .filter(|s| !s.anchor.is_empty() && s.heading.split_whitespace().count() >= 3)
        .collect();
    let step = (usable.len() / n).max(1);
    usable
        .iter()
        .step_by(step)
        .take(n)
        .map(|s| (s.language, s.heading.clone(), s.doc_path.clone()))
        .collect()
}

fn print_ranker_fit(fit: &RankerFit) {
    println!("learnt ranking: L2 {} (chosen by cross-validated hit@1)", fit.l2);
    println!(
        "| lang | questions | hit@1 hand-set | hit@1 learnt (CV) | hit@3 hand-set | hit@3 learnt (CV) |"
    );
    println!("|---|---|---|---|---|---|");
    for (lang, before, learnt) in &fit.figures {
        println!(
            "| {lang} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            before.questions, before.hit_at_1, learnt.hit_at_1, before.hit_at_3, learnt.hit_at_3
        );
    }
    println!("(answer questions with a right section retrieved; 10-fold cross-validation, 5 shuffles; fitted on all:)");
    println!("// features: {}", RANK_FEATURE_NAMES.join(", "));
    let weights: Vec<String> = fit.ranker.weights.iter().map(|w| format!("{w:.3}")).collect();
    println!("const FITTED: [f32; RANK_FEATURES] = [{}];", weights.join(", "));
}

fn print_arbiter_fit(fit: &ArbiterFit) {
    println!(
        "arbiter: L2 {} (chosen by cross-validated decision accuracy, handoff and out-of-scope recall)",
        fit.l2
    );
    println!("| lang | cases | decision acc. | handoff to the right queue | out of scope declined | answer prec. | answer cov. |");
    println!("|---|---|---|---|---|---|---|");
    for (lang, f) in &fit.cross_validated {
        println!(
            "| {lang} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            f.cases,
            f.decision_accuracy,
            f.handoff_recall,
            f.out_of_scope_recall,
            f.answer_precision,
            f.answer_coverage
        );
    }
    println!("(10-fold cross-validation, 5 shuffles; fitted on all cases:)");
    println!("// features: {}, bias", ARBITER_FEATURE_NAMES.join(", "));
    println!("const FITTED: [[f32; ARBITER_FEATURES + 1]; 3] = [");
    for (verdict, row) in Verdict::ALL.iter().zip(&fit.arbiter.weights) {
        let weights: Vec<String> = row.iter().map(|w| format!("{w:.2}")).collect();
        println!("    [{}], // {verdict:?}", weights.join(", "));
    }
    println!("];");
    println!();
    println!(
        "answer gate: L2 {} (chosen by cross-validated log-loss); threshold per language: the lowest whose cross-validated answer precision reaches {TARGET_PRECISION}",
        fit.gate_l2
    );
    for (lang, curve) in &fit.curve {
        println!();
        println!("| {lang}: threshold | answer prec. | answer cov. | decision acc. |");
        println!("|---|---|---|---|");
        let chosen = *fit.gate.threshold.get(*lang);
        for point in curve {
            let f = &point.figures;
            let mark = if (point.threshold - chosen).abs() < 1e-4 {
                " (chosen)"
            } else {
                ""
            };
            println!(
                "| {:.3}{mark} | {:.3} | {:.3} | {:.3} |",
                point.threshold, f.answer_precision, f.answer_coverage, f.decision_accuracy
            );
        }
    }
    println!();
    println!("// features: {}, bias", GATE_FEATURE_NAMES.join(", "));
    let weights: Vec<String> = fit.gate.weights.iter().map(|w| format!("{w:.2}")).collect();
    println!(
        "const FITTED_WEIGHTS: [f32; GATE_FEATURES + 1] = [{}];",
        weights.join(", ")
    );
    println!(
        "const FITTED_THRESHOLD: PerLanguage<f32> = PerLanguage {{ de: {:.3}, en: {:.3} }};",
        fit.gate.threshold.de, fit.gate.threshold.en
    );
}

/// Decisions the way they fail: expected outcome (rows) x outcome given (columns), per language,
/// with each language's handoff and out-of-scope recall.
fn print_confusion(report: &Report) {
    for (lang, matrix) in &report.confusion {
        let mut columns: Vec<&String> = matrix.values().flat_map(|row| row.keys()).collect();
        columns.sort();
        columns.dedup();
        let m = &report.by_lang[lang];
        println!();
        println!(
            "decisions ({lang}): handoff to the right queue {:.3}, out of scope declined {:.3}",
            m.handoff_recall, m.out_of_scope_recall
        );
        let header: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
        println!("| expected \\ got | {} |", header.join(" | "));
        println!("|---|{}", "---|".repeat(columns.len()));
        for (expected, row) in matrix {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| row.get(*c).map_or_else(|| ".".to_string(), ToString::to_string))
                .collect();
            println!("| {expected} | {} |", cells.join(" | "));
        }
    }
}

fn row(label: &str, m: &Metrics) -> String {
    format!(
        "| {label:<34} | {:>4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
        m.cases,
        m.hit_at_1,
        m.hit_at_3,
        m.mrr_at_10,
        m.decision_accuracy,
        m.answer_precision,
        m.answer_coverage
    )
}

const HEADER: &str = "| run                                | cases | hit@1 | hit@3 | MRR@10 | decision acc. | answer prec. | answer cov. |\n|---|---|---|---|---|---|---|---|";

fn print_report(label: &str, report: &Report) {
    println!("{}", row(&format!("{label} (all)"), &report.overall));
    for (lang, m) in &report.by_lang {
        println!("{}", row(&format!("{label} ({lang})"), m));
    }
}

pub fn run(env: &Env, args: &EvalArgs) -> Result<ExitCode> {
    let mut cases = Vec::new();
    for path in &args.cases {
        cases.extend(load_cases(path)?);
    }
    if let Some(seed) = args.typos {
        cases = with_typos(&cases, seed);
        eprintln!("one typo put into each question that has a word of six or more letters (seed {seed})");
    }
    if let Some(rewrite) = args.rewrite {
        cases = rewritten(&cases, rewrite);
        eprintln!("every question rewritten: {}", rewrite.name());
    }
    let thresholds = args
        .fail_under
        .as_deref()
        .map(parse_thresholds)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (router, problems) = env.router(RouterConfig {
        layers: layers_without(&args.without)?,
        learnt_ranking: if args.learnt_ranking {
            PerLanguage { de: true, en: true }
        } else {
            RouterConfig::default().learnt_ranking
        },
        ..RouterConfig::default()
    })?;
    for p in &problems {
        eprintln!("warning: plugin problem: {p}");
    }
    let now = args.at.unwrap_or_else(jiff::Timestamp::now);
    if args.fit_ranker {
        let pseudo = pseudo_queries(&env.knowledge, args.pseudo_queries);
        print_ranker_fit(&fit_ranker(&router, &cases, &pseudo)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.fit_arbiter {
        print_arbiter_fit(&fit_arbiter(&router, &cases, now)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.layers {
        println!("{HEADER}");
        let steps: [(&str, &[&str]); 11] = [
            (
                "plain search, always answer",
                &[
                    "intents",
                    "thesaurus",
                    "abbreviations",
                    "priors",
                    "links",
                    "rerank",
                    "context",
                    "ranker",
                    "link-text",
                    "confidence",
                ],
            ),
            (
                "+ coverage re-ranking",
                &[
                    "intents",
                    "thesaurus",
                    "abbreviations",
                    "priors",
                    "links",
                    "context",
                    "ranker",
                    "link-text",
                    "confidence",
                ],
            ),
            (
                "+ document priors",
                &[
                    "intents",
                    "thesaurus",
                    "abbreviations",
                    "links",
                    "context",
                    "ranker",
                    "link-text",
                    "confidence",
                ],
            ),
            (
                "+ thesaurus",
                &[
                    "intents",
                    "abbreviations",
                    "links",
                    "context",
                    "ranker",
                    "link-text",
                    "confidence",
                ],
            ),
            (
                "+ abbreviations",
                &["intents", "links", "context", "ranker", "link-text", "confidence"],
            ),
            (
                "+ link authority",
                &["intents", "context", "ranker", "link-text", "confidence"],
            ),
            (
                "+ question emphasis",
                &["intents", "ranker", "link-text", "confidence"],
            ),
            ("+ learnt ranking (en)", &["intents", "link-text", "confidence"]),
            ("+ link text", &["intents", "confidence"]),
            ("+ intents", &["confidence"]),
            ("+ confidence (full)", &[]),
        ];
        for (label, off) in steps {
            let off: Vec<String> = off.iter().map(|s| (*s).to_string()).collect();
            let config = RouterConfig {
                layers: layers_without(&off)?,
                ..*router.config()
            };
            let report = run_cases(&router.with_config(config), &cases, now)?;
            print_report(label, &report);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let report = run_cases(&router, &cases, now).context("running the cases")?;
    let elapsed = started.elapsed();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{HEADER}");
        print_report("switchboard", &report);
        println!();
        println!(
            "{} cases in {:.2}s ({:.2} ms per question)",
            cases.len(),
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / cases.len().max(1) as f64
        );
        println!();
        print_confusion(&report);
        println!();
        println!("confidence calibration (cases where guidance was found; right = its top document is acceptable):");
        for band in calibration(&report.results) {
            println!(
                "  {:.2}-{:.2}: {:>3} cases, mean confidence {:.2}, right {:.2}",
                band.from, band.to, band.cases, band.mean_confidence, band.right
            );
        }
        if args.verbose {
            for r in &report.results {
                let signals: Vec<String> = r.signals.iter().map(|(k, v)| format!("{k}={v:.3}")).collect();
                let learnt: Vec<String> = r
                    .learnt_intents
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.2}"))
                    .collect();
                println!(
                    "  {} {:?} conf {:.2} p(right) {:.2} top-ok {} correct {} [{}] intents [{}]: {}",
                    r.id,
                    r.expect,
                    r.confidence,
                    r.answer_probability,
                    r.top_is_acceptable(),
                    r.is_correct(),
                    signals.join(" "),
                    learnt.join(", "),
                    r.got_text()
                );
                if args.typos.is_some() || args.rewrite.is_some() {
                    // The question as it was asked, typo included.
                    if let Some(case) = cases.iter().find(|c| c.id == r.id) {
                        println!("      asked: {}", case.question);
                    }
                }
            }
        }
        println!("failures ({}):", report.failures.len());
        for f in &report.failures {
            println!("  {}: expected {}; got {}", f.id, f.expected, f.got);
        }
    }
    if let Some(thresholds) = thresholds {
        let below = shortfalls(&report, &thresholds);
        if !below.is_empty() {
            eprintln!("below --fail-under: {}", below.join(", "));
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
