//! `Sequential`: modules applied one after another, named `0`, `1`, ….

use crate::{Module, Observer, Visitor};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;

/// Modules applied in order; their parameters are named by position
/// (`0.weight`, `2.bias`), as in PyTorch.
#[derive(Default)]
pub struct Sequential<T: Float> {
    layers: Vec<Box<dyn Module<T>>>,
}

impl<T: Float> Sequential<T> {
    /// An empty stack (the identity).
    pub fn new() -> Self {
        Self { layers: Vec::new() }
    }

    /// Appends `layer`.
    #[must_use]
    pub fn append(mut self, layer: impl Module<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends an already boxed layer.
    pub fn push(&mut self, layer: Box<dyn Module<T>>) {
        self.layers.push(layer);
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        &self.layers
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(tape, &h);
        }
        h
    }

    fn forward_observed(&self, tape: &Tape<T>, x: &Var<T>, observer: &mut Observer<'_, T>) -> Var<T> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = observer.child(&i.to_string(), layer.as_ref(), tape, &h);
        }
        h
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        for (i, layer) in self.layers.iter().enumerate() {
            v.child(&i.to_string(), layer.as_ref());
        }
    }

    fn set_training(&self, training: bool) {
        self.layers.iter().for_each(|l| l.set_training(training));
    }
}

/// Flattens every dimension after the first: `[batch, d1, d2, …]` →
/// `[batch, d1·d2·…]` (PyTorch's `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl<T: Float> Module<T> for Flatten {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        assert!(x.rank() >= 1, "Flatten: needs a batch dimension, got a 0-d input");
        let rest: usize = x.shape()[1..].iter().product();
        x.reshape(&[x.shape()[0] as isize, rest as isize])
    }
}
