//! The learnt ranking: the retrieved sections re-scored by a linear model over what retrieval
//! knows of each (search score, coverage of the question in the section and in its title,
//! the document-kind prior, how many other retrieved documents link to it, whether it is the
//! document's introduction, its length).
//!
//! The weights are learnt pairwise (a right section should outscore a wrong one of the same
//! question) by `switchboard eval --fit-ranker` on labelled questions, which prints the
//! cross-validated hit@1 and hit@3 beside the hand-set ranking's.

use crate::intents::{FitSettings, SoftmaxModel, SparseRow};
use serde::Serialize;

/// Number of ranking features.
pub const RANK_FEATURES: usize = 8;
/// Names of the ranking features, in order.
pub const RANK_FEATURE_NAMES: [&str; RANK_FEATURES] = [
    "ln(search score)",
    "search score / best",
    "coverage",
    "title coverage",
    "ln(prior)",
    "linking documents",
    "introduction",
    "ln(length)",
];

/// What the ranker reads of one retrieved section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RankInput {
    /// The search score (BM25 over the fields, re-ranked by coverage when that layer is on).
    pub score: f32,
    /// The best search score of the question.
    pub best_score: f32,
    /// Rarity-weighted share of the question in the section.
    pub coverage: f32,
    /// The same in its document's title and description and its headings.
    pub title_coverage: f32,
    /// The document-kind prior.
    pub prior: f32,
    /// Other retrieved documents that link to the section's document.
    pub linking_documents: usize,
    /// Whether the section is its document's introduction.
    pub introduction: bool,
    /// Characters of the section.
    pub length: usize,
}

/// Each other retrieved document that links to a section's document multiplies the section's
/// score by `1 + LINK_AUTHORITY_WEIGHT` in the hand-set ranking.
pub const LINK_AUTHORITY_WEIGHT: f32 = 0.1;

impl RankInput {
    /// The hand-set ranking's score (the learnt ranking's layer off): search score, times the
    /// document-kind prior, times link authority.
    pub fn hand_set_score(&self) -> f32 {
        self.score * self.prior * (1.0 + LINK_AUTHORITY_WEIGHT * self.linking_documents as f32)
    }

    /// The feature vector.
    pub fn features(&self) -> [f32; RANK_FEATURES] {
        let ln = |x: f32| x.max(1e-3).ln();
        [
            ln(self.score),
            if self.best_score > 0.0 {
                self.score / self.best_score
            } else {
                0.0
            },
            self.coverage,
            self.title_coverage,
            ln(self.prior),
            self.linking_documents.min(3) as f32,
            if self.introduction { 1.0 } else { 0.0 },
            ln(1.0 + self.length as f32 / 1000.0),
        ]
    }
}

/// The ranker's weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranker {
    /// One weight per feature.
    pub weights: [f32; RANK_FEATURES],
}

/// Fitted by `switchboard eval --cases ../shared/eval/dev.toml --cases ../shared/eval/dev-2.toml
/// --knowledge ../shared/corpus --fit-ranker --pseudo-queries 1000` (README, "Learnt ranking":
/// cross-validated figures): the questions of both dev sets and 1,000 section headings of the
/// guidance asked as questions.
const FITTED: [f32; RANK_FEATURES] = [1.362, 1.080, 0.507, 2.476, 0.857, 0.151, -0.598, -0.419];

impl Default for Ranker {
    fn default() -> Self {
        Ranker { weights: FITTED }
    }
}

impl Ranker {
    /// The learnt score of a section: higher ranks first. On the search score's scale (the
    /// linear score divided by the weight of ln(search score) before `exp`), so shares of it
    /// (margins, a document's mass, "see also") read as they do with the hand-set ranking.
    pub fn score(&self, input: &RankInput) -> f32 {
        let z: f32 = input
            .features()
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| x * w)
            .sum();
        let scale = if self.weights[0] > 0.1 {
            self.weights[0]
        } else {
            1.0
        };
        (z / scale).clamp(-30.0, 30.0).exp()
    }

    /// Fits the weights on questions, each a list of retrieved sections marked right or wrong:
    /// every right section should outscore every wrong one of its question (pairwise logistic
    /// loss, L2 penalty `l2`).
    pub fn fit(questions: &[Vec<(RankInput, bool)>], l2: f64) -> Self {
        let mut rows: Vec<SparseRow> = Vec::new();
        let mut labels = Vec::new();
        for question in questions {
            for (right, _) in question.iter().filter(|(_, r)| *r) {
                for (wrong, _) in question.iter().filter(|(_, r)| !*r) {
                    let (a, b) = (right.features(), wrong.features());
                    let diff: SparseRow = (0..RANK_FEATURES).map(|i| (i as u32, a[i] - b[i])).collect();
                    // Both orders, so the pair's label is symmetric and the bias stays near 0.
                    rows.push(diff.iter().map(|&(i, v)| (i, -v)).collect());
                    labels.push(0);
                    rows.push(diff);
                    labels.push(1);
                }
            }
        }
        if rows.is_empty() {
            return Ranker::default();
        }
        let model = SoftmaxModel::fit(
            &rows,
            &labels,
            2,
            RANK_FEATURES,
            FitSettings {
                l2,
                max_iterations: 300,
            },
        );
        let mut weights = [0.0; RANK_FEATURES];
        for (f, w) in weights.iter_mut().enumerate() {
            *w = model.weight(1, f as u32) - model.weight(0, f as u32);
        }
        Ranker { weights }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_that_separates_right_from_wrong_gets_a_positive_weight() {
        // Right sections cover more of the question; the search score says nothing.
        let questions: Vec<Vec<(RankInput, bool)>> = (0..30)
            .map(|q| {
                let section = |coverage: f32, right: bool| {
                    let input = RankInput {
                        score: 5.0 + (q % 7) as f32,
                        best_score: 12.0,
                        coverage,
                        prior: 1.0,
                        length: 400,
                        ..RankInput::default()
                    };
                    (input, right)
                };
                vec![section(0.8, true), section(0.3, false), section(0.5, false)]
            })
            .collect();
        let ranker = Ranker::fit(&questions, 1e-3);
        assert!(ranker.weights[2] > 0.5, "{:?}", ranker.weights);
        let better = RankInput {
            coverage: 0.8,
            score: 6.0,
            best_score: 12.0,
            prior: 1.0,
            ..RankInput::default()
        };
        let worse = RankInput {
            coverage: 0.3,
            ..better
        };
        assert!(ranker.score(&better) > ranker.score(&worse));
    }
}
