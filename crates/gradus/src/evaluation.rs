//! Evaluation: loss, accuracy and top-5 accuracy of a model over a loader,
//! in evaluation mode with nothing recorded.

use crate::GradusError;
use crate::replicas::Replicas;
use gradus_autodiff::{Tape, Var, no_grad};
use gradus_data::DataLoader;
use gradus_loss::{BatchTargets, Loss};
use gradus_nn::{ActivationStats, Module};
use gradus_tensor::{Float, Tensor};

/// Loss and accuracy over a loader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss per example.
    pub loss: f64,
    /// Fraction of examples whose largest logit is the target class (NaN
    /// for value targets).
    pub accuracy: f64,
    /// Fraction of examples whose target class is among the 5 largest
    /// logits ([`top_k_correct`]; NaN for value targets).
    pub top5_accuracy: f64,
}

/// How many rows of `logits` `[batch, classes]` rank their target class
/// among the `k` largest: fewer than `k` logits strictly above the
/// target's (so a tie counts in the target's favour). With `k` at least the
/// class count every row counts.
///
/// # Examples
/// ```
/// use gradus::tensor::Tensor;
/// let logits = Tensor::from_vec(vec![0.1, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3]).unwrap();
/// assert_eq!(gradus::top_k_correct(&logits, &[2, 2], 1), 0);
/// // Row 1 ranks its 0.2 second; row 2 has 0.5 and 0.3 above its 0.2.
/// assert_eq!(gradus::top_k_correct(&logits, &[2, 2], 2), 1);
/// ```
///
/// # Panics
/// If `logits` is not 2-d with one row per target, or a target is not a class.
#[track_caller]
pub fn top_k_correct<T: Float>(logits: &Tensor<T>, targets: &[usize], k: usize) -> usize {
    assert!(
        logits.rank() == 2 && logits.shape()[0] == targets.len(),
        "top_k_correct: logits of shape {:?} for {} targets",
        logits.shape(),
        targets.len()
    );
    let classes = logits.shape()[1];
    let logits = logits.contiguous();
    let rows = logits.as_slice().expect("made contiguous").chunks(classes.max(1));
    rows.zip(targets)
        .filter(|&(row, &t)| {
            assert!(t < classes, "top_k_correct: target {t} is not one of {classes} classes");
            row.iter().filter(|&&z| z > row[t]).count() < k
        })
        .count()
}

/// Mean loss and accuracy of `model` (in evaluation mode, nothing recorded)
/// over every batch of `loader`'s first epoch.
///
/// # Errors
/// Data or loss errors.
pub fn evaluate<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    loader: &DataLoader,
) -> Result<Evaluation, GradusError> {
    run_evaluation(model, loss, loader, None, None)
}

/// [`evaluate`], also counting dead and saturated units into `activity`
/// when given (in a data-parallel run: this rank's shard's). With
/// `replicas`, each rank evaluates its shard of every batch and the sums
/// are combined in rank order.
pub(crate) fn run_evaluation<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    loader: &DataLoader,
    mut activity: Option<&mut ActivationStats>,
    replicas: Option<&dyn Replicas<T>>,
) -> Result<Evaluation, GradusError> {
    // The mode the model was in comes back on every way out, errors included.
    struct Restore<'m, T: Float>(&'m dyn Module<T>, Option<bool>);
    impl<T: Float> Drop for Restore<'_, T> {
        fn drop(&mut self) {
            if let Some(mode) = self.1 {
                self.0.set_training(mode);
            }
        }
    }
    let _restore = Restore(model, model.training());
    model.eval();
    // (loss sum, correct, top-5 correct, examples, all targets are classes)
    let mut sums = [0.0, 0.0, 0.0, 0.0, 1.0];
    let mut local = || -> Result<(), GradusError> {
        for batch in loader.epoch::<T>(0) {
            let batch = batch?;
            let b = batch.features.shape()[0];
            if b == 0 {
                continue; // an empty shard of a short batch
            }
            let y = batch.targets;
            let (value, logits) = no_grad(|| {
                let (tape, x) = (Tape::new(), Var::constant(batch.features));
                let logits = match activity.as_deref_mut() {
                    Some(a) => a.forward(model, &tape, &x),
                    None => model.forward(&tape, &x),
                };
                loss.loss(&logits, &y).map(|l| (l.value().item().as_f64(), logits))
            })?;
            if !value.is_finite() || !logits.value().isfinite().all() {
                // No accuracy is read from outputs that are not numbers.
                let what = if value.is_finite() {
                    "a model output is not finite".to_string()
                } else {
                    format!("the evaluation loss is {value}")
                };
                return Err(GradusError::Diverged { epoch: None, step: None, what, first_op: None });
            }
            sums[0] += value * b as f64;
            sums[3] += b as f64;
            match &y {
                BatchTargets::Classes(c) => {
                    // A class per position (text): each position counts
                    // 1/T of its example.
                    let per_example = (c.numel() / b.max(1)).max(1) as f64;
                    let classes = *logits.shape().last().expect("logits have a class axis");
                    let rows = logits.value().reshape(&[-1, classes as isize]);
                    let predicted = rows.argmax(-1, false);
                    let correct = predicted.to_vec().iter().zip(c.to_vec()).filter(|(p, t)| **p == *t).count();
                    sums[1] += correct as f64 / per_example;
                    sums[2] += top_k_correct(&rows, &c.to_vec(), 5) as f64 / per_example;
                }
                BatchTargets::Values(_) => sums[4] = 0.0,
            }
        }
        Ok(())
    };
    let done = local();
    if let Some(r) = replicas {
        let code = done.as_ref().err().map_or(0, GradusError::exit_code);
        match crate::replicas::agree(r, code, &sums) {
            Ok(rows) => {
                sums = [0.0, 0.0, 0.0, 0.0, 1.0];
                for row in rows {
                    (0..4).for_each(|k| sums[k] += row[k]);
                    sums[4] = sums[4].min(row[4]);
                }
            }
            Err((rank, code)) if rank != r.rank() => return Err(GradusError::Peer { rank, code }),
            Err(_) => {}
        }
    }
    done?;
    let n = sums[3].max(1.0);
    let fraction = |c: f64| if sums[4] == 1.0 { c / n } else { f64::NAN };
    Ok(Evaluation { loss: sums[0] / n, accuracy: fraction(sums[1]), top5_accuracy: fraction(sums[2]) })
}
