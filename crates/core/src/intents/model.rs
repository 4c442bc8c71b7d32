//! Multinomial logistic regression over sparse features, fitted with L-BFGS (`argmin`).
//!
//! linfa-logistic fits the same model but only over dense matrices: with ~1,300 examples and
//! ~40,000 character and word n-grams that is a 400 MB matrix and seconds per fit. Here only the
//! objective is ours (a few lines over sparse rows); the optimiser is argmin's L-BFGS.

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;

/// One example: sparse feature values and its class.
pub type SparseRow = Vec<(u32, f32)>;

/// A dense feature vector as a row (feature `i` is `values[i]`).
pub fn dense_row(values: &[f32]) -> SparseRow {
    values.iter().enumerate().map(|(i, v)| (i as u32, *v)).collect()
}

/// A fitted model: one weight per feature and class, and a bias per class.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SoftmaxModel {
    classes: usize,
    features: usize,
    /// `(features + 1) x classes`, the biases last. Feature-major: a message's row touches a
    /// few hundred of ~50,000 features, and each one's weights for all classes lie together
    /// (one cache line) instead of one per class spread over the whole matrix.
    weights: Vec<f32>,
}

/// Settings of a fit.
#[derive(Debug, Clone, Copy)]
pub struct FitSettings {
    /// L2 penalty on the weights (not the biases), per example.
    pub l2: f64,
    /// L-BFGS iterations at most.
    pub max_iterations: u64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            l2: 1e-4,
            max_iterations: 40,
        }
    }
}

struct Objective<'a> {
    rows: &'a [SparseRow],
    labels: &'a [usize],
    classes: usize,
    features: usize,
    l2: f64,
    /// The last point evaluated, with its cost and gradient: the line search asks for the cost
    /// and then the gradient of the same point, and one pass over the rows gives both.
    last: std::sync::Mutex<Option<Evaluated>>,
}

/// A point, its cost and its gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// The parameters are laid out like the model's weights, feature-major with the biases last: a
/// row's features then read and write each feature's weights for all classes in one place.
impl Objective<'_> {
    /// Mean cross-entropy plus the penalty, and its gradient.
    fn evaluate(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let classes = self.classes;
        let n = self.rows.len().max(1) as f64;
        let (weights, biases) = params.split_at(self.features * classes);
        let mut gradient = vec![0.0; params.len()];
        let mut loss = 0.0;
        let mut scores = vec![0.0; classes];
        for (row, &label) in self.rows.iter().zip(self.labels) {
            scores.copy_from_slice(biases);
            for &(f, v) in row {
                let w = &weights[f as usize * classes..(f as usize + 1) * classes];
                for (score, w) in scores.iter_mut().zip(w) {
                    *score += w * f64::from(v);
                }
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            let log_norm = max + sum.ln();
            loss += log_norm - scores[label];
            // From here on `scores` holds each class's residual: probability minus target.
            for (c, score) in scores.iter_mut().enumerate() {
                *score = ((*score - log_norm).exp() - if c == label { 1.0 } else { 0.0 }) / n;
            }
            let (weight_grad, bias_grad) = gradient.split_at_mut(self.features * classes);
            for &(f, v) in row {
                let g = &mut weight_grad[f as usize * classes..(f as usize + 1) * classes];
                for (g, residual) in g.iter_mut().zip(&scores) {
                    *g += residual * f64::from(v);
                }
            }
            for (g, residual) in bias_grad.iter_mut().zip(&scores) {
                *g += residual;
            }
        }
        let mut penalty = 0.0;
        for (g, w) in gradient.iter_mut().zip(weights) {
            penalty += w * w;
            *g += self.l2 * w;
        }
        (loss / n + 0.5 * self.l2 * penalty, gradient)
    }

    /// What `read` takes from the evaluation at `params`: the one kept when it was the last
    /// point evaluated, else a new one (kept in its place).
    fn at<R>(&self, params: &[f64], read: impl FnOnce(&Evaluated) -> R) -> R {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let evaluated = match last.take() {
            Some(kept) if kept.0 == params => kept,
            _ => {
                let (cost, gradient) = self.evaluate(params);
                (params.to_vec(), cost, gradient)
            }
        };
        read(last.insert(evaluated))
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, params: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.at(params, |e| e.1))
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, params: &Self::Param) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.at(params, |e| e.2.clone()))
    }
}

impl SoftmaxModel {
    /// Fits a model on `rows` (features below `features`) labelled with classes below `classes`.
    pub fn fit(
        rows: &[SparseRow],
        labels: &[usize],
        classes: usize,
        features: usize,
        settings: FitSettings,
    ) -> Self {
        let objective = Objective {
            rows,
            labels,
            classes,
            features,
            l2: settings.l2,
            last: std::sync::Mutex::new(None),
        };
        let start = vec![0.0; classes * (features + 1)];
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
        let fitted = Executor::new(objective, solver)
            .configure(|state| state.param(start.clone()).max_iters(settings.max_iterations))
            .run()
            .ok()
            .and_then(|result| result.state().get_best_param().cloned())
            .unwrap_or(start);
        let weights = fitted.into_iter().map(|w| w as f32).collect();
        SoftmaxModel {
            classes,
            features,
            weights,
        }
    }

    /// Class probabilities for one row.
    pub fn probabilities(&self, row: &SparseRow) -> Vec<f32> {
        let of = |feature: usize| &self.weights[feature * self.classes..(feature + 1) * self.classes];
        let mut scores: Vec<f32> = of(self.features).to_vec();
        for &(f, v) in row.iter().filter(|(f, _)| (*f as usize) < self.features) {
            for (score, w) in scores.iter_mut().zip(of(f as usize)) {
                *score += w * v;
            }
        }
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for s in &mut scores {
            *s = (*s - max).exp();
            sum += *s;
        }
        for s in &mut scores {
            *s /= sum;
        }
        scores
    }

    /// The bias of `class`.
    pub fn bias(&self, class: usize) -> f32 {
        if class < self.classes {
            self.weights[self.features * self.classes + class]
        } else {
            0.0
        }
    }

    /// The weight of `feature` for `class` (what a feature contributes to a class's score).
    pub fn weight(&self, class: usize, feature: u32) -> f32 {
        if (feature as usize) < self.features && class < self.classes {
            self.weights[feature as usize * self.classes + class]
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_that_separates_the_classes_gets_a_positive_weight_for_its_class() {
        // Feature 0 marks class 0, feature 1 class 1; feature 2 is noise on both.
        let rows: Vec<SparseRow> = vec![
            vec![(0, 1.0), (2, 1.0)],
            vec![(0, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
            vec![(1, 1.0)],
        ];
        let labels = [0, 0, 1, 1];
        let model = SoftmaxModel::fit(&rows, &labels, 2, 3, FitSettings::default());
        assert!(model.weight(0, 0) > 0.5 && model.weight(1, 1) > 0.5);
        assert!(model.weight(0, 0) > model.weight(0, 2).abs());
        let p = model.probabilities(&vec![(0, 1.0)]);
        assert!(p[0] > 0.9, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}
