//! Attention items: `embedding` (tokens to vectors), `pos_embedding`
//! (learned positions), `attention` (multi-head self-attention) and
//! `transformer` (PyTorch's encoder layer).

use super::args::{err, positive};
use super::items::{Entry, Layer, builds};
use gradus_nn::{Embedding, Module, MultiheadAttention, PosEmbedding, TransformerLayer, TransformerOptions};
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry::new("embedding", &["num_embeddings", "embedding_dim", "padding_idx"], parse_embedding),
    Entry::new("pos_embedding", &["max_len", "dim"], parse_pos_embedding),
    Entry::new("attention", &["embed_dim", "num_heads", "dropout", "bias", "causal"], parse_attention),
    Entry::new(
        "transformer",
        &[
            "d_model",
            "nhead",
            "dim_feedforward",
            "dropout",
            "activation",
            "layer_norm_eps",
            "norm_first",
            "bias",
            "causal",
        ],
        parse_transformer,
    ),
];

#[derive(Debug)]
enum Item {
    Embedding { num: usize, dim: usize, padding_idx: Option<usize> },
    Positions { max_len: usize, dim: usize },
    Attention { dim: usize, heads: usize, dropout: f64, bias: bool, causal: bool },
    Transformer { dim: usize, heads: usize, opts: TransformerOptions },
}

impl Item {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        match *self {
            Item::Embedding { num, dim, padding_idx } => Box::new(Embedding::<T>::new(num, dim, padding_idx, rng)),
            Item::Positions { max_len, dim } => Box::new(PosEmbedding::<T>::new(max_len, dim, rng)),
            Item::Attention { dim, heads, dropout, bias, causal } => {
                Box::new(MultiheadAttention::<T>::new(dim, heads, dropout, bias, causal, rng))
            }
            Item::Transformer { dim, heads, opts } => Box::new(TransformerLayer::<T>::new(dim, heads, opts, rng)),
        }
    }
}

/// The values of self-attention over `d` features: the projections in
/// and out, with biases.
fn attention_values(d: f64, bias: bool) -> f64 {
    4.0 * d * d + if bias { 4.0 * d } else { 0.0 }
}

impl Layer for Item {
    builds!();
    fn stored(&self) -> f64 {
        match *self {
            Item::Embedding { num, dim, .. } => num as f64 * dim as f64,
            Item::Positions { max_len, dim } => max_len as f64 * dim as f64,
            Item::Attention { dim, bias, .. } => attention_values(dim as f64, bias),
            Item::Transformer { dim, opts, .. } => {
                let (d, f) = (dim as f64, opts.dim_feedforward as f64);
                let b = if opts.bias { 1.0 } else { 0.0 };
                attention_values(d, opts.bias) + 2.0 * d * f + b * (f + d) + 2.0 * d * (1.0 + b)
            }
        }
    }
}

fn dropout(a: &mut Args, spec: &Spec, default: f64) -> Result<f64, SpecError> {
    let p = a.f64_or("dropout", default)?;
    if !(0.0..1.0).contains(&p) {
        return Err(err(spec, format!("`dropout` must be in [0, 1), got {p}")));
    }
    Ok(p)
}

/// `heads` dividing `dim`, as torch requires.
fn heads(a: &mut Args, spec: &Spec, dim: usize, dim_key: &str, key: &str) -> Result<usize, SpecError> {
    let h = positive(a, spec, key)?;
    if !dim.is_multiple_of(h) {
        return Err(err(spec, format!("`{dim_key}` {dim} must be divisible by `{key}` {h}")));
    }
    Ok(h)
}

fn parse_embedding(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let num = positive(&mut a, spec, "num_embeddings")?;
    let dim = positive(&mut a, spec, "embedding_dim")?;
    let padding_idx = match a.get("padding_idx") {
        None => None,
        Some(Value::Word(w)) if w == "none" => None,
        Some(_) => match a.usize("padding_idx")? {
            p if p < num => Some(p),
            p => return Err(err(spec, format!("`padding_idx` {p} must be below num_embeddings {num}"))),
        },
    };
    Ok(Arc::new(Item::Embedding { num, dim, padding_idx }))
}

fn parse_pos_embedding(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let max_len = positive(&mut a, spec, "max_len")?;
    Ok(Arc::new(Item::Positions { max_len, dim: positive(&mut a, spec, "dim")? }))
}

fn parse_attention(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let dim = positive(&mut a, spec, "embed_dim")?;
    let heads = heads(&mut a, spec, dim, "embed_dim", "num_heads")?;
    let dropout = dropout(&mut a, spec, 0.0)?;
    let (bias, causal) = (a.bool_or("bias", true)?, a.bool_or("causal", false)?);
    Ok(Arc::new(Item::Attention { dim, heads, dropout, bias, causal }))
}

fn parse_transformer(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let dim = positive(&mut a, spec, "d_model")?;
    let heads = heads(&mut a, spec, dim, "d_model", "nhead")?;
    let dim_feedforward = a.usize_or("dim_feedforward", 2048)?;
    if dim_feedforward == 0 {
        return Err(err(spec, "`dim_feedforward` must be positive"));
    }
    let layer_norm_eps = a.f64_or("layer_norm_eps", 1e-5)?;
    if !layer_norm_eps.is_finite() || layer_norm_eps < 0.0 {
        return Err(err(spec, format!("`layer_norm_eps` must be a finite non-negative number, got {layer_norm_eps}")));
    }
    let opts = TransformerOptions {
        dim_feedforward,
        dropout: dropout(&mut a, spec, 0.1)?,
        gelu: a.word_or("activation", &["relu", "gelu"], "relu")? == "gelu",
        layer_norm_eps,
        norm_first: a.bool_or("norm_first", false)?,
        bias: a.bool_or("bias", true)?,
        causal: a.bool_or("causal", false)?,
    };
    Ok(Arc::new(Item::Transformer { dim, heads, opts }))
}
