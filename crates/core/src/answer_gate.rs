//! The answer gate: when the arbiter says the guidance should answer, whether the bot answers
//! from its top section or only suggests sections.
//!
//! A logistic model of the probability that the top section's document is a right answer to a
//! question that wants one, over what retrieval and the classifier know of the message. Its
//! weights and the per-language thresholds are fitted by `switchboard eval --fit-arbiter` on
//! labelled questions: the threshold is the lowest whose cross-validated answer precision
//! reaches the target (README, "Confidence").

use crate::intents::{dense_row, FitSettings, SoftmaxModel, SparseRow};
use crate::plugins::PerLanguage;
use serde::Serialize;

/// Number of gate features.
pub const GATE_FEATURES: usize = 11;
/// Names of the gate features, in order.
pub const GATE_FEATURE_NAMES: [&str; GATE_FEATURES] = [
    "coverage",
    "title coverage",
    "margin",
    "known words",
    "doc mass",
    "p(information)",
    "p(handoff)",
    "p(out of scope)",
    "german",
    "ln(prior)",
    "introduction",
];

/// What the gate reads of one message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GateInput {
    /// The top section's rarity-weighted coverage of the message.
    pub coverage: f32,
    /// The same, of its document's title and description.
    pub title_coverage: f32,
    /// Its lead over the best other document not linked with it, as a share of its score.
    pub margin: f32,
    /// Share of the message's words the guidance knows.
    pub known_share: f32,
    /// The top document's share of the retrieved sections' score.
    pub doc_mass: f32,
    /// The classifier's probability of an information question.
    pub information: f32,
    /// Its probability of a handoff.
    pub handoff: f32,
    /// Its probability of out of scope.
    pub decline: f32,
    /// Whether the message is German.
    pub german: bool,
    /// The top document's kind prior (developer pages and announcements below how-to pages).
    pub prior: f32,
    /// Whether the top section is its document's introduction.
    pub introduction: bool,
}

impl Default for GateInput {
    fn default() -> Self {
        GateInput {
            coverage: 0.0,
            title_coverage: 0.0,
            margin: 0.0,
            known_share: 0.0,
            doc_mass: 0.0,
            information: 0.0,
            handoff: 0.0,
            decline: 0.0,
            german: false,
            // Priors multiply: 1 is a document of no particular kind.
            prior: 1.0,
            introduction: false,
        }
    }
}

impl GateInput {
    /// The feature vector.
    pub fn features(&self) -> [f32; GATE_FEATURES] {
        [
            self.coverage,
            self.title_coverage,
            self.margin.clamp(0.0, 1.0),
            self.known_share,
            self.doc_mass,
            self.information,
            self.handoff,
            self.decline,
            if self.german { 1.0 } else { 0.0 },
            self.prior.max(1e-3).ln(),
            if self.introduction { 1.0 } else { 0.0 },
        ]
    }

    fn row(&self) -> SparseRow {
        dense_row(&self.features())
    }
}

/// The gate's weights (features, then bias) and its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AnswerGate {
    /// Feature weights, bias last.
    pub weights: [f32; GATE_FEATURES + 1],
    /// The probability at or above which the bot answers, per language of the question.
    pub threshold: PerLanguage<f32>,
}

/// Fitted by `switchboard eval --cases ../shared/eval/dev.toml --cases ../shared/eval/dev-2.toml
/// --knowledge ../shared/corpus --fit-arbiter` (README, "Confidence": cross-validated curve).
const FITTED_WEIGHTS: [f32; GATE_FEATURES + 1] = [
    1.92, 0.24, 2.14, 1.28, 1.53, 1.31, -2.13, -2.88, 0.23, 4.14, 1.55, -3.56,
];
/// The thresholds chosen from the cross-validated precision curve.
const FITTED_THRESHOLD: PerLanguage<f32> = PerLanguage { de: 0.850, en: 0.950 };

impl Default for AnswerGate {
    fn default() -> Self {
        AnswerGate {
            weights: FITTED_WEIGHTS,
            threshold: FITTED_THRESHOLD,
        }
    }
}

impl AnswerGate {
    /// The estimated probability that the top section answers the message.
    pub fn probability(&self, input: &GateInput) -> f32 {
        let z = self.weights[GATE_FEATURES]
            + input
                .features()
                .iter()
                .zip(&self.weights)
                .map(|(x, w)| x * w)
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// Fits the weights on messages labelled with whether their top section is a right answer
    /// (L2 penalty `l2`); the thresholds are kept.
    pub fn fit(samples: &[(GateInput, bool)], l2: f64, threshold: PerLanguage<f32>) -> Self {
        let rows: Vec<SparseRow> = samples.iter().map(|(i, _)| i.row()).collect();
        let labels: Vec<usize> = samples.iter().map(|(_, right)| usize::from(*right)).collect();
        let model = SoftmaxModel::fit(
            &rows,
            &labels,
            2,
            GATE_FEATURES,
            FitSettings {
                l2,
                max_iterations: 500,
            },
        );
        // Two softmax classes are one logistic model with their difference as weights.
        let mut weights = [0.0; GATE_FEATURES + 1];
        for (f, w) in weights.iter_mut().enumerate().take(GATE_FEATURES) {
            *w = model.weight(1, f as u32) - model.weight(0, f as u32);
        }
        weights[GATE_FEATURES] = model.bias(1) - model.bias(0);
        AnswerGate { weights, threshold }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_that_separates_right_from_wrong_gets_a_positive_weight() {
        let mut samples = Vec::new();
        for i in 0..40 {
            let coverage = i as f32 / 40.0;
            let input = GateInput {
                coverage,
                information: 0.5,
                ..GateInput::default()
            };
            samples.push((input, coverage > 0.5));
        }
        let gate = AnswerGate::fit(&samples, 1e-3, PerLanguage { de: 0.5, en: 0.5 });
        assert!(gate.weights[0] > 1.0, "{:?}", gate.weights);
        let high = GateInput {
            coverage: 0.9,
            ..GateInput::default()
        };
        let low = GateInput {
            coverage: 0.1,
            ..GateInput::default()
        };
        assert!(gate.probability(&high) > 0.8 && gate.probability(&low) < 0.2);
    }
}
