//! `Mlp`: a builder for feed-forward networks from layer sizes.

use crate::{Activation, BatchNorm1d, Dropout, FanMode, Init, Linear, Sequential, gain};
use gradus_tensor::Float;
use rand::Rng;

/// A multilayer perceptron described by its layer sizes; [`Mlp::build`]
/// makes the [`Sequential`]. Each hidden layer is
/// `Linear → [BatchNorm1d] → activation → [Dropout]`, and the last is a
/// bare `Linear` (logits). Weights are Kaiming-normal with the gain of the
/// activation that follows (He for ReLU), the last layer's with gain 1;
/// biases start at 0.
///
/// # Examples
/// ```
/// use gradus_nn::{Activation, Mlp, Module};
/// use rand::{SeedableRng, rngs::StdRng};
/// let model = Mlp::new(&[784, 256, 128, 10]).activation(Activation::Relu).dropout(0.2)
///     .build::<f32, _>(&mut StdRng::seed_from_u64(0));
/// assert_eq!(model.num_parameters(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
/// assert_eq!(model.len(), 7); // (linear, relu, dropout) × 2, linear
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    activation: Activation,
    dropout: f64,
    batch_norm: bool,
}

impl Mlp {
    /// Layer sizes from input to output, e.g. `[784, 256, 10]`.
    ///
    /// # Panics
    /// If there are fewer than two sizes or a size is 0.
    #[track_caller]
    pub fn new(sizes: &[usize]) -> Self {
        assert!(sizes.len() >= 2, "Mlp: need at least input and output sizes, got {sizes:?}");
        assert!(sizes.iter().all(|&s| s > 0), "Mlp: every layer size must be positive, got {sizes:?}");
        Self { sizes: sizes.to_vec(), activation: Activation::Relu, dropout: 0.0, batch_norm: false }
    }

    /// The activation after each hidden layer (default ReLU).
    #[must_use]
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Dropout probability after each hidden activation (default 0: none).
    ///
    /// # Panics
    /// If `p` is not in [0, 1).
    #[must_use]
    #[track_caller]
    pub fn dropout(mut self, p: f64) -> Self {
        assert!((0.0..1.0).contains(&p), "Mlp: dropout must be in [0, 1), got {p}");
        self.dropout = p;
        self
    }

    /// Batch normalisation before each hidden activation (default off).
    #[must_use]
    pub fn batch_norm(mut self, on: bool) -> Self {
        self.batch_norm = on;
        self
    }

    /// The layer sizes.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Whether each hidden layer is followed by batch norm.
    pub fn has_batch_norm(&self) -> bool {
        self.batch_norm
    }

    /// The network, its weights (and dropout seeds) drawn from `rng`.
    pub fn build<T: Float, R: Rng + ?Sized>(&self, rng: &mut R) -> Sequential<T> {
        let mut net = Sequential::new();
        let last = self.sizes.len() - 2;
        for (i, pair) in self.sizes.windows(2).enumerate() {
            let (n_in, n_out) = (pair[0], pair[1]);
            let g = if i == last { 1.0 } else { gain(self.activation.nonlinearity()) };
            let init = Init::KaimingNormal { mode: FanMode::FanIn, gain: g };
            net = net.append(Linear::with_init(n_in, n_out, init, Some(Init::Zeros), rng));
            if i == last {
                break;
            }
            if self.batch_norm {
                net = net.append(BatchNorm1d::new(n_out));
            }
            net.push(self.activation.module());
            if self.dropout > 0.0 {
                net = net.append(Dropout::new(self.dropout, rng));
            }
        }
        net
    }
}
