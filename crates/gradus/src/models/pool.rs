//! Items without weights that reshape or subsample: the pools, `flatten`
//! and the dropouts.

use super::args::{err, pair, positive, probability, required};
use super::items::{Entry, Layer, builds, stateless};
use gradus_autodiff::{AvgPoolOptions, MaxPoolOptions};
use gradus_nn::{AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, Dropout, Dropout2d, Flatten, MaxPool2d, Module};
use gradus_spec::{Args, Spec, SpecError};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry::new("maxpool2d", &["kernel", "stride", "padding", "dilation", "ceil_mode"], parse_maxpool),
    Entry::new(
        "avgpool2d",
        &["kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
        parse_avgpool,
    ),
    Entry::new("adaptive_avgpool2d", &["size"], |spec, a| stateless(AdaptiveAvgPool2d(size(spec, &a)?))),
    Entry::new("adaptive_maxpool2d", &["size"], |spec, a| stateless(AdaptiveMaxPool2d(size(spec, &a)?))),
    Entry::new("dropout", &["p"], |spec, mut a| {
        Ok(Arc::new(DropoutItem { two_d: false, p: probability(&mut a, spec)? }))
    }),
    Entry::new("dropout2d", &["p"], |spec, mut a| {
        Ok(Arc::new(DropoutItem { two_d: true, p: probability(&mut a, spec)? }))
    }),
    Entry::new("flatten", &["start_dim"], parse_flatten),
];

fn parse_maxpool(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    required(&a, spec, "kernel")?;
    let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
    let o = MaxPoolOptions {
        kernel,
        stride: Some(pair(&a, spec, "stride", kernel, false)?),
        padding: pair(&a, spec, "padding", [0, 0], true)?,
        dilation: pair(&a, spec, "dilation", [1, 1], false)?,
        ceil_mode: a.bool_or("ceil_mode", false)?,
    };
    for d in 0..2 {
        if o.padding[d] > (o.dilation[d] * (kernel[d] - 1)).div_ceil(2) {
            return Err(err(spec, "`padding` must be at most half the (dilated) kernel"));
        }
    }
    stateless(MaxPool2d(o))
}

fn parse_avgpool(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    required(&a, spec, "kernel")?;
    let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
    let divisor = match a.get("divisor_override") {
        None => None,
        Some(_) => Some(positive(&mut a, spec, "divisor_override")?),
    };
    let o = AvgPoolOptions {
        kernel,
        stride: Some(pair(&a, spec, "stride", kernel, false)?),
        padding: pair(&a, spec, "padding", [0, 0], true)?,
        ceil_mode: a.bool_or("ceil_mode", false)?,
        count_include_pad: a.bool_or("count_include_pad", true)?,
        divisor_override: divisor,
    };
    if o.padding[0] > kernel[0] / 2 || o.padding[1] > kernel[1] / 2 {
        return Err(err(spec, "`padding` must be at most half the kernel"));
    }
    stateless(AvgPool2d(o))
}

fn size(spec: &Spec, a: &Args) -> Result<[usize; 2], SpecError> {
    required(a, spec, "size")?;
    pair(a, spec, "size", [1, 1], false)
}

fn parse_flatten(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let d = a.usize_or("start_dim", 1)?;
    if d == 0 {
        return Err(err(spec, "`start_dim` must be at least 1 (the batch stays)"));
    }
    stateless(Flatten { start_dim: d })
}

/// A dropout draws its seed from the model's generator.
#[derive(Debug)]
struct DropoutItem {
    two_d: bool,
    p: f64,
}

impl DropoutItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        if self.two_d { Box::new(Dropout2d::new(self.p, rng)) } else { Box::new(Dropout::new(self.p, rng)) }
    }
}

impl Layer for DropoutItem {
    builds!();
}
