//! Activation diagnostics: the fraction of dead ReLU
//! units and of saturated sigmoid/tanh outputs, read off a model's
//! activations during an observed forward pass.

use crate::{Module, Observer};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};

/// How far into its flat tails an output counts as saturated, measured on
/// the tanh scale: |tanh z| > 0.99, and for the sigmoid (tanh z = 2σ(2z) − 1)
/// |2σ − 1| > 0.99, i.e. σ < 0.005 or σ > 0.995. There the derivative is
/// below 2% of its peak, so hardly any gradient passes.
pub const SATURATION: f64 = 0.99;

/// What the diagnostics look for in an activation's output
/// ([`Module::watch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// Dead units: a unit whose output is 0 for every example seen (a ReLU
    /// stuck at z < 0 gets no gradient and never recovers).
    Dead,
    /// Outputs in the flat tails of a squashing function.
    Saturated(Saturating),
}

/// A squashing activation, for [`Watch::Saturated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saturating {
    /// σ(z), saturated where σ < 0.005 or σ > 0.995.
    Sigmoid,
    /// tanh z, saturated where |tanh z| > 0.99.
    Tanh,
}

impl Saturating {
    fn is_saturated(self, y: f64) -> bool {
        match self {
            Saturating::Sigmoid => (2.0 * y - 1.0).abs() > SATURATION,
            Saturating::Tanh => y.abs() > SATURATION,
        }
    }
}

/// One watched layer's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerActivity {
    name: String,
    watch: Watch,
    /// Per unit (every index after the batch dimension): fired at least once.
    fired: Vec<bool>,
    saturated: u64,
    values: u64,
}

impl LayerActivity {
    /// The layer's dotted name (`1`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What was watched.
    pub fn watch(&self) -> Watch {
        self.watch
    }

    /// Units per example (the product of the dimensions after the first).
    pub fn units(&self) -> usize {
        self.fired.len()
    }

    /// For [`Watch::Dead`], the fraction of units that output 0 for every
    /// example seen; for [`Watch::Saturated`], the fraction of all outputs
    /// (units × examples) in the saturated tails. 0 before any example.
    pub fn fraction(&self) -> f64 {
        match self.watch {
            Watch::Dead if self.values == 0 => 0.0,
            Watch::Dead => self.fired.iter().filter(|f| !**f).count() as f64 / self.fired.len().max(1) as f64,
            Watch::Saturated(_) => self.saturated as f64 / self.values.max(1) as f64,
        }
    }

    fn record<T: Float>(&mut self, output: &Tensor<T>) {
        let units = units_of(output.shape());
        assert_eq!(
            units,
            self.fired.len(),
            "ActivationStats: layer `{}` had {} units per example and now has {units} (shape {:?}); the counts need a fixed width",
            self.name,
            self.fired.len(),
            output.shape()
        );
        let output = output.contiguous();
        let values = output.as_slice().expect("made contiguous");
        self.values += values.len() as u64;
        match self.watch {
            Watch::Dead => {
                for row in values.chunks(units.max(1)) {
                    for (fired, y) in self.fired.iter_mut().zip(row) {
                        *fired |= *y > T::zero();
                    }
                }
            }
            Watch::Saturated(kind) => {
                self.saturated += values.iter().filter(|y| kind.is_saturated(y.as_f64())).count() as u64;
            }
        }
    }
}

fn units_of(shape: &[usize]) -> usize {
    shape.iter().skip(1).product()
}

/// Dead-unit and saturation counts of every watched activation in a model,
/// accumulated over the batches run through [`ActivationStats::forward`].
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{ActivationStats, Linear, Module, Relu, Sequential, Tanh};
/// use gradus_tensor::Tensor;
/// use rand::{SeedableRng, rngs::StdRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let model = Sequential::<f64>::new().append(Linear::new(2, 8, &mut rng)).append(Relu).append(Tanh);
/// let mut stats = ActivationStats::new();
/// stats.forward(&model, &Tape::new(), &Var::constant(Tensor::ones(&[4, 2])));
/// let names: Vec<&str> = stats.layers().iter().map(|l| l.name()).collect();
/// assert_eq!(names, ["1", "2"]);
/// assert!((0.0..=1.0).contains(&stats.layers()[0].fraction()));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActivationStats {
    layers: Vec<LayerActivity>,
}

impl ActivationStats {
    /// No counts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `model.forward(tape, x)`, counting the output of every module whose
    /// [`Module::watch`] is set.
    ///
    /// # Panics
    /// If a watched layer's units per example differ from an earlier batch.
    pub fn forward<T: Float>(&mut self, model: &dyn Module<T>, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        model.forward_observed(
            tape,
            x,
            &mut Observer::new(&mut |name, module, y| {
                if let Some(watch) = module.watch() {
                    self.record(name, watch, y.value());
                }
            }),
        )
    }

    /// Adds one batch of a layer's output (first dimension: the batch).
    ///
    /// # Panics
    /// If the layer's units per example differ from an earlier batch.
    pub fn record<T: Float>(&mut self, name: &str, watch: Watch, output: &Tensor<T>) {
        let i = match self.layers.iter().position(|l| l.name == name) {
            Some(i) => i,
            None => {
                let fired = vec![false; units_of(output.shape())];
                self.layers.push(LayerActivity { name: name.to_string(), watch, fired, saturated: 0, values: 0 });
                self.layers.len() - 1
            }
        };
        self.layers[i].record(output);
    }

    /// The watched layers, in the order their outputs were first seen.
    pub fn layers(&self) -> &[LayerActivity] {
        &self.layers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn a_unit_is_dead_only_when_zero_for_every_example() {
        let mut s = ActivationStats::new();
        s.record("1", Watch::Dead, &t(&[0.0, 1.0, 0.0, 0.0], &[2, 2]));
        assert_eq!(s.layers()[0].fraction(), 0.5);
        s.record("1", Watch::Dead, &t(&[0.3, 0.0, 0.0, 0.0], &[2, 2]));
        assert_eq!(s.layers()[0].fraction(), 0.0);
    }

    #[test]
    fn saturation_counts_outputs_past_the_threshold() {
        let mut s = ActivationStats::new();
        s.record("t", Watch::Saturated(Saturating::Tanh), &t(&[0.995, -0.999, 0.5, 0.98], &[2, 2]));
        s.record("s", Watch::Saturated(Saturating::Sigmoid), &t(&[0.996, 0.004, 0.5, 0.99], &[4]));
        assert_eq!(s.layers()[0].fraction(), 0.5);
        assert_eq!(s.layers()[1].fraction(), 0.5);
        assert_eq!(s.layers()[1].units(), 1);
    }

    #[test]
    #[should_panic(expected = "layer `1` had 2 units per example and now has 3")]
    fn a_changing_width_is_an_error() {
        let mut s = ActivationStats::new();
        s.record("1", Watch::Dead, &t(&[0.0; 4], &[2, 2]));
        s.record("1", Watch::Dead, &t(&[0.0; 6], &[2, 3]));
    }
}
