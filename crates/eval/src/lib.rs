//! `switchboard eval`: runs a case file (../shared/eval/README.md) through the router and
//! computes retrieval hit@1, hit@3, MRR@10, decision accuracy, answer precision and answer
//! coverage, overall and per language.
#![deny(missing_docs)]

mod arbiter;
mod folds;
mod ranking;
mod rewrites;

pub use arbiter::{fit_arbiter, ArbiterFigures, ArbiterFit, CurvePoint, TARGET_PRECISION};
pub use ranking::{fit_ranker, RankFigures, RankerFit};
pub use rewrites::{rewritten, with_typos, Rewrite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use switchboard_core::{ConversationContext, Decision, Message, Outcome, Router};
use switchboard_knowledge::Language;

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The guidance answers it.
    Answer,
    /// A person must act.
    Handoff,
    /// Nothing applies.
    OutOfScope,
}

/// One evaluation case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// Language of the question.
    pub lang: Language,
    /// The question.
    pub question: String,
    /// Expected outcome.
    pub expect: Expect,
    /// Acceptable documents.
    #[serde(default)]
    pub docs: Vec<String>,
    /// Expected queue for handoffs.
    #[serde(default)]
    pub queue: Option<String>,
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

/// A case file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CaseFileError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a case file.
pub fn load_cases(path: &Path) -> Result<Vec<Case>, CaseFileError> {
    let err = |reason: String| CaseFileError {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_cases(&text).map_err(err)
}

/// Parses case-file text.
pub fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    let file: CaseFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    for case in &file.case {
        if !seen.insert(case.id.as_str()) {
            return Err(format!("case id `{}` is used twice", case.id));
        }
        if case.expect == Expect::Handoff && case.queue.is_none() {
            return Err(format!("case `{}` expects a handoff but names no queue", case.id));
        }
    }
    Ok(file.case)
}

/// What the bot did with one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Language.
    pub lang: Language,
    /// Expected outcome.
    pub expect: Expect,
    /// The outcome given.
    pub outcome: Outcome,
    /// Queue of a handoff.
    pub queue: Option<String>,
    /// Cited (answer) or suggested (suggest) documents.
    pub cited: Vec<String>,
    /// Document ranking, best first (up to ten).
    pub ranked_docs: Vec<String>,
    /// Acceptable documents.
    pub docs: Vec<String>,
    /// Expected queue.
    pub expected_queue: Option<String>,
    /// The router's confidence in its top section.
    pub confidence: f32,
    /// The answer gate's probability that the top section is right.
    pub answer_probability: f32,
    /// The signals behind the confidence.
    pub signals: Vec<(String, f32)>,
    /// The classifier's most likely intents with their probabilities.
    pub learnt_intents: Vec<(String, f32)>,
}

fn doc_of(citation: &str) -> String {
    citation.split('#').next().unwrap_or(citation).to_string()
}

impl CaseResult {
    /// Builds the result of a case from the router's decision.
    pub fn from_decision(case: &Case, decision: &Decision) -> Self {
        CaseResult {
            id: case.id.clone(),
            lang: case.lang,
            expect: case.expect,
            outcome: decision.outcome,
            queue: decision.handoff.as_ref().map(|h| h.queue.clone()),
            cited: decision.citations.iter().map(|c| doc_of(&c.citation)).collect(),
            ranked_docs: decision.trace.ranked_docs.clone(),
            docs: case.docs.clone(),
            expected_queue: case.queue.clone(),
            confidence: decision.trace.confidence,
            answer_probability: decision.trace.answer_probability,
            signals: decision.trace.signals.clone(),
            learnt_intents: decision.trace.learnt_intents.clone(),
        }
    }

    /// Whether the top-ranked document is acceptable.
    pub fn top_is_acceptable(&self) -> bool {
        self.rank_within(1).is_some()
    }

    /// 1-based rank of the first acceptable document in the ranking, within `k`.
    fn rank_within(&self, k: usize) -> Option<usize> {
        self.ranked_docs
            .iter()
            .take(k)
            .position(|d| self.docs.contains(d))
            .map(|p| p + 1)
    }

    fn cites_acceptable(&self) -> bool {
        self.cited.iter().any(|d| self.docs.contains(d))
    }

    /// Whether the outcome is the right one (the README's decision accuracy).
    pub fn is_correct(&self) -> bool {
        match self.expect {
            Expect::Answer => {
                matches!(self.outcome, Outcome::Answer | Outcome::Suggest) && self.cites_acceptable()
            }
            Expect::Handoff => self.outcome == Outcome::Handoff && self.queue == self.expected_queue,
            // A greeting or thanks answered as such draws on no guidance: it declines the
            // knowledge base as much as a decline does.
            Expect::OutOfScope => matches!(self.outcome, Outcome::Decline | Outcome::Reply),
        }
    }

    /// What was expected, in words.
    pub fn expected_text(&self) -> String {
        match self.expect {
            Expect::Answer => format!("answer from {}", self.docs.join(" | ")),
            Expect::Handoff => format!("handoff to {}", self.expected_queue.as_deref().unwrap_or("?")),
            Expect::OutOfScope => "decline".into(),
        }
    }

    /// What happened, in words.
    pub fn got_text(&self) -> String {
        match self.outcome {
            Outcome::Answer => format!("answer from {}", self.cited.join(" | ")),
            Outcome::Suggest => format!("suggest {}", self.cited.join(" | ")),
            Outcome::Handoff => format!("handoff to {}", self.queue.as_deref().unwrap_or("?")),
            Outcome::Decline => "decline".into(),
            Outcome::Reply => "conversational reply".into(),
        }
    }
}

/// The figures of one group of cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Metrics {
    /// Number of cases.
    pub cases: usize,
    /// Share of answer cases with an acceptable document first.
    pub hit_at_1: f64,
    /// Share of answer cases with an acceptable document in the top three.
    pub hit_at_3: f64,
    /// Mean reciprocal rank of the first acceptable document, within ten.
    pub mrr_at_10: f64,
    /// Share of all cases with the right outcome.
    pub decision_accuracy: f64,
    /// Of confident answers, the share citing an acceptable document.
    pub answer_precision: f64,
    /// Of answer cases, the share answered confidently and correctly.
    pub answer_coverage: f64,
    /// Of handoff cases, the share handed off to the expected queue.
    pub handoff_recall: f64,
    /// Of out-of-scope cases, the share declined.
    pub out_of_scope_recall: f64,
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Computes the metrics of a set of results.
pub fn metrics(results: &[&CaseResult]) -> Metrics {
    let answer_cases: Vec<&&CaseResult> = results.iter().filter(|r| r.expect == Expect::Answer).collect();
    let hits = |k: usize| answer_cases.iter().filter(|r| r.rank_within(k).is_some()).count();
    let rr: f64 = answer_cases
        .iter()
        .filter_map(|r| r.rank_within(10))
        .map(|rank| 1.0 / rank as f64)
        .sum();
    let answered: Vec<&&CaseResult> = results.iter().filter(|r| r.outcome == Outcome::Answer).collect();
    let answered_right = answered
        .iter()
        .filter(|r| r.expect == Expect::Answer && r.cites_acceptable())
        .count();
    Metrics {
        cases: results.len(),
        hit_at_1: ratio(hits(1), answer_cases.len()),
        hit_at_3: ratio(hits(3), answer_cases.len()),
        mrr_at_10: if answer_cases.is_empty() {
            0.0
        } else {
            rr / answer_cases.len() as f64
        },
        decision_accuracy: ratio(results.iter().filter(|r| r.is_correct()).count(), results.len()),
        answer_precision: ratio(answered_right, answered.len()),
        answer_coverage: ratio(answered_right, answer_cases.len()),
        handoff_recall: recall(results, Expect::Handoff),
        out_of_scope_recall: recall(results, Expect::OutOfScope),
    }
}

fn recall(results: &[&CaseResult], expect: Expect) -> f64 {
    let cases: Vec<&&CaseResult> = results.iter().filter(|r| r.expect == expect).collect();
    ratio(cases.iter().filter(|r| r.is_correct()).count(), cases.len())
}

impl CaseResult {
    /// The expected outcome as a confusion-matrix label (`answer`, `handoff:billing`,
    /// `out_of_scope`).
    pub fn expected_label(&self) -> String {
        match self.expect {
            Expect::Answer => "answer".into(),
            Expect::Handoff => format!("handoff:{}", self.expected_queue.as_deref().unwrap_or("?")),
            Expect::OutOfScope => "out_of_scope".into(),
        }
    }

    /// The outcome given as a confusion-matrix label (`answer`, `suggest`, `handoff:billing`,
    /// `decline`, `reply`).
    pub fn got_label(&self) -> String {
        match self.outcome {
            Outcome::Answer => "answer".into(),
            Outcome::Suggest => "suggest".into(),
            Outcome::Handoff => format!("handoff:{}", self.queue.as_deref().unwrap_or("?")),
            Outcome::Decline => "decline".into(),
            Outcome::Reply => "reply".into(),
        }
    }
}

/// Expected outcome (and queue) x outcome given (and queue): counts.
pub type Confusion = BTreeMap<String, BTreeMap<String, usize>>;

fn confusion(results: &[&CaseResult]) -> Confusion {
    let mut m: Confusion = BTreeMap::new();
    for r in results {
        *m.entry(r.expected_label())
            .or_default()
            .entry(r.got_label())
            .or_default() += 1;
    }
    m
}

/// A failed case, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// Case id.
    pub id: String,
    /// Expected, in words.
    pub expected: String,
    /// Got, in words.
    pub got: String,
    /// Documents cited or suggested.
    pub cited: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Overall figures.
    #[serde(flatten)]
    pub overall: Metrics,
    /// Per language code.
    pub by_lang: BTreeMap<String, Metrics>,
    /// Failed cases.
    pub failures: Vec<Failure>,
    /// Per language code: expected outcome x outcome given.
    pub confusion: BTreeMap<String, Confusion>,
    /// Per-case results (not in JSON).
    #[serde(skip)]
    pub results: Vec<CaseResult>,
}

/// One confidence band of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBand {
    /// Lower bound of the band (inclusive).
    pub from: f32,
    /// Upper bound of the band (exclusive, except for the last band).
    pub to: f32,
    /// Cases whose confidence falls in the band.
    pub cases: usize,
    /// Their mean confidence.
    pub mean_confidence: f64,
    /// The share of them whose top document is an acceptable answer.
    pub right: f64,
}

/// How well the confidence reads as a probability: for the cases where guidance was found,
/// in four bands of confidence, the mean confidence beside the share whose top document is
/// acceptable (handoff and out-of-scope cases count as not right: no document answers them).
pub fn calibration(results: &[CaseResult]) -> Vec<CalibrationBand> {
    let bounds = [0.0f32, 0.25, 0.5, 0.75, 1.0];
    bounds
        .windows(2)
        .map(|b| {
            let last = b[1] >= 1.0;
            let band: Vec<&CaseResult> = results
                .iter()
                .filter(|r| !r.ranked_docs.is_empty())
                .filter(|r| r.confidence >= b[0] && (r.confidence < b[1] || (last && r.confidence <= b[1])))
                .collect();
            let n = band.len();
            let share = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
            CalibrationBand {
                from: b[0],
                to: b[1],
                cases: n,
                mean_confidence: if n == 0 {
                    0.0
                } else {
                    band.iter().map(|r| f64::from(r.confidence)).sum::<f64>() / n as f64
                },
                right: share(
                    band.iter()
                        .filter(|r| r.expect == Expect::Answer && r.top_is_acceptable())
                        .count(),
                ),
            }
        })
        .collect()
}

/// Builds a report from results.
pub fn report(results: Vec<CaseResult>) -> Report {
    let all: Vec<&CaseResult> = results.iter().collect();
    let mut by_lang = BTreeMap::new();
    let mut confusions = BTreeMap::new();
    for lang in Language::ALL {
        let group: Vec<&CaseResult> = results.iter().filter(|r| r.lang == lang).collect();
        if !group.is_empty() {
            by_lang.insert(lang.code().to_string(), metrics(&group));
            confusions.insert(lang.code().to_string(), confusion(&group));
        }
    }
    let failures = results
        .iter()
        .filter(|r| !r.is_correct())
        .map(|r| Failure {
            id: r.id.clone(),
            expected: r.expected_text(),
            got: r.got_text(),
            cited: r.cited.clone(),
        })
        .collect();
    Report {
        overall: metrics(&all),
        by_lang,
        failures,
        confusion: confusions,
        results,
    }
}

/// Runs every case through the router, each in a fresh conversation, with service hours
/// evaluated at `now`.
pub fn run(
    router: &Router,
    cases: &[Case],
    now: jiff::Timestamp,
) -> Result<Report, switchboard_knowledge::KnowledgeError> {
    let mut results = Vec::with_capacity(cases.len());
    for case in cases {
        let mut message = Message::text(case.question.clone());
        message.language_hint = Some(case.lang);
        message.conversation.clone_from(&case.id);
        let decision = router.decide(&message, &mut ConversationContext::default(), now)?;
        results.push(CaseResult::from_decision(case, &decision));
    }
    Ok(report(results))
}

/// Parses `hit_at_1=0.8,decision_accuracy=0.9`; a metric may name a language,
/// `de.hit_at_1=0.65`, to gate that language's figure instead of the overall one.
pub fn parse_thresholds(text: &str) -> Result<Vec<(String, f64)>, String> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}`: expected name=value"))?;
            let k = k.trim();
            let metric = match k.split_once('.') {
                Some((lang, metric)) => {
                    lang.parse::<Language>()
                        .map_err(|_| format!("`{lang}` in `{k}` is not a language (de, en)"))?;
                    metric
                }
                None => k,
            };
            if metric_value(&Metrics::default(), metric).is_none() {
                return Err(format!("unknown metric `{metric}`"));
            }
            let v: f64 = v.trim().parse().map_err(|_| format!("`{v}` is not a number"))?;
            Ok((k.to_string(), v))
        })
        .collect()
}

/// A metric by name.
pub fn metric_value(m: &Metrics, name: &str) -> Option<f64> {
    Some(match name {
        "hit_at_1" => m.hit_at_1,
        "hit_at_3" => m.hit_at_3,
        "mrr_at_10" => m.mrr_at_10,
        "decision_accuracy" => m.decision_accuracy,
        "answer_precision" => m.answer_precision,
        "answer_coverage" => m.answer_coverage,
        "handoff_recall" => m.handoff_recall,
        "out_of_scope_recall" => m.out_of_scope_recall,
        _ => return None,
    })
}

/// The thresholds the report falls below, in words. A language without cases falls below
/// every threshold set for it: a gate that cannot be measured does not pass.
pub fn shortfalls(report: &Report, thresholds: &[(String, f64)]) -> Vec<String> {
    thresholds
        .iter()
        .filter_map(|(k, min)| {
            let (metrics, metric) = match k.split_once('.') {
                Some((lang, metric)) => match report.by_lang.get(lang) {
                    Some(m) => (m, metric),
                    None => return Some(format!("{k}: no {lang} cases")),
                },
                None => (&report.overall, k.as_str()),
            };
            let v = metric_value(metrics, metric)?;
            (v < *min).then(|| format!("{k} = {v:.3} < {min}"))
        })
        .collect()
}
