//! Fitting the arbiter (answer / handoff / decline) on labelled questions, with the
//! cross-validated figures an admin needs to trust it.

use crate::folds::{splits, FOLDS, SHUFFLES};
use crate::{Case, CaseResult, Expect};
use serde::Serialize;
use switchboard_core::answer_gate::{AnswerGate, GateInput};
use switchboard_core::plugins::{IntentAction, PerLanguage};
use switchboard_core::policy::{self, Arbiter, ArbiterInput, Verdict};
use switchboard_core::router::{SUGGESTED, UNDERSTOOD_SHARE};
use switchboard_core::{ConversationContext, Message, Router};
use switchboard_knowledge::{KnowledgeError, Language};

/// The answer precision the gate's threshold must reach in cross-validation (issue 13).
pub const TARGET_PRECISION: f64 = 0.90;
/// The thresholds the gate is tried at.
const THRESHOLDS: std::ops::RangeInclusive<u32> = 10..=38;
/// ...in steps of this much.
const THRESHOLD_STEP: f32 = 0.025;

fn threshold_at(i: u32) -> f32 {
    i as f32 * THRESHOLD_STEP
}

/// What a case contributes to the fit.
#[derive(Debug, Clone)]
struct Sample {
    lang: Language,
    expect: Expect,
    input: Option<ArbiterInput>,
    gate: Option<GateInput>,
    /// The whole system's result when a conversation act decided (the arbiter was not asked).
    decided_without_arbiter: Option<bool>,
    /// Whether the guidance knows enough of the message to answer or suggest at all.
    understood: bool,
    /// Whether the retrieval confidence is high enough to suggest sections.
    suggestable: bool,
    /// An answer case whose top document is acceptable.
    top_right: bool,
    /// An answer case with an acceptable document among the suggested ones.
    suggest_right: bool,
    /// The queue of the likeliest handoff intent, and the expected one.
    handoff_queue: Option<String>,
    expected_queue: Option<String>,
}

impl Sample {
    fn verdict(&self) -> Verdict {
        match self.expect {
            Expect::Answer => Verdict::Answer,
            Expect::Handoff => Verdict::Handoff,
            Expect::OutOfScope => Verdict::Decline,
        }
    }

    /// (right, answered confidently, answered and right) when the arbiter says `verdict` and,
    /// for an answer, the gate says whether to answer or suggest.
    fn outcome(&self, verdict: Verdict, answer: bool) -> (bool, bool, bool) {
        if let Some(right) = self.decided_without_arbiter {
            return (right, false, false);
        }
        let declined = (self.expect == Expect::OutOfScope, false, false);
        match verdict {
            Verdict::Answer if !self.understood => declined,
            Verdict::Answer if answer => (self.top_right, true, self.top_right),
            Verdict::Answer if self.suggestable => (self.suggest_right, false, false),
            Verdict::Handoff => (
                self.expect == Expect::Handoff && self.handoff_queue == self.expected_queue,
                false,
                false,
            ),
            // Below the suggest threshold an answer verdict declines too.
            Verdict::Answer | Verdict::Decline => declined,
        }
    }
}

/// Figures of one language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ArbiterFigures {
    /// Cases.
    pub cases: usize,
    /// Share with the right outcome.
    pub decision_accuracy: f64,
    /// Handoff cases handed off to the right queue.
    pub handoff_recall: f64,
    /// Out-of-scope cases declined.
    pub out_of_scope_recall: f64,
    /// Confident answers that are right.
    pub answer_precision: f64,
    /// Answer cases answered confidently and right.
    pub answer_coverage: f64,
}

/// One point of the answer gate's cross-validated precision/coverage curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The threshold on the gate's probability.
    pub threshold: f32,
    /// The figures at that threshold.
    pub figures: ArbiterFigures,
}

/// The fit and how well it holds out of sample.
#[derive(Debug, Clone, Serialize)]
pub struct ArbiterFit {
    /// Fitted on all cases.
    pub arbiter: Arbiter,
    /// The L2 penalty chosen (by cross-validated decision accuracy).
    pub l2: f64,
    /// The answer gate fitted on all cases, with the thresholds chosen from its curve.
    pub gate: AnswerGate,
    /// The gate's L2 penalty (chosen by cross-validated log-loss).
    pub gate_l2: f64,
    /// Cross-validated figures per language at the chosen thresholds (10 folds, 5 shuffles).
    pub cross_validated: Vec<(Language, ArbiterFigures)>,
    /// Cross-validated figures per language at each threshold of the answer gate.
    pub curve: Vec<(Language, Vec<CurvePoint>)>,
}

/// Counts behind the figures, summed over shuffles.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    cases: usize,
    right: usize,
    answered: usize,
    answered_right: usize,
    answer_cases: usize,
    handoffs: usize,
    handoffs_right: usize,
    oos: usize,
    oos_right: usize,
}

impl Counts {
    fn add(&mut self, s: &Sample, verdict: Verdict, answer: bool) {
        let (ok, a, ar) = s.outcome(verdict, answer);
        self.cases += 1;
        self.right += usize::from(ok);
        self.answered += usize::from(a);
        self.answered_right += usize::from(ar);
        match s.expect {
            Expect::Answer => self.answer_cases += 1,
            Expect::Handoff => {
                self.handoffs += 1;
                self.handoffs_right += usize::from(ok);
            }
            Expect::OutOfScope => {
                self.oos += 1;
                self.oos_right += usize::from(ok);
            }
        }
    }

    fn figures(&self, shuffles: usize) -> ArbiterFigures {
        let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        ArbiterFigures {
            cases: self.cases / shuffles.max(1),
            decision_accuracy: share(self.right, self.cases),
            handoff_recall: share(self.handoffs_right, self.handoffs),
            out_of_scope_recall: share(self.oos_right, self.oos),
            answer_precision: share(self.answered_right, self.answered),
            answer_coverage: share(self.answered_right, self.answer_cases),
        }
    }
}

/// A cross-validated prediction: the arbiter's verdict and the gate's probability.
type Prediction = (Verdict, f32);

/// The samples of `lang` at `threshold`, counted over every shuffle's predictions.
fn count(samples: &[Sample], runs: &[Vec<Prediction>], lang: Language, threshold: f32) -> Counts {
    let mut counts = Counts::default();
    for run in runs {
        for (s, &(verdict, p)) in samples.iter().zip(run) {
            if s.lang == lang {
                counts.add(s, verdict, p >= threshold);
            }
        }
    }
    counts
}

/// The lowest threshold whose cross-validated precision reaches the target (else the most
/// precise one), with the curve it was read from.
fn choose_threshold(samples: &[Sample], runs: &[Vec<Prediction>], lang: Language) -> (f32, Vec<CurvePoint>) {
    let curve: Vec<CurvePoint> = THRESHOLDS
        .map(|i| CurvePoint {
            threshold: threshold_at(i),
            figures: count(samples, runs, lang, threshold_at(i)).figures(runs.len()),
        })
        .collect();
    let chosen = curve
        .iter()
        .find(|p| p.figures.answer_precision >= TARGET_PRECISION)
        .or_else(|| {
            curve
                .iter()
                .max_by(|a, b| a.figures.answer_precision.total_cmp(&b.figures.answer_precision))
        })
        .map_or(0.5, |p| p.threshold);
    (chosen, curve)
}

fn gate_samples<'a>(samples: impl Iterator<Item = &'a Sample>) -> Vec<(GateInput, bool)> {
    samples
        .filter(|s| s.input.is_some())
        .filter_map(|s| s.gate.map(|g| (g, s.top_right)))
        .collect()
}

/// Cross-validated predictions for every sample (`folds` folds, one shuffle per `seed`).
fn cross_validated(samples: &[Sample], l2: f64, gate_l2: f64, folds: usize, seed: u64) -> Vec<Prediction> {
    let mut predictions = vec![(Verdict::Answer, 0.0); samples.len()];
    let any = PerLanguage { de: 0.5, en: 0.5 };
    for (training, held_out) in splits(samples.len(), folds, seed) {
        let train = || training.iter().map(|&i| &samples[i]);
        let arbiter_train: Vec<(ArbiterInput, Verdict)> = train()
            .filter_map(|s| s.input.map(|input| (input, s.verdict())))
            .collect();
        let arbiter = Arbiter::fit(&arbiter_train, l2);
        let gate = AnswerGate::fit(&gate_samples(train()), gate_l2, any);
        for i in held_out {
            if let Some(input) = samples[i].input {
                let p = samples[i].gate.map_or(0.0, |g| gate.probability(&g));
                predictions[i] = (arbiter.verdict(&input).0, p);
            }
        }
    }
    predictions
}

/// The gate's cross-validated log-loss at `l2` (to choose the penalty).
fn gate_log_loss(samples: &[(GateInput, bool)], l2: f64) -> f64 {
    let mut loss = 0.0;
    for seed in 0..SHUFFLES {
        for (training, held_out) in splits(samples.len(), FOLDS, seed) {
            let train: Vec<(GateInput, bool)> = training.iter().map(|&i| samples[i]).collect();
            let gate = AnswerGate::fit(&train, l2, PerLanguage { de: 0.5, en: 0.5 });
            for i in held_out {
                let p = f64::from(gate.probability(&samples[i].0)).clamp(1e-6, 1.0 - 1e-6);
                loss -= if samples[i].1 { p.ln() } else { (1.0 - p).ln() };
            }
        }
    }
    loss
}

/// Runs every case through the router, fits the arbiter and the answer gate and
/// cross-validates both together.
pub fn fit_arbiter(
    router: &Router,
    cases: &[Case],
    now: jiff::Timestamp,
) -> Result<ArbiterFit, KnowledgeError> {
    let labels = &router.plugins().classifier.labels;
    let mut samples = Vec::with_capacity(cases.len());
    for case in cases {
        let mut message = Message::text(case.question.clone());
        message.language_hint = Some(case.lang);
        let full = router.decide(&message, &mut ConversationContext::default(), now)?;
        // What the router's classifier read of the message, so the queue is the one it would pick.
        let prediction = router.plugins().classifier.predict(
            switchboard_core::router::intent_text(&case.question),
            full.language,
        );
        let decided_without_arbiter = full
            .trace
            .arbiter
            .is_none()
            .then(|| CaseResult::from_decision(case, &full).is_correct());
        let t = &full.trace;
        let acceptable =
            |docs: &[String]| case.expect == Expect::Answer && docs.iter().any(|d| case.docs.contains(d));
        samples.push(Sample {
            lang: case.lang,
            expect: case.expect,
            input: t.arbiter_input,
            gate: t.gate_input,
            decided_without_arbiter,
            understood: !t.ranked_docs.is_empty()
                && t.gate_input.is_some_and(|g| g.known_share >= UNDERSTOOD_SHARE),
            suggestable: t.confidence >= t.suggest_threshold,
            top_right: acceptable(&t.ranked_docs[..t.ranked_docs.len().min(1)]),
            suggest_right: acceptable(&t.ranked_docs[..t.ranked_docs.len().min(SUGGESTED)]),
            handoff_queue: policy::likeliest(&prediction, labels, IntentAction::Handoff)
                .and_then(|f| f.queue),
            expected_queue: case.queue.clone(),
        });
    }
    let gate_all = gate_samples(samples.iter());
    let gate_l2 = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
        .into_iter()
        .min_by(|a, b| gate_log_loss(&gate_all, *a).total_cmp(&gate_log_loss(&gate_all, *b)))
        .expect("penalties to choose from");
    // Each arbiter penalty's cross-validated predictions, computed once: with the thresholds
    // read from their own curve, they choose the penalty and give the per-language figures.
    // The penalty is chosen by decision accuracy, handoff recall and out-of-scope recall alike
    // (averaged over the languages): a missed handoff or an answered joke costs more than its
    // share of all cases says, and accuracy alone let the majority class (answers) decide.
    let evaluate = |runs: &[Vec<Prediction>]| {
        let mut thresholds = PerLanguage { de: 0.5, en: 0.5 };
        let mut curves = Vec::new();
        let mut score = 0.0;
        for lang in Language::ALL {
            let (t, curve) = choose_threshold(&samples, runs, lang);
            *thresholds.get_mut(lang) = t;
            let f = count(&samples, runs, lang, t).figures(runs.len());
            score += (f.decision_accuracy + f.handoff_recall + f.out_of_scope_recall) / 3.0;
            curves.push((lang, curve));
        }
        (score / Language::ALL.len() as f64, thresholds, curves)
    };
    let (l2, runs, (_, thresholds, curve)) = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
        .into_iter()
        .map(|l2| {
            let runs: Vec<Vec<Prediction>> = (0..SHUFFLES)
                .map(|seed| cross_validated(&samples, l2, gate_l2, FOLDS, seed))
                .collect();
            let evaluated = evaluate(&runs);
            (l2, runs, evaluated)
        })
        .max_by(|a, b| a.2 .0.total_cmp(&b.2 .0))
        .expect("penalties to choose from");
    let cross = Language::ALL
        .iter()
        .map(|&lang| {
            let t = *thresholds.get(lang);
            (lang, count(&samples, &runs, lang, t).figures(runs.len()))
        })
        .collect();
    let all: Vec<(ArbiterInput, Verdict)> = samples
        .iter()
        .filter_map(|s| s.input.map(|i| (i, s.verdict())))
        .collect();
    Ok(ArbiterFit {
        arbiter: Arbiter::fit(&all, l2),
        l2,
        gate: AnswerGate::fit(&gate_all, gate_l2, thresholds),
        gate_l2,
        cross_validated: cross,
        curve,
    })
}
