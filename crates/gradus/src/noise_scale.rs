//! The gradient noise scale while training (`gradus train
//! --noise-scale-every N`): every N steps, the batch's per-example
//! gradients ([`crate::per_example::gradient_noise`]) before the step; per
//! epoch, the simple noise scale of McCandlish et al. (2018) as the ratio
//! of the epoch's mean tr Σ to its mean |G|², the mini-batch gradient's
//! variance and the mean per-example gradient norm.

use crate::GradusError;
use crate::per_example::gradient_noise;
use crate::trainer::Trainer;
use gradus_autodiff::Var;
use gradus_loss::Loss;
use gradus_nn::Module;
use gradus_tensor::{BatchTargets, Float};

/// An epoch's gradient-noise columns of metrics.csv (NaN when no
/// measurement fell in the epoch), over the parameters of linear and 2-D
/// convolution layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseColumns {
    /// `noise_scale`: B_simple = mean tr Σ / mean |G|² over the epoch's
    /// measurements (the batch size at which the gradient's noise equals
    /// its signal; negative or huge when |G|² is not resolved).
    pub noise_scale: f64,
    /// `grad_variance`: the mean of tr Σ / B, the mini-batch gradient's
    /// expected squared distance from the true gradient.
    pub grad_variance: f64,
    /// `example_grad_norm`: the mean per-example gradient norm.
    pub example_grad_norm: f64,
}

impl NoiseColumns {
    /// The columns' names in metrics.csv, in order.
    pub const NAMES: [&'static str; 3] = ["noise_scale", "grad_variance", "example_grad_norm"];

    /// The values in the order of [`NoiseColumns::NAMES`].
    pub fn values(&self) -> [f64; 3] {
        [self.noise_scale, self.grad_variance, self.example_grad_norm]
    }
}

/// The sums of an epoch's measurements.
#[derive(Debug, Default)]
pub(crate) struct NoiseTracker {
    pub(crate) every: usize,
    trace: f64,
    square: f64,
    variance: f64,
    norm: f64,
    measured: usize,
    examples: usize,
}

impl NoiseTracker {
    pub(crate) fn new(every: usize) -> Self {
        Self { every, ..Default::default() }
    }

    /// The epoch's columns, and the sums emptied for the next epoch.
    pub(crate) fn take(&mut self) -> NoiseColumns {
        let (m, e) = (self.measured as f64, self.examples as f64);
        let columns = if self.measured == 0 {
            NoiseColumns { noise_scale: f64::NAN, grad_variance: f64::NAN, example_grad_norm: f64::NAN }
        } else {
            NoiseColumns {
                noise_scale: self.trace / self.square,
                grad_variance: self.variance / m,
                example_grad_norm: self.norm / e,
            }
        };
        *self = Self::new(self.every);
        columns
    }
}

impl<T: Float> Trainer<T> {
    /// Measures the gradient noise of every N-th step's batch before the
    /// step (training mode, with batch norm's statistics and dropout's
    /// mask count put back, so the run goes on bit for bit as without it),
    /// adding to the epoch's [`NoiseColumns`] in
    /// [`EpochMetrics::noise`](crate::EpochMetrics::noise).
    ///
    /// ```
    /// use gradus::Trainer;
    /// use gradus::optim::Optimizer;
    /// let trainer = Trainer::<f32>::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap())).with_noise_scale(10);
    /// assert_eq!(trainer.noise_scale_every(), Some(10));
    /// ```
    pub fn with_noise_scale(mut self, every: usize) -> Self {
        self.noise = (every > 0).then(|| NoiseTracker::new(every));
        self
    }

    /// How often the gradient noise is measured, in steps, if it is.
    pub fn noise_scale_every(&self) -> Option<usize> {
        self.noise.as_ref().map(|t| t.every)
    }

    /// A measurement on this batch if the step count is a multiple of N.
    pub(crate) fn observe_noise(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        x: &Var<T>,
        y: &BatchTargets<T>,
    ) -> Result<(), GradusError> {
        let Some(t) = self.noise.as_mut().filter(|t| self.steps.is_multiple_of(t.every)) else { return Ok(()) };
        let noise = crate::averaging::unobserved(model, || gradient_noise(model, loss, x, y))?;
        let trace = noise.trace_covariance();
        if noise.batch() > 1 && trace.is_finite() && noise.mean_square_norm.is_finite() {
            t.trace += trace;
            t.square += noise.true_square_norm();
            t.variance += noise.batch_variance();
            t.norm += noise.norms.iter().sum::<f64>();
            t.measured += 1;
            t.examples += noise.batch();
        }
        Ok(())
    }

    /// The epoch's noise columns, when measured.
    pub(crate) fn take_noise(&mut self) -> Option<NoiseColumns> {
        self.noise.as_mut().map(NoiseTracker::take)
    }
}
