//! Multi-head self-attention, PyTorch's `nn.MultiheadAttention` with
//! `batch_first=True` and query = key = value, returning the attention
//! output only.
//!
//! For `[N, T, E]` and h heads of d = E/h features: one product makes the
//! queries, keys and values of every position (`in_proj_weight` `[3E, E]`),
//! split into heads `[N, h, T, d]`; each head attends
//! ([`Var::attention`]: softmax(Q·Kᵀ/√d + M)·V, with dropout on the
//! weights in training), the heads are joined back to `[N, T, E]` and
//! projected by `out_proj`.

use crate::{Dropout, Init, Linear, Module, Param, Visitor};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};
use rand::Rng;
use std::cell::RefCell;

/// Keys and values of the positions seen.
type KeysValues<T> = (Tensor<T>, Tensor<T>);

/// Self-attention over a sequence `[N, T, E]`, as `nn.MultiheadAttention(
/// E, num_heads, dropout, bias, batch_first=True)` called with
/// `need_weights=False`; `causal` masks the future (torch's `is_causal`
/// with the square subsequent mask). Tensors `in_proj_weight` (Xavier
/// uniform), `in_proj_bias` (0), `out_proj.weight` (U[±1/√E]),
/// `out_proj.bias` (0), as torch initialises them.
///
/// With the cache on ([`Module::set_cache`]) it keeps every key and value
/// it has computed, and a forward pass takes only the new positions,
/// attending over the old and the new: generation pays one position a
/// token.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Module, MultiheadAttention};
/// use gradus_tensor::Tensor;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// let attn = MultiheadAttention::<f64>::new(8, 2, 0.0, true, true, &mut rng);
/// let x = Var::constant(Tensor::normal(&[3, 5, 8], 0.0, 1.0, &mut rng));
/// assert_eq!(attn.forward(&Tape::new(), &x).shape(), [3, 5, 8]);
/// // Causal: the first position's output depends on the first input only.
/// let y = attn.forward(&Tape::new(), &x).value().narrow(1, 0, 1).to_vec();
/// let first = attn.forward(&Tape::new(), &Var::constant(x.value().narrow(1, 0, 1).contiguous()));
/// assert!(y.iter().zip(first.value().to_vec()).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
#[derive(Debug)]
pub struct MultiheadAttention<T: Float> {
    num_heads: usize,
    causal: bool,
    in_proj_weight: Param<T>,
    in_proj_bias: Option<Param<T>>,
    out_proj: Linear<T>,
    dropout: Dropout,
    /// With the cache on, the keys and values `[N, h, S, d]` of the
    /// positions seen (none yet: `Some(None)`).
    cache: RefCell<Option<Option<KeysValues<T>>>>,
}

impl<T: Float> MultiheadAttention<T> {
    /// `num_heads` heads over `embed_dim` features, dropout `dropout` on
    /// the attention weights in training, biases when `bias`, the future
    /// masked when `causal`.
    ///
    /// # Panics
    /// If `embed_dim` is 0 or not divisible by `num_heads`, or `dropout`
    /// is not in [0, 1].
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        embed_dim: usize,
        num_heads: usize,
        dropout: f64,
        bias: bool,
        causal: bool,
        rng: &mut R,
    ) -> Self {
        assert!(
            embed_dim > 0 && num_heads > 0 && embed_dim.is_multiple_of(num_heads),
            "MultiheadAttention: embed_dim {embed_dim} must be a positive multiple of num_heads {num_heads}"
        );
        // torch's order: the projection's weight (Xavier uniform over
        // [3E, E]), then out_proj as a Linear, whose bias is then zeroed.
        let in_proj_weight = Param::new(Init::GlorotUniform { gain: 1.0 }.tensor(&[3 * embed_dim, embed_dim], rng));
        let out_proj = Linear::with_init(embed_dim, embed_dim, Init::XavierLecture, bias.then_some(Init::Zeros), rng);
        Self {
            num_heads,
            causal,
            in_proj_weight,
            in_proj_bias: bias.then(|| Param::new(Tensor::zeros(&[3 * embed_dim]))),
            out_proj,
            dropout: Dropout::new(dropout, rng),
            cache: RefCell::new(None),
        }
    }

    /// The model width E.
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.shape()[1]
    }

    fn check(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let e = self.embed_dim();
        match input {
            [_, t, d] if *d == e && *t > 0 => Ok(input.to_vec()),
            _ => Err(format!(
                "attention({e}, {}) needs a sequence [N, T, {e}] (T > 0; images need reshape to rows first), got {input:?}",
                self.num_heads
            )),
        }
    }

    /// `x` `[N, T, h·d]` as heads `[N, h, T, d]`.
    fn heads(&self, x: &Var<T>) -> Var<T> {
        let (n, t, e) = (x.shape()[0] as isize, x.shape()[1] as isize, x.shape()[2]);
        let h = self.num_heads;
        x.reshape(&[n, t, h as isize, (e / h) as isize]).permute(&[0, 2, 1, 3])
    }
}

impl<T: Float> Module<T> for MultiheadAttention<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        self.check(x.shape()).unwrap_or_else(|e| panic!("{e}"));
        let (n, t, e) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let bias = self.in_proj_bias.as_ref().map(|b| b.var(tape));
        let qkv = x.linear(&self.in_proj_weight.var(tape), bias.as_ref());
        let (q, mut k, mut v) =
            (self.heads(&qkv.narrow(2, 0, e)), self.heads(&qkv.narrow(2, e, e)), self.heads(&qkv.narrow(2, 2 * e, e)));
        if let Some(cache) = self.cache.borrow_mut().as_mut() {
            // Earlier positions' keys and values come first.
            if let Some((old_k, old_v)) = cache.take() {
                k = Var::concat(&[Var::constant(old_k), k], 2);
                v = Var::concat(&[Var::constant(old_v), v], 2);
            }
            *cache = Some((k.value().clone(), v.value().clone()));
        }
        let dropout = self.dropout.attention_dropout(self.num_heads * t);
        let out = q.attention(&k, &v, self.causal, dropout);
        let joined = out.permute(&[0, 2, 1, 3]).reshape(&[n as isize, t as isize, e as isize]);
        self.out_proj.forward(tape, &joined)
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        vec![("out_proj".into(), &self.out_proj as &dyn Module<T>), ("dropout".into(), &self.dropout)]
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("in_proj_weight", &self.in_proj_weight);
        if let Some(b) = &self.in_proj_bias {
            v.param("in_proj_bias", b);
        }
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.check(input))
    }

    fn incremental(&self) -> bool {
        // Without the mask, earlier positions would see the later ones.
        self.causal
    }

    fn set_own_cache(&self, on: bool) {
        *self.cache.borrow_mut() = on.then_some(None);
    }
}
