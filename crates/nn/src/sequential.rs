//! `Sequential`: modules applied one after another, named `0`, `1`, ….

use crate::Module;
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

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        self.layers.iter().enumerate().map(|(i, l)| (i.to_string(), l.as_ref() as &dyn Module<T>)).collect()
    }

    /// Each layer's output shape in turn; an error names the item
    /// (`item 3: Linear(1600 -> 128) needs …`), and a layer that cannot
    /// tell ends the check with `None`.
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let mut shape = input.to_vec();
        for (i, layer) in self.layers.iter().enumerate() {
            match layer.output_shape(&shape)? {
                Ok(next) => shape = next,
                Err(e) => return Some(Err(format!("item {i}: {e}"))),
            }
        }
        Some(Ok(shape))
    }
}

/// Flattens the dimensions from `start_dim` on into one: with the default
/// 1, `[batch, d1, d2, …]` → `[batch, d1·d2·…]` (PyTorch's `nn.Flatten()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten {
    /// The first dimension flattened.
    pub start_dim: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Self { start_dim: 1 }
    }
}

impl Flatten {
    fn flattened(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        if input.len() <= self.start_dim {
            return Err(format!(
                "Flatten(start_dim={}) needs more than {} dimensions, got {input:?}",
                self.start_dim, self.start_dim
            ));
        }
        let mut out = input[..self.start_dim].to_vec();
        out.push(input[self.start_dim..].iter().product());
        Ok(out)
    }
}

impl<T: Float> Module<T> for Flatten {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let shape = self.flattened(x.shape()).unwrap_or_else(|e| panic!("{e}"));
        x.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.flattened(input))
    }
}
