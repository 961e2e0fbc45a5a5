//! The transformer encoder layer, PyTorch's `nn.TransformerEncoderLayer`
//! with `batch_first=True`, exactly: self-attention and a feed-forward
//! block, each inside a residual connection with layer norm after it
//! (post-norm, torch's default) or before the block (`norm_first`), and
//! dropout where torch puts it.

use crate::{Dropout, Init, LayerNorm, Linear, Module, MultiheadAttention};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;
use rand::Rng;

/// The options of [`TransformerLayer`], torch's keyword arguments and
/// defaults (`dim_feedforward` 2048, `dropout` 0.1, ReLU, `layer_norm_eps`
/// 1e-5, post-norm, biases); `causal` masks the future in attention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformerOptions {
    /// Width of the feed-forward block.
    pub dim_feedforward: usize,
    /// Dropout on the attention weights, inside the feed-forward block and
    /// on each block's output.
    pub dropout: f64,
    /// GELU (exact) in the feed-forward block instead of ReLU.
    pub gelu: bool,
    /// The layer norms' ε.
    pub layer_norm_eps: f64,
    /// Layer norm before each block (pre-norm) rather than after the sum.
    pub norm_first: bool,
    /// Biases in every linear map and layer norm.
    pub bias: bool,
    /// Each position attends to itself and earlier ones only.
    pub causal: bool,
}

impl Default for TransformerOptions {
    fn default() -> Self {
        Self {
            dim_feedforward: 2048,
            dropout: 0.1,
            gelu: false,
            layer_norm_eps: 1e-5,
            norm_first: false,
            bias: true,
            causal: false,
        }
    }
}

/// One encoder layer over `[N, T, d_model]`: with x the input,
/// post-norm: x ← norm1(x + drop1(attn(x))), x ← norm2(x + drop2(ff(x)));
/// pre-norm: x ← x + drop1(attn(norm1(x))), x ← x + drop2(ff(norm2(x))),
/// where ff(x) = linear2(dropout(act(linear1(x)))). Tensors as torch names
/// them: `self_attn.in_proj_weight`, `self_attn.out_proj.weight`,
/// `linear1.weight`, `linear2.bias`, `norm1.weight`, `norm2.bias`, ….
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Module, TransformerLayer, TransformerOptions};
/// use gradus_tensor::Tensor;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// let opts = TransformerOptions { dim_feedforward: 32, norm_first: true, causal: true, ..Default::default() };
/// let layer = TransformerLayer::<f32>::new(16, 4, opts, &mut rng);
/// let y = layer.forward(&Tape::new(), &Var::constant(Tensor::ones(&[2, 5, 16])));
/// assert_eq!(y.shape(), [2, 5, 16]);
/// assert_eq!(layer.named_parameters()[0].0, "self_attn.in_proj_weight");
/// ```
#[derive(Debug)]
pub struct TransformerLayer<T: Float> {
    self_attn: MultiheadAttention<T>,
    linear1: Linear<T>,
    dropout: Dropout,
    linear2: Linear<T>,
    norm1: LayerNorm<T>,
    norm2: LayerNorm<T>,
    dropout1: Dropout,
    dropout2: Dropout,
    /// GELU rather than ReLU: a function in torch, not a submodule.
    gelu: bool,
    norm_first: bool,
}

impl<T: Float> TransformerLayer<T> {
    /// A layer of width `d_model` with `nhead` heads.
    ///
    /// # Panics
    /// If `d_model` is not a positive multiple of `nhead`, a size is 0, or
    /// `dropout` is not in [0, 1].
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(d_model: usize, nhead: usize, opts: TransformerOptions, rng: &mut R) -> Self {
        assert!(opts.dim_feedforward > 0, "TransformerLayer: dim_feedforward must be positive");
        let bias = opts.bias.then_some(Init::XavierLecture);
        let self_attn = MultiheadAttention::new(d_model, nhead, opts.dropout, opts.bias, opts.causal, rng);
        let linear1 = Linear::with_init(d_model, opts.dim_feedforward, Init::XavierLecture, bias, rng);
        let dropout = Dropout::new(opts.dropout, rng);
        let linear2 = Linear::with_init(opts.dim_feedforward, d_model, Init::XavierLecture, bias, rng);
        let norm = || LayerNorm::with_options(&[d_model], opts.layer_norm_eps, true, opts.bias);
        Self {
            self_attn,
            linear1,
            dropout,
            linear2,
            norm1: norm(),
            norm2: norm(),
            dropout1: Dropout::new(opts.dropout, rng),
            dropout2: Dropout::new(opts.dropout, rng),
            gelu: opts.gelu,
            norm_first: opts.norm_first,
        }
    }

    fn attend(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        self.dropout1.forward(tape, &self.self_attn.forward(tape, x))
    }

    fn feed_forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let hidden = self.linear1.forward(tape, x);
        let hidden = if self.gelu { hidden.gelu() } else { hidden.relu() };
        let out = self.linear2.forward(tape, &self.dropout.forward(tape, &hidden));
        self.dropout2.forward(tape, &out)
    }
}

impl<T: Float> Module<T> for TransformerLayer<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = self.self_attn.output_shape(x.shape()) {
            panic!("{}", e.replace("attention", "transformer"));
        }
        if self.norm_first {
            let x = x + &self.attend(tape, &self.norm1.forward(tape, x));
            &x + &self.feed_forward(tape, &self.norm2.forward(tape, &x))
        } else {
            let x = self.norm1.forward(tape, &(x + &self.attend(tape, x)));
            self.norm2.forward(tape, &(&x + &self.feed_forward(tape, &x)))
        }
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        vec![
            ("self_attn".into(), &self.self_attn as &dyn Module<T>),
            ("linear1".into(), &self.linear1),
            ("dropout".into(), &self.dropout),
            ("linear2".into(), &self.linear2),
            ("norm1".into(), &self.norm1),
            ("norm2".into(), &self.norm2),
            ("dropout1".into(), &self.dropout1),
            ("dropout2".into(), &self.dropout2),
        ]
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        self.self_attn.output_shape(input).map(|r| r.map_err(|e| e.replace("attention", "transformer")))
    }
}
