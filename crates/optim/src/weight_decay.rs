//! How weight decay enters the Adam family's update: through the gradient
//! (L2) or on the parameter directly (decoupled, AdamW).

use crate::platform::Float;

/// Weight decay λ of [`Adam`](crate::Adam), [`Nadam`](crate::Nadam) and
/// [`Radam`](crate::Radam). In spec strings, PyTorch's keys:
/// `weight_decay=λ` and `decoupled_weight_decay=true` (implied by `adamw`).
///
/// ```
/// use gradus_optim::{Adam, AdamConfig, UpdateRule, WeightDecay};
/// // θ = 1, g = 0: L2 decay moves θ through the moments, decoupled decay
/// // scales θ by 1 − ηλ first (and then the zero moments move it no further).
/// let step = |wd| {
///     let adam = Adam::new(AdamConfig { lr: 0.1, weight_decay: wd, ..Default::default() }).unwrap();
///     let (mut theta, mut state) = (vec![1.0f64], UpdateRule::<f64>::init(&adam, 0.1, &[1]));
///     adam.update(0.1, &mut theta, &[0.0], &mut state);
///     theta[0]
/// };
/// assert!((step(WeightDecay::L2(0.5)) - 0.9).abs() < 1e-7); // Adam's first step is ≈ η·sign(g + λθ)
/// assert_eq!(step(WeightDecay::Decoupled(0.5)), 0.95);
/// assert_eq!(WeightDecay::default(), WeightDecay::L2(0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDecay {
    /// λθ added to the gradient before the moments (PyTorch's
    /// `weight_decay=λ`): L2 regularisation of the loss.
    L2(f64),
    /// θ ← θ(1 − ηλ) before the update, outside the moments (AdamW;
    /// PyTorch's `decoupled_weight_decay=True`).
    Decoupled(f64),
}

impl Default for WeightDecay {
    /// No decay.
    fn default() -> Self {
        WeightDecay::L2(0.0)
    }
}

impl WeightDecay {
    /// From PyTorch's two keys.
    pub fn from_keys(weight_decay: f64, decoupled: bool) -> Self {
        if decoupled { WeightDecay::Decoupled(weight_decay) } else { WeightDecay::L2(weight_decay) }
    }

    /// λ.
    pub fn rate(self) -> f64 {
        match self {
            WeightDecay::L2(w) | WeightDecay::Decoupled(w) => w,
        }
    }

    /// Whether it is decoupled.
    pub fn is_decoupled(self) -> bool {
        matches!(self, WeightDecay::Decoupled(_))
    }

    /// For a step at rate `lr`: the λ added to the gradient, and the factor
    /// 1 − ηλ that scales θ first when the decay is decoupled and not 0.
    pub(crate) fn split<T: Float>(self, lr: f64) -> (T, Option<T>) {
        match self {
            WeightDecay::L2(w) => (T::of(w), None),
            WeightDecay::Decoupled(w) => (T::zero(), (w != 0.0).then(|| T::of(1.0 - lr * w))),
        }
    }
}
