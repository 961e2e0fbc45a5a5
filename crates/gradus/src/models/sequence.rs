//! Sequence items: `reshape` (each example to a shape, so images become
//! sequences of rows), the recurrent layers `lstm` and `gru`, and
//! `last_token` / `mean_tokens` from a sequence to one vector per example.

use super::args::{err, positive};
use super::items::{Entry, Layer, Takes, builds, stateless};
use gradus_nn::{CellKind, LastToken, MeanTokens, Module, Recurrent, Reshape};
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

const RECURRENT_KEYS: [&str; 6] = ["input_size", "hidden_size", "num_layers", "bias", "dropout", "bidirectional"];

pub(super) const ENTRIES: &[Entry] = &[
    Entry { name: "reshape", keys: &[], takes: Takes::Positional, parse: parse_reshape },
    Entry::new("lstm", &RECURRENT_KEYS, |s, a| parse_recurrent(s, a, CellKind::Lstm)),
    Entry::new("gru", &RECURRENT_KEYS, |s, a| parse_recurrent(s, a, CellKind::Gru)),
    Entry::new("last_token", &[], |_, _| stateless(LastToken)),
    Entry::new("mean_tokens", &[], |_, _| stateless(MeanTokens)),
];

/// `reshape(d1, d2, …)`: positive integer dimensions, at least one.
fn parse_reshape(spec: &Spec, _: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let bad = || err(spec, "takes the dimensions of each example, positive integers below 10^9, e.g. reshape(28, 28)");
    let dims: Vec<usize> = spec
        .args
        .iter()
        .map(|(_, v)| match v {
            Value::Number(x) if x.fract() == 0.0 && *x >= 1.0 && *x < 1e9 => Ok(*x as usize),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()?;
    if dims.is_empty() {
        return Err(bad());
    }
    stateless(Reshape(dims))
}

#[derive(Debug)]
struct RecurrentItem {
    kind: CellKind,
    input: usize,
    hidden: usize,
    layers: usize,
    bias: bool,
    dropout: f64,
    bidirectional: bool,
}

impl RecurrentItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        let (i, h, l) = (self.input, self.hidden, self.layers);
        Box::new(Recurrent::<T>::new(self.kind, i, h, l, self.bias, self.bidirectional, self.dropout, rng))
    }
}

impl Layer for RecurrentItem {
    builds!();
    fn stored(&self) -> f64 {
        let (g, h) = (self.kind.gates() as f64, self.hidden as f64);
        let dirs = if self.bidirectional { 2.0 } else { 1.0 };
        let bias = if self.bias { 2.0 * g * h } else { 0.0 };
        let layer = |width: f64| dirs * (g * h * width + g * h * h + bias);
        layer(self.input as f64) + (self.layers - 1) as f64 * layer(dirs * h)
    }
}

fn parse_recurrent(spec: &Spec, mut a: Args, kind: CellKind) -> Result<Arc<dyn Layer>, SpecError> {
    let input = positive(&mut a, spec, "input_size")?;
    let hidden = positive(&mut a, spec, "hidden_size")?;
    let layers = a.usize_or("num_layers", 1)?;
    if layers == 0 {
        return Err(err(spec, "`num_layers` must be positive"));
    }
    let dropout = a.f64_or("dropout", 0.0)?;
    if !(0.0..1.0).contains(&dropout) {
        return Err(err(spec, format!("`dropout` must be in [0, 1), got {dropout}")));
    }
    let bias = a.bool_or("bias", true)?;
    let bidirectional = a.bool_or("bidirectional", false)?;
    Ok(Arc::new(RecurrentItem { kind, input, hidden, layers, bias, dropout, bidirectional }))
}
