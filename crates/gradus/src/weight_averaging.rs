//! The trainer's weight averages: an exponential moving average after
//! every step (`--ema`) or stochastic weight averaging from an epoch on
//! with SWALR and `update_bn` (`--swa-start`, `--swa-lr`), each evaluated
//! on the test set beside the model.

use crate::GradusError;
use crate::averaging::{Average, Averaged, swalr, update_bn};
use crate::evaluation::run_evaluation;
use crate::trainer::{Loaders, Trainer};
use gradus_loss::Loss;
use gradus_nn::Module;
use gradus_tensor::{Float, Tensor};

/// A test loss and accuracy.
type LossAccuracy = (f64, f64);

impl<T: Float> Trainer<T> {
    /// Keeps an exponential moving average of the parameters and floating
    /// buffers after every step taken, a ← lerp(a, θ, 1 − decay) from a
    /// copy at the first (PyTorch's `AveragedModel` with
    /// `get_ema_multi_avg_fn(decay)` and `use_buffers=True`), evaluated on
    /// the test set beside the model each epoch
    /// ([`EpochMetrics::ema_test`](crate::EpochMetrics::ema_test)) and saved
    /// in checkpoints as `ema.…`.
    ///
    /// # Errors
    /// [`GradusError::Config`] for a decay outside [0, 1], or a trainer
    /// that already keeps an average.
    pub fn with_ema(self, decay: f64) -> Result<Self, GradusError> {
        if !(0.0..=1.0).contains(&decay) {
            return Err(GradusError::Config(format!("the EMA decay must be in [0, 1], got {decay}")));
        }
        self.with_average(Average::Ema(decay))
    }

    /// Stochastic weight averaging (Izmailov et al. 2018) as
    /// `torch.optim.swa_utils`: from epoch `start` (1-based) on, the
    /// parameters at the end of each epoch join their running mean
    /// (`AveragedModel`); with `lr`, every group's rate then follows
    /// `SWALR(swa_lr=lr, anneal_epochs, anneal_strategy="cos")`, stepped
    /// after each averaged epoch, instead of the schedule. Before the
    /// average is evaluated ([`EpochMetrics::swa_test`](crate::EpochMetrics::swa_test)),
    /// batch norm's statistics are recomputed for it over the training
    /// data (`update_bn`); it is saved in checkpoints as `swa.…`.
    ///
    /// # Errors
    /// [`GradusError::Config`] for a start of 0, a rate that is negative or
    /// not finite, or a trainer that already keeps an average.
    pub fn with_swa(self, start: usize, lr: Option<f64>, anneal_epochs: usize) -> Result<Self, GradusError> {
        if start == 0 {
            return Err(GradusError::Config("SWA starts at an epoch from 1".into()));
        }
        if let Some(lr) = lr.filter(|lr| !(lr.is_finite() && *lr >= 0.0)) {
            return Err(GradusError::Config(format!("the SWA rate must be finite and >= 0, got {lr}")));
        }
        self.with_average(Average::Swa { start, lr, anneal_epochs })
    }

    fn with_average(mut self, average: Average) -> Result<Self, GradusError> {
        if let Some(e) = &self.ema {
            return Err(GradusError::Config(format!(
                "this trainer already keeps an average ({}); keep one per run",
                e.average.name()
            )));
        }
        self.ema = Some(Averaged::new(average));
        Ok(self)
    }

    /// How the weights are averaged, if they are.
    pub fn average(&self) -> Option<Average> {
        self.ema.as_ref().map(|e| e.average)
    }

    /// The averaged weights, if an average is kept: each parameter's and
    /// floating buffer's average by name (empty before the first update).
    pub fn ema(&self) -> Option<&[(String, Tensor<T>)]> {
        self.ema.as_ref().map(|e| &e.values[..])
    }

    /// The updates the average has taken (PyTorch's `n_averaged`).
    pub fn ema_updates(&self) -> Option<u64> {
        self.ema.as_ref().map(|e| e.n_averaged)
    }

    /// The exponential moving average's decay, if one is kept.
    pub fn ema_decay(&self) -> Option<f64> {
        match self.average() {
            Some(Average::Ema(d)) => Some(d),
            _ => None,
        }
    }

    /// SWALR's step count after the epochs done, when it sets the rate
    /// (SWA with a rate, from its first averaged epoch).
    pub(crate) fn swalr_step(&self) -> Option<usize> {
        match self.average() {
            Some(Average::Swa { start, lr: Some(_), .. }) if self.epochs >= start => Some(self.epochs + 1 - start),
            _ => None,
        }
    }

    /// SWALR's step: every group's rate annealed towards the SWA rate.
    pub(crate) fn apply_swalr(&mut self) {
        let (Some(step), Some(Average::Swa { lr: Some(swa_lr), anneal_epochs, .. })) =
            (self.swalr_step(), self.average())
        else {
            return;
        };
        for g in self.optim.groups_mut() {
            g.lr = swalr(g.lr, swa_lr, anneal_epochs, step);
        }
    }

    /// After an epoch: the model joins the SWA mean from the start epoch on.
    pub(crate) fn average_epoch(&mut self, model: &dyn Module<T>) {
        let epochs = self.epochs;
        if let Some(e) = &mut self.ema
            && let Average::Swa { start, .. } = e.average
            && epochs >= start
        {
            e.update(model);
        }
    }

    /// The average's test loss and accuracy after an epoch, as (EMA, SWA):
    /// an EMA's is the model's (`model_test`) before its first update
    /// (which it starts from); SWA's is NaN before its start, and batch norm's statistics
    /// are recomputed for it first (kept with the average for the
    /// checkpoint). The model is put back as it was.
    pub(crate) fn evaluate_average(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loaders: &Loaders<'_>,
        model_test: LossAccuracy,
    ) -> Result<(Option<LossAccuracy>, Option<LossAccuracy>), GradusError> {
        let replicas = self.replicas.as_ref().map(|(r, _)| &**r);
        let epochs = self.epochs as u64;
        let Some(e) = &mut self.ema else { return Ok((None, None)) };
        let swa = matches!(e.average, Average::Swa { .. });
        if e.n_averaged == 0 {
            let nan = (f64::NAN, f64::NAN);
            return Ok(if swa { (None, Some(nan)) } else { (Some(model_test), None) });
        }
        // The model's own buffers (batch norm's counts too) come back after.
        let eval = crate::averaging::keeping_buffers(model, || {
            let held = e.swap_in(model);
            let eval = (|| {
                if swa {
                    update_bn(model, loaders.train, epochs)?;
                    let now: std::collections::HashMap<String, Tensor<T>> =
                        model.named_buffers().into_iter().map(|(n, b)| (n, b.value())).collect();
                    for (name, v) in &mut e.values {
                        if let Some(b) = now.get(name) {
                            *v = b.contiguous();
                        }
                    }
                }
                run_evaluation(model, loss, loaders.test, None, replicas)
            })();
            Averaged::restore(model, held);
            eval
        });
        let eval = eval?;
        let result = Some((eval.loss, eval.accuracy));
        Ok(if swa { (None, result) } else { (result, None) })
    }
}
