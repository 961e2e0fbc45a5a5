//! Items with weights that multiply: `linear`, `conv1d`, `conv2d`,
//! `conv_transpose2d`.

use super::args::{CONV_KEYS, conv_common, err, one, padding_word, pair, positive, required};
use super::items::{Entry, Layer, builds};
use gradus_autodiff::{ConvOptions, ConvTransposeOptions};
use gradus_nn::{Conv1d, Conv2d, ConvTranspose2d, Init, Linear, Module};
use gradus_spec::{Args, Spec, SpecError};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry::new("linear", &["in", "out", "bias"], parse_linear),
    Entry::new("conv1d", &CONV_KEYS, parse_conv1d),
    Entry::new("conv2d", &CONV_KEYS, parse_conv2d),
    Entry::new(
        "conv_transpose2d",
        &["in", "out", "kernel", "stride", "padding", "output_padding", "groups", "bias", "dilation"],
        parse_conv_t,
    ),
];

fn unwrap<M>(r: Result<M, String>) -> M {
    r.unwrap_or_else(|e| panic!("checked when parsed: {e}"))
}

fn bias_count(bias: bool, out: usize) -> f64 {
    if bias { out as f64 } else { 0.0 }
}

#[derive(Debug)]
struct LinearItem {
    inp: usize,
    out: usize,
    bias: bool,
}

impl LinearItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        let init = Init::XavierLecture;
        Box::new(Linear::with_init(self.inp, self.out, init, self.bias.then_some(init), rng))
    }
}

impl Layer for LinearItem {
    builds!();
    fn stored(&self) -> f64 {
        self.inp as f64 * self.out as f64 + bias_count(self.bias, self.out)
    }
    fn flat_input(&self) -> bool {
        true
    }
}

fn parse_linear(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    Ok(Arc::new(LinearItem {
        inp: positive(&mut a, spec, "in")?,
        out: positive(&mut a, spec, "out")?,
        bias: a.bool_or("bias", true)?,
    }))
}

#[derive(Debug)]
struct Conv1dItem {
    inp: usize,
    out: usize,
    kernel: usize,
    opts: ConvOptions<1>,
    bias: bool,
}

impl Conv1dItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(unwrap(Conv1d::new(self.inp, self.out, [self.kernel], self.opts, self.bias, rng)))
    }
}

impl Layer for Conv1dItem {
    builds!();
    fn stored(&self) -> f64 {
        self.out as f64 * (self.inp / self.opts.groups.max(1)) as f64 * self.kernel as f64
            + bias_count(self.bias, self.out)
    }
}

fn parse_conv1d(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let (inp, out, groups, bias, mode) = conv_common(&mut a, spec)?;
    required(&a, spec, "kernel")?;
    let kernel = one(&a, spec, "kernel", 0, false)?;
    let padding = padding_word(&a, spec, || Ok([one(&a, spec, "padding", 0, true)?]))?;
    let opts = ConvOptions {
        stride: [one(&a, spec, "stride", 1, false)?],
        padding,
        dilation: [one(&a, spec, "dilation", 1, false)?],
        groups,
        padding_mode: mode,
    };
    opts.resolve_padding([kernel]).map_err(|e| err(spec, e))?;
    Ok(Arc::new(Conv1dItem { inp, out, kernel, opts, bias }))
}

#[derive(Debug)]
struct Conv2dItem {
    inp: usize,
    out: usize,
    kernel: [usize; 2],
    opts: ConvOptions<2>,
    bias: bool,
}

impl Conv2dItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(unwrap(Conv2d::new(self.inp, self.out, self.kernel, self.opts, self.bias, rng)))
    }
}

impl Layer for Conv2dItem {
    builds!();
    fn stored(&self) -> f64 {
        let per_out = (self.inp / self.opts.groups.max(1)) as f64 * self.kernel[0] as f64 * self.kernel[1] as f64;
        self.out as f64 * per_out + bias_count(self.bias, self.out)
    }
}

fn parse_conv2d(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let (inp, out, groups, bias, mode) = conv_common(&mut a, spec)?;
    required(&a, spec, "kernel")?;
    let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
    let padding = padding_word(&a, spec, || pair(&a, spec, "padding", [0, 0], true))?;
    let opts = ConvOptions {
        stride: pair(&a, spec, "stride", [1, 1], false)?,
        padding,
        dilation: pair(&a, spec, "dilation", [1, 1], false)?,
        groups,
        padding_mode: mode,
    };
    opts.resolve_padding(kernel).map_err(|e| err(spec, e))?;
    Ok(Arc::new(Conv2dItem { inp, out, kernel, opts, bias }))
}

#[derive(Debug)]
struct ConvTItem {
    inp: usize,
    out: usize,
    kernel: [usize; 2],
    opts: ConvTransposeOptions,
    bias: bool,
}

impl ConvTItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(unwrap(ConvTranspose2d::new(self.inp, self.out, self.kernel, self.opts, self.bias, rng)))
    }
}

impl Layer for ConvTItem {
    builds!();
    fn stored(&self) -> f64 {
        let per_in = (self.out / self.opts.groups.max(1)) as f64 * self.kernel[0] as f64 * self.kernel[1] as f64;
        self.inp as f64 * per_in + bias_count(self.bias, self.out)
    }
}

fn parse_conv_t(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let (inp, out) = (positive(&mut a, spec, "in")?, positive(&mut a, spec, "out")?);
    required(&a, spec, "kernel")?;
    let groups = if a.get("groups").is_some() { positive(&mut a, spec, "groups")? } else { 1 };
    if inp % groups != 0 || out % groups != 0 {
        return Err(err(spec, format!("groups={groups} must divide in ({inp}) and out ({out})")));
    }
    let opts = ConvTransposeOptions {
        stride: pair(&a, spec, "stride", [1, 1], false)?,
        padding: pair(&a, spec, "padding", [0, 0], true)?,
        output_padding: pair(&a, spec, "output_padding", [0, 0], true)?,
        groups,
        dilation: pair(&a, spec, "dilation", [1, 1], false)?,
    };
    for d in 0..2 {
        if opts.output_padding[d] >= opts.stride[d] && opts.output_padding[d] >= opts.dilation[d] {
            return Err(err(spec, "`output_padding` must be smaller than the stride or the dilation"));
        }
    }
    let kernel = pair(&a, spec, "kernel", [1, 1], false)?;
    Ok(Arc::new(ConvTItem { inp, out, kernel, opts, bias: a.bool_or("bias", true)? }))
}
