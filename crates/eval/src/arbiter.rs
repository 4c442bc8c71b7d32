//! Fitting the arbiter (answer / handoff / decline) on labelled questions, with the
//! cross-validated figures an admin needs to trust it.

use crate::{Case, CaseResult, Expect};
use serde::Serialize;
use switchboard_core::plugins::IntentAction;
use switchboard_core::policy::{self, Arbiter, ArbiterInput, Verdict};
use switchboard_core::{ConversationContext, Layers, Message, Outcome, Router, RouterConfig};
use switchboard_knowledge::{KnowledgeError, Language};

/// Folds of the arbiter's cross-validation...
const FOLDS: usize = 10;
/// ...repeated with this many shuffles.
const SHUFFLES: u64 = 5;

/// What a case contributes to the fit.
#[derive(Debug, Clone)]
struct Sample {
    lang: Language,
    expect: Expect,
    input: Option<ArbiterInput>,
    /// The whole system's result when a conversation act decided (the arbiter was not asked).
    decided_without_arbiter: Option<bool>,
    /// The guidance path alone (intents off): right, answered confidently, and its top right.
    guidance_right: bool,
    guidance_answered: bool,
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

    /// (right, answered confidently, answered and right) when the arbiter says `verdict`.
    fn outcome(&self, verdict: Verdict) -> (bool, bool, bool) {
        if let Some(right) = self.decided_without_arbiter {
            return (right, false, false);
        }
        match verdict {
            Verdict::Answer => {
                let right = self.expect == Expect::Answer && self.guidance_right;
                (right, self.guidance_answered, self.guidance_answered && right)
            }
            Verdict::Handoff => (
                self.expect == Expect::Handoff && self.handoff_queue == self.expected_queue,
                false,
                false,
            ),
            Verdict::Decline => (self.expect == Expect::OutOfScope, false, false),
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

/// The fit and how well it holds out of sample.
#[derive(Debug, Clone, Serialize)]
pub struct ArbiterFit {
    /// Fitted on all cases.
    pub arbiter: Arbiter,
    /// The L2 penalty chosen (by cross-validated decision accuracy).
    pub l2: f64,
    /// Cross-validated figures per language (10 folds, 5 shuffles).
    pub cross_validated: Vec<(Language, ArbiterFigures)>,
}

fn figures(samples: &[&Sample], verdicts: &[Verdict]) -> ArbiterFigures {
    let mut f = ArbiterFigures {
        cases: samples.len(),
        ..ArbiterFigures::default()
    };
    let (mut right, mut answered, mut answered_right, mut answer_cases, mut answer_right) = (0, 0, 0, 0, 0);
    let (mut handoffs, mut handoffs_right, mut oos, mut oos_right) = (0, 0, 0, 0);
    for (s, v) in samples.iter().zip(verdicts) {
        let (ok, a, ar) = s.outcome(*v);
        right += usize::from(ok);
        answered += usize::from(a);
        answered_right += usize::from(ar);
        match s.expect {
            Expect::Answer => {
                answer_cases += 1;
                answer_right += usize::from(ar);
            }
            Expect::Handoff => {
                handoffs += 1;
                handoffs_right += usize::from(ok);
            }
            Expect::OutOfScope => {
                oos += 1;
                oos_right += usize::from(ok);
            }
        }
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    f.decision_accuracy = share(right, samples.len());
    f.handoff_recall = share(handoffs_right, handoffs);
    f.out_of_scope_recall = share(oos_right, oos);
    f.answer_precision = share(answered_right, answered);
    f.answer_coverage = share(answer_right, answer_cases);
    f
}

/// Cross-validated verdicts for every sample (`folds` folds, one shuffle per `seed`).
fn cross_validated(samples: &[Sample], l2: f64, folds: usize, seed: u64) -> Vec<Verdict> {
    let mut order: Vec<usize> = (0..samples.len()).collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut order);
    let mut verdicts = vec![Verdict::Answer; samples.len()];
    for fold in 0..folds {
        let train: Vec<(ArbiterInput, Verdict)> = order
            .iter()
            .enumerate()
            .filter(|(k, _)| k % folds != fold)
            .filter_map(|(_, &i)| samples[i].input.map(|input| (input, samples[i].verdict())))
            .collect();
        let arbiter = Arbiter::fit(&train, l2);
        for (_, &i) in order.iter().enumerate().filter(|(k, _)| k % folds == fold) {
            if let Some(input) = samples[i].input {
                verdicts[i] = arbiter.verdict(&input).0;
            }
        }
    }
    verdicts
}

/// Runs every case through the router (with and without intents), fits the arbiter and
/// cross-validates it.
pub fn fit_arbiter(
    router: &Router,
    cases: &[Case],
    now: jiff::Timestamp,
) -> Result<ArbiterFit, KnowledgeError> {
    let guidance_only = router.with_config(RouterConfig {
        layers: Layers {
            intents: false,
            ..router.config().layers
        },
        ..*router.config()
    });
    let labels = &router.plugins().classifier.labels;
    let mut samples = Vec::with_capacity(cases.len());
    for case in cases {
        let mut message = Message::text(case.question.clone());
        message.language_hint = Some(case.lang);
        let full = router.decide(&message, &mut ConversationContext::default(), now)?;
        let guidance = guidance_only.decide(&message, &mut ConversationContext::default(), now)?;
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
        samples.push(Sample {
            lang: case.lang,
            expect: case.expect,
            input: full.trace.arbiter_input,
            decided_without_arbiter,
            guidance_right: CaseResult::from_decision(case, &guidance).is_correct(),
            guidance_answered: guidance.outcome == Outcome::Answer,
            handoff_queue: policy::likeliest(&prediction, labels, IntentAction::Handoff)
                .and_then(|f| f.queue),
            expected_queue: case.queue.clone(),
        });
    }
    // Each penalty's cross-validated verdicts, computed once: they choose the penalty and give
    // the per-language figures.
    let everything: Vec<&Sample> = samples.iter().collect();
    let accuracy = |runs: &[Vec<Verdict>]| -> f64 {
        runs.iter()
            .map(|v| figures(&everything, v).decision_accuracy)
            .sum::<f64>()
            / runs.len() as f64
    };
    let (l2, runs) = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
        .into_iter()
        .map(|l2| {
            let runs: Vec<Vec<Verdict>> = (0..SHUFFLES)
                .map(|seed| cross_validated(&samples, l2, FOLDS, seed))
                .collect();
            (l2, runs)
        })
        .max_by(|a, b| accuracy(&a.1).total_cmp(&accuracy(&b.1)))
        .expect("penalties to choose from");
    let mut cross = Vec::new();
    for lang in Language::ALL {
        let mut sum = ArbiterFigures::default();
        for verdicts in &runs {
            let (mine, v): (Vec<&Sample>, Vec<Verdict>) = samples
                .iter()
                .zip(verdicts.iter().copied())
                .filter(|(s, _)| s.lang == lang)
                .unzip();
            let f = figures(&mine, &v);
            sum.cases = f.cases;
            sum.decision_accuracy += f.decision_accuracy / SHUFFLES as f64;
            sum.handoff_recall += f.handoff_recall / SHUFFLES as f64;
            sum.out_of_scope_recall += f.out_of_scope_recall / SHUFFLES as f64;
            sum.answer_precision += f.answer_precision / SHUFFLES as f64;
            sum.answer_coverage += f.answer_coverage / SHUFFLES as f64;
        }
        cross.push((lang, sum));
    }
    let all: Vec<(ArbiterInput, Verdict)> = samples
        .iter()
        .filter_map(|s| s.input.map(|i| (i, s.verdict())))
        .collect();
    Ok(ArbiterFit {
        arbiter: Arbiter::fit(&all, l2),
        l2,
        cross_validated: cross,
    })
}
