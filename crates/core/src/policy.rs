//! The policy table: what the router does with what the intent classifier recognised and what
//! the guidance knows.
//!
//! | the classifier's likeliest outcome | acted on when |
//! |---|---|
//! | greeting, thanks, feedback | its probability >= `conversation` |
//! | a handoff (a person must act), support-info, not-a-CSP | its probability >= `certain_handoff`, whatever the guidance says |
//! | anything, when neither the classifier nor the guidance knows half of the message's words | never (declined as not understood) |
//! | anything else | the arbiter chooses answer, handoff or decline |
//! | anything the arbiter would decline, when redaction removed payment details (a card number, its security code, an IBAN, a bank account) | the likelier of answer and handoff: whoever pastes them wants to pay or be paid, which is billing, not out of scope |
//!
//! The arbiter is a three-way logistic model over the classifier's probabilities per outcome
//! (information, a handoff to any queue, out of scope, the rest) and the guidance's signals
//! (retrieval confidence, the share of the message's words the guidance knows, the top section's
//! coverage, the language). A request for a person is recognised from its wording; whether an
//! information question can be answered, from the guidance: the arbiter weighs one against the
//! other. Its weights are fitted by `switchboard eval --fit-arbiter` on labelled questions and
//! reported there with cross-validated figures (README, "Learnt intents").

use crate::intents::{dense_row, IntentLabel, IntentPrediction, SoftmaxModel, SparseRow};
use crate::plugins::{FiredIntent, IntentAction};
use serde::Serialize;

/// What the arbiter chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The guidance answers (answer, suggest or decline by retrieval confidence).
    Answer,
    /// A person must act.
    Handoff,
    /// Out of scope.
    Decline,
}

impl Verdict {
    /// All verdicts, in the arbiter's class order.
    pub const ALL: [Verdict; 3] = [Verdict::Answer, Verdict::Handoff, Verdict::Decline];
}

/// Number of arbiter features.
pub const ARBITER_FEATURES: usize = 7;
/// Names of the arbiter features, in order (for traces and the fitted table).
pub const ARBITER_FEATURE_NAMES: [&str; ARBITER_FEATURES] = [
    "p(information)",
    "p(handoff)",
    "p(out of scope)",
    "retrieval confidence",
    "known words",
    "coverage",
    "german",
];

/// What the arbiter reads of one message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ArbiterInput {
    /// Probability of information intents (action `answer`).
    pub information: f32,
    /// Summed probability of handoff intents.
    pub handoff: f32,
    /// Summed probability of out-of-scope intents (action `decline`).
    pub decline: f32,
    /// The rest (conversation acts, support-info, not-a-CSP).
    pub other: f32,
    /// Retrieval confidence in the top section.
    pub confidence: f32,
    /// Share of the message's words the guidance knows.
    pub known_share: f32,
    /// The top section's rarity-weighted coverage of the message.
    pub coverage: f32,
    /// Whether the message is German.
    pub german: bool,
    /// Whether redaction removed payment details from the message. Not a feature (no labelled
    /// message carries them): a policy row. A password or a key says less: "my Netflix
    /// password is ..." is still out of scope.
    pub carried_payment_details: bool,
}

impl ArbiterInput {
    /// The classifier's probabilities summed per kind of outcome, with the guidance's signals.
    pub fn new(
        prediction: &IntentPrediction,
        labels: &[IntentLabel],
        confidence: f32,
        known_share: f32,
        coverage: f32,
        german: bool,
    ) -> Self {
        let mass = |pick: fn(IntentAction) -> bool| {
            prediction.mass(|l| labels.get(l).is_some_and(|i| pick(i.action)))
        };
        let information = mass(|a| a == IntentAction::Answer);
        let handoff = mass(|a| a == IntentAction::Handoff);
        let decline = mass(|a| a == IntentAction::Decline);
        ArbiterInput {
            information,
            handoff,
            decline,
            other: (1.0 - information - handoff - decline).max(0.0),
            confidence,
            known_share,
            coverage,
            german,
            carried_payment_details: false,
        }
    }

    /// The feature vector. Probabilities as they are, not their logarithms: a log makes the
    /// difference between 0.001 and 0.0001 as large as between 0.1 and 0.01, and a fit on a few
    /// hundred questions extrapolates wildly from it. The rest (`other`) is what the three leave.
    pub fn features(&self) -> [f32; ARBITER_FEATURES] {
        [
            self.information,
            self.handoff,
            self.decline,
            self.confidence,
            self.known_share,
            self.coverage,
            if self.german { 1.0 } else { 0.0 },
        ]
    }

    fn row(&self) -> SparseRow {
        dense_row(&self.features())
    }
}

/// The arbiter's weights: one row (features, then bias) per verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Arbiter {
    /// `[verdict][feature]`, bias last.
    pub weights: [[f32; ARBITER_FEATURES + 1]; 3],
}

/// Fitted by `switchboard eval --cases ../shared/eval/dev.toml --cases ../shared/eval/dev-2.toml
/// --knowledge ../shared/corpus --fit-arbiter` (README, "Learnt intents": cross-validated figures).
const FITTED: [[f32; ARBITER_FEATURES + 1]; 3] = [
    [2.08, -1.43, -2.62, 2.45, 1.54, 2.17, 0.36, -2.58], // Answer
    [-1.92, 4.31, -1.52, -0.86, 0.18, -0.92, -0.03, -0.26], // Handoff
    [-0.16, -2.88, 4.15, -1.59, -1.73, -1.25, -0.33, 2.84], // Decline
];

impl Default for Arbiter {
    fn default() -> Self {
        Arbiter { weights: FITTED }
    }
}

impl Arbiter {
    /// The verdict and its probability distribution (in [`Verdict::ALL`] order).
    pub fn verdict(&self, input: &ArbiterInput) -> (Verdict, [f32; 3]) {
        let x = input.features();
        let mut scores = [0.0f32; 3];
        for (score, w) in scores.iter_mut().zip(&self.weights) {
            *score = w[ARBITER_FEATURES] + x.iter().zip(w.iter()).map(|(a, b)| a * b).sum::<f32>();
        }
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = scores.iter().map(|s| (s - max).exp()).sum();
        let probs = scores.map(|s| (s - max).exp() / sum);
        let best = (0..3).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap_or(0);
        (Verdict::ALL[best], probs)
    }

    /// Fits the arbiter on labelled messages (L2 penalty `l2` on the weights).
    pub fn fit(samples: &[(ArbiterInput, Verdict)], l2: f64) -> Self {
        let rows: Vec<SparseRow> = samples.iter().map(|(i, _)| i.row()).collect();
        let labels: Vec<usize> = samples
            .iter()
            .map(|(_, v)| Verdict::ALL.iter().position(|x| x == v).unwrap_or(0))
            .collect();
        let model = SoftmaxModel::fit(
            &rows,
            &labels,
            3,
            ARBITER_FEATURES,
            crate::intents::FitSettings {
                l2,
                max_iterations: 500,
            },
        );
        let mut weights = [[0.0; ARBITER_FEATURES + 1]; 3];
        for (class, row) in weights.iter_mut().enumerate() {
            for (f, w) in row.iter_mut().enumerate() {
                *w = model.weight(class, f as u32);
            }
            row[ARBITER_FEATURES] = model.bias(class);
        }
        Arbiter { weights }
    }
}

/// Below this share of the message's words known to the classifier (and to the guidance), a
/// learnt intent is not acted on.
const UNDERSTOOD_SHARE: f32 = 0.5;

/// Thresholds of the policy table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntentPolicy {
    /// Greetings, thanks and feedback are acted on from this probability.
    pub conversation: f32,
    /// A handoff is acted on from this probability without asking the arbiter: guidance that
    /// mentions talking to a person does not answer "I want to talk to a person". The lowest
    /// value (of 0.6-0.95) that loses no case in the arbiter's cross-validation. Support-info
    /// and not-a-CSP need the same: at 0.5 the support model's reply took questions about how
    /// partner and Microsoft share support that the guidance answers.
    pub certain_handoff: f32,
    /// Chooses between answer, handoff and decline.
    pub arbiter: Arbiter,
}

impl Default for IntentPolicy {
    fn default() -> Self {
        IntentPolicy {
            conversation: 0.5,
            certain_handoff: 0.7,
            arbiter: Arbiter::default(),
        }
    }
}

/// The classifier's probabilities summed per outcome (intents with the same action and queue are
/// one outcome: two billing intents add up), best first: `(action, probability, likeliest label)`.
fn outcomes(prediction: &IntentPrediction, labels: &[IntentLabel]) -> Vec<(IntentAction, f32, usize)> {
    let mut out: Vec<(IntentAction, Option<&str>, f32, usize)> = Vec::new();
    for &(label, p) in &prediction.ranked {
        let Some(intent) = labels.get(label) else { continue };
        let key = (intent.action, intent.queue.as_deref());
        match out.iter_mut().find(|o| (o.0, o.1) == key) {
            Some(o) => o.2 += p,
            // Ranked best first: the first intent of an outcome is its likeliest.
            None => out.push((key.0, key.1, p, label)),
        }
    }
    out.sort_by(|a, b| b.2.total_cmp(&a.2));
    out.into_iter().map(|(a, _, p, l)| (a, p, l)).collect()
}

fn fired(intent: &IntentLabel, p: f32, why: &str) -> FiredIntent {
    FiredIntent {
        plugin: intent.plugin.clone(),
        intent: intent.intent.clone(),
        action: intent.action,
        queue: intent.queue.clone(),
        priority: 0,
        matched: format!("{why}, p = {p:.2}"),
        probability: Some(p),
    }
}

/// The policy table, applied: the intent acted on (if any) and, when the arbiter was asked, its
/// probabilities of answer, handoff and decline. The classifier alone decides a conversation act
/// (greeting, thanks, feedback) at or above `conversation` and a handoff, support-info or not-a-CSP
/// at or above `certain_handoff`; otherwise the arbiter chooses, and a handoff goes to the
/// likeliest queue. Nothing is acted on without a model, or when neither the classifier nor the
/// guidance knows half of the message's words.
pub fn decide(
    prediction: &IntentPrediction,
    labels: &[IntentLabel],
    policy: &IntentPolicy,
    input: &ArbiterInput,
) -> (Option<FiredIntent>, Option<[f32; 3]>) {
    let outcomes = outcomes(prediction, labels);
    let Some(&(action, p, label)) = outcomes.first() else {
        return (None, None);
    };
    if prediction.known_share >= UNDERSTOOD_SHARE {
        let needed = match action {
            IntentAction::Answer | IntentAction::Decline => None,
            // Like a handoff, the support model's reply and the pointer to a product portal
            // replace an answer from the guidance, which often covers the same ground.
            IntentAction::Handoff | IntentAction::SupportInfo | IntentAction::NotCsp => {
                Some(policy.certain_handoff)
            }
            // Conversation acts; and a follow-up, a class only when the customer has a ticket,
            // where "how long will that take?" is about it.
            _ => Some(policy.conversation),
        };
        if needed.is_some_and(|needed| p >= needed) {
            return (Some(fired(&labels[label], p, "learnt")), None);
        }
    }
    let (verdict, probs) = policy.arbiter.verdict(input);
    // Keyboard mash around one real word: the classifier reads only that word.
    if prediction.known_share < UNDERSTOOD_SHARE && input.known_share < UNDERSTOOD_SHARE {
        return (None, Some(probs));
    }
    let (verdict, why) = match verdict {
        Verdict::Decline if input.carried_payment_details => {
            let handoff = probs[1] >= probs[0];
            let verdict = if handoff {
                Verdict::Handoff
            } else {
                Verdict::Answer
            };
            (
                verdict,
                format!("payment details removed, not out of scope: arbiter {verdict:?}"),
            )
        }
        _ => (
            verdict,
            format!(
                "arbiter {verdict:?} {:.2}",
                probs[Verdict::ALL.iter().position(|v| *v == verdict).unwrap_or(0)]
            ),
        ),
    };
    let wanted = match verdict {
        Verdict::Answer => return (None, Some(probs)),
        Verdict::Handoff => IntentAction::Handoff,
        Verdict::Decline => IntentAction::Decline,
    };
    let chosen = outcomes
        .iter()
        .find(|(a, _, _)| *a == wanted)
        .map(|&(_, p, label)| fired(&labels[label], p, &why));
    (chosen, Some(probs))
}

/// The classifier's likeliest outcome with `action` (for a handoff: the queue whose intents are
/// likeliest together).
pub fn likeliest(
    prediction: &IntentPrediction,
    labels: &[IntentLabel],
    action: IntentAction,
) -> Option<FiredIntent> {
    outcomes(prediction, labels)
        .into_iter()
        .find(|(a, _, _)| *a == action)
        .map(|(_, p, label)| fired(&labels[label], p, "learnt"))
}
