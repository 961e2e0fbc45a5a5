//! AdaGrad (Duchi, Hazan & Singer, 2011).

use crate::error::{Result, check, check_common};
use crate::platform::Float;
use crate::platform::filled_vec;
use crate::rule::{State, UpdateRule, effective_grad, fused};

/// The hyper-parameters of [`Adagrad`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (1e-2).
    pub lr: f64,
    /// The rate decays as lr/(1 + (t − 1)·lr_decay) (0).
    pub lr_decay: f64,
    /// L2 penalty (0).
    pub weight_decay: f64,
    /// Starting value of the accumulator (0).
    pub initial_accumulator_value: f64,
    /// δ added to √r (1e-10).
    pub eps: f64,
    /// Ascend instead (false).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        Self { lr: 1e-2, lr_decay: 0.0, weight_decay: 0.0, initial_accumulator_value: 0.0, eps: 1e-10, maximize: false }
    }
}

/// AdaGrad as `torch.optim.Adagrad`: r ← r + g²; θ ← θ − η_t·g/(√r + δ)
/// with η_t = η/(1 + (t − 1)·lr_decay).
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad {
    c: AdagradConfig,
}

impl Adagrad {
    /// Validates `config`.
    ///
    /// # Errors
    /// A negative rate, decay, weight decay, accumulator or eps.
    pub fn new(config: AdagradConfig) -> Result<Self> {
        let c = config;
        check_common("adagrad", c.lr, c.weight_decay, c.eps)?;
        check(c.lr_decay >= 0.0, "adagrad", "lr_decay", || format!("must be >= 0, got {}", c.lr_decay))?;
        check(c.initial_accumulator_value >= 0.0, "adagrad", "initial_accumulator_value", || {
            format!("must be >= 0, got {}", c.initial_accumulator_value)
        })?;
        Ok(Self { c })
    }
}

impl<T: Float> UpdateRule<T> for Adagrad {
    fn name(&self) -> &'static str {
        "adagrad"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, _shape: &[usize]) -> &'static [&'static str] {
        &["sum"]
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let len = shape.iter().product();
        State {
            shape: shape.to_vec(),
            step: 0,
            slots: vec![filled_vec(len, T::of(self.c.initial_accumulator_value))],
            scalars: Vec::new(),
        }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        state.step += 1;
        let clr = T::of(lr / (1.0 + (state.step - 1) as f64 * c.lr_decay));
        let (wd, eps) = (T::of(c.weight_decay), T::of(c.eps));
        fused(param, grad, state.slots_mut::<1>(), |p, g, [r]| {
            let g = effective_grad(g, *p, c.maximize, wd);
            *r += g * g;
            *p -= clr * (g / (r.sqrt() + eps));
        });
    }
}
