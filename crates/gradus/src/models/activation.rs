//! Activations by name, with their parameters where they have any, and
//! `identity`.

use super::args::err;
use super::items::{Entry, Layer, builds, stateless};
use gradus_nn::{Elu, Gelu, Identity, LeakyRelu, Mish, Module, PRelu, Relu, Selu, Sigmoid, Silu, Softplus, Tanh};
use gradus_spec::{Args, Spec, SpecError};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry::new("relu", &[], |_, _| stateless(Relu)),
    Entry::new("leaky_relu", &["negative_slope"], |_, mut a| {
        stateless(LeakyRelu { negative_slope: a.f64_or("negative_slope", 0.01)? })
    }),
    Entry::new("prelu", &["num_parameters", "init"], parse_prelu),
    Entry::new("sigmoid", &[], |_, _| stateless(Sigmoid)),
    Entry::new("tanh", &[], |_, _| stateless(Tanh)),
    Entry::new("silu", &[], |_, _| stateless(Silu)),
    Entry::new("gelu", &["approximate"], |_, mut a| {
        stateless(Gelu { tanh_approximation: a.word_or("approximate", &["none", "tanh"], "none")? == "tanh" })
    }),
    Entry::new("elu", &["alpha"], |_, mut a| stateless(Elu { alpha: a.f64_or("alpha", 1.0)? })),
    Entry::new("selu", &[], |_, _| stateless(Selu)),
    Entry::new("softplus", &["beta", "threshold"], |_, mut a| {
        stateless(Softplus { beta: a.f64_or("beta", 1.0)?, threshold: a.f64_or("threshold", 20.0)? })
    }),
    Entry::new("mish", &[], |_, _| stateless(Mish)),
    Entry::new("identity", &[], |_, _| stateless(Identity)),
];

#[derive(Debug)]
struct PReluItem {
    n: usize,
    init: f64,
}

impl PReluItem {
    fn make<T: Float>(&self, _rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(PRelu::<T>::new(self.n, self.init))
    }
}

impl Layer for PReluItem {
    builds!();
    fn stored(&self) -> f64 {
        self.n as f64
    }
}

fn parse_prelu(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let n = a.usize_or("num_parameters", 1)?;
    if n == 0 {
        return Err(err(spec, "`num_parameters` must be positive"));
    }
    Ok(Arc::new(PReluItem { n, init: a.f64_or("init", 0.25)? }))
}
