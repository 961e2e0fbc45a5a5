//! Normalisation items: `batchnorm1d`, `batchnorm2d`, `layernorm`,
//! `rmsnorm`, `groupnorm`, `instancenorm2d`.

use super::args::{eps, err, positive, shape};
use super::items::{Entry, Layer, builds};
use gradus_nn::{BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm, Module, RMSNorm};
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry::new("batchnorm1d", &["n", "eps", "momentum"], |s, a| parse_batchnorm(s, a, false)),
    Entry::new("batchnorm2d", &["c", "eps", "momentum"], |s, a| parse_batchnorm(s, a, true)),
    Entry::new("layernorm", &["shape", "eps", "elementwise_affine", "bias"], parse_layernorm),
    Entry::new("rmsnorm", &["shape", "eps", "elementwise_affine"], parse_rmsnorm),
    Entry::new("groupnorm", &["num_groups", "num_channels", "eps", "affine"], parse_groupnorm),
    Entry::new("instancenorm2d", &["c", "eps", "affine"], parse_instancenorm),
];

#[derive(Debug)]
struct BatchNormItem {
    two_d: bool,
    n: usize,
    eps: f64,
    momentum: f64,
}

impl BatchNormItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        let (n, eps, m) = (self.n, self.eps, Some(self.momentum));
        if self.two_d {
            Box::new(BatchNorm2d::<T>::with_options(n, eps, m, true, true))
        } else {
            Box::new(BatchNorm1d::<T>::with_options(n, eps, m, true, true))
        }
    }
}

impl Layer for BatchNormItem {
    builds!();
    fn stored(&self) -> f64 {
        4.0 * self.n as f64 + 1.0
    }
}

fn parse_batchnorm(spec: &Spec, mut a: Args, two_d: bool) -> Result<Arc<dyn Layer>, SpecError> {
    let n = positive(&mut a, spec, if two_d { "c" } else { "n" })?;
    let eps = eps(&mut a, spec, 1e-5, true)?;
    let momentum = a.f64_or("momentum", 0.1)?;
    if !(0.0..=1.0).contains(&momentum) {
        return Err(err(spec, format!("`momentum` must be in [0, 1], got {momentum}")));
    }
    Ok(Arc::new(BatchNormItem { two_d, n, eps, momentum }))
}

fn count(shape: &[usize]) -> f64 {
    shape.iter().map(|&d| d as f64).product()
}

#[derive(Debug)]
struct LayerNormItem {
    shape: Vec<usize>,
    eps: f64,
    affine: bool,
    bias: bool,
}

impl LayerNormItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(LayerNorm::<T>::with_options(&self.shape, self.eps, self.affine, self.bias))
    }
}

impl Layer for LayerNormItem {
    builds!();
    fn stored(&self) -> f64 {
        let tensors = usize::from(self.affine) + usize::from(self.affine && self.bias);
        tensors as f64 * count(&self.shape)
    }
}

fn parse_layernorm(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    Ok(Arc::new(LayerNormItem {
        shape: shape(&a, spec, "shape")?,
        eps: eps(&mut a, spec, 1e-5, false)?,
        affine: a.bool_or("elementwise_affine", true)?,
        bias: a.bool_or("bias", true)?,
    }))
}

#[derive(Debug)]
struct RmsNormItem {
    shape: Vec<usize>,
    eps: Option<f64>,
    affine: bool,
}

impl RmsNormItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(RMSNorm::<T>::with_options(&self.shape, self.eps, self.affine))
    }
}

impl Layer for RmsNormItem {
    builds!();
    fn stored(&self) -> f64 {
        if self.affine { count(&self.shape) } else { 0.0 }
    }
}

fn parse_rmsnorm(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let shape = shape(&a, spec, "shape")?;
    // `eps=none`, as the default, is the element type's machine epsilon.
    let eps = match a.get("eps") {
        None => None,
        Some(Value::Word(w)) if w == "none" => None,
        Some(_) => Some(eps(&mut a, spec, 0.0, false)?),
    };
    Ok(Arc::new(RmsNormItem { shape, eps, affine: a.bool_or("elementwise_affine", true)? }))
}

#[derive(Debug)]
struct GroupNormItem {
    groups: usize,
    channels: usize,
    eps: f64,
    affine: bool,
}

impl GroupNormItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(GroupNorm::<T>::with_options(self.groups, self.channels, self.eps, self.affine))
    }
}

impl Layer for GroupNormItem {
    builds!();
    fn stored(&self) -> f64 {
        if self.affine { 2.0 * self.channels as f64 } else { 0.0 }
    }
}

fn parse_groupnorm(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let (groups, channels) = (positive(&mut a, spec, "num_groups")?, positive(&mut a, spec, "num_channels")?);
    if channels % groups != 0 {
        return Err(err(spec, format!("num_groups={groups} must divide num_channels={channels}")));
    }
    Ok(Arc::new(GroupNormItem {
        groups,
        channels,
        eps: eps(&mut a, spec, 1e-5, false)?,
        affine: a.bool_or("affine", true)?,
    }))
}

#[derive(Debug)]
struct InstanceNormItem {
    c: usize,
    eps: f64,
    affine: bool,
}

impl InstanceNormItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(InstanceNorm2d::<T>::with_options(self.c, self.eps, self.affine))
    }
}

impl Layer for InstanceNormItem {
    builds!();
    fn stored(&self) -> f64 {
        if self.affine { 2.0 * self.c as f64 } else { 0.0 }
    }
}

fn parse_instancenorm(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    Ok(Arc::new(InstanceNormItem {
        c: positive(&mut a, spec, "c")?,
        eps: eps(&mut a, spec, 1e-5, false)?,
        affine: a.bool_or("affine", false)?,
    }))
}
