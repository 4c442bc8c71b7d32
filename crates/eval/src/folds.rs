//! Shuffled k-fold splits, the one way every fit in this crate is cross-validated.

/// Folds of a cross-validation...
pub(crate) const FOLDS: usize = 10;
/// ...repeated with this many shuffles.
pub(crate) const SHUFFLES: u64 = 5;

/// The (training, held-out) indices of each of `folds` folds over `n` items, shuffled by `seed`.
pub(crate) fn splits(n: usize, folds: usize, seed: u64) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut order: Vec<usize> = (0..n).collect();
    fastrand::Rng::with_seed(seed).shuffle(&mut order);
    (0..folds)
        .map(|fold| {
            let (mut training, mut held_out) = (Vec::new(), Vec::new());
            for (k, &i) in order.iter().enumerate() {
                if k % folds == fold {
                    held_out.push(i);
                } else {
                    training.push(i);
                }
            }
            (training, held_out)
        })
        .collect()
}
