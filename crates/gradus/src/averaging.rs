//! Weight averaging for evaluation: an exponential moving average of the
//! parameters and buffers, as `torch.optim.swa_utils.AveragedModel`.

use gradus_nn::{Module, Slot, Visitor};
use gradus_tensor::{Float, Tensor};

/// How the trainer averages weights ([`Trainer::with_ema`](crate::Trainer::with_ema)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Average {
    /// a ← lerp(a, θ, 1 − decay) after each step (`get_ema_multi_avg_fn(decay)`).
    Ema(f64),
}

/// The average of a model's parameters and floating buffers (batch
/// norm's running statistics; `use_buffers=True`), in the order a
/// [`Visitor`] walks them; the first update copies the model. Counts
/// (batch norm's `num_batches_tracked`, a buffer in the element type
/// here and an integer in PyTorch, which averages it with truncation;
/// dropout's stream positions) are not averaged: evaluation uses the
/// model's.
#[derive(Clone, Debug)]
pub(crate) struct Averaged<T: Float> {
    pub(crate) average: Average,
    /// Updates taken (`n_averaged`).
    pub(crate) n_averaged: u64,
    /// Names (as the checkpoint's after the prefix) and averaged values.
    pub(crate) values: Vec<(String, Tensor<T>)>,
}

impl<T: Float> Averaged<T> {
    pub(crate) fn new(average: Average) -> Self {
        Self { average, n_averaged: 0, values: Vec::new() }
    }

    /// The model's parameters and floating buffers, named.
    pub(crate) fn current(model: &dyn Module<T>) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        Visitor::new(&mut |name, slot| match slot {
            Slot::Param(p) => out.push((name.to_string(), p.value())),
            Slot::Buffer(b) if !is_count(name) => out.push((name.to_string(), b.value())),
            Slot::Buffer(_) | Slot::Counter(_) => {}
        })
        .module(model);
        out
    }

    /// One update from the model's current values (`update_parameters`).
    pub(crate) fn update(&mut self, model: &dyn Module<T>) {
        let current = Self::current(model);
        if self.n_averaged == 0 {
            self.values = current.into_iter().map(|(n, t)| (n, t.contiguous())).collect();
        } else {
            let Average::Ema(decay) = self.average;
            let w = T::of(1.0 - decay);
            for ((_, avg), (_, now)) in self.values.iter_mut().zip(current) {
                let now = now.contiguous();
                let now = now.as_slice().expect("made contiguous");
                avg.data_mut().iter_mut().zip(now).for_each(|(a, &x)| *a = gradus_optim::lerp(*a, x, w));
            }
        }
        self.n_averaged += 1;
    }

    /// Puts the averaged values into `model` and returns the values it
    /// held, for [`Averaged::restore`].
    pub(crate) fn swap_in(&self, model: &dyn Module<T>) -> Vec<Tensor<T>> {
        let mut held = Vec::new();
        let mut next = self.values.iter();
        Visitor::new(&mut |name, slot| match slot {
            Slot::Param(p) => {
                held.push(p.value());
                p.set(next.next().expect("an average per slot").1.clone());
            }
            Slot::Buffer(b) if !is_count(name) => {
                held.push(b.value());
                b.set(next.next().expect("an average per slot").1.clone());
            }
            Slot::Buffer(_) | Slot::Counter(_) => {}
        })
        .module(model);
        held
    }

    /// Puts back what [`Averaged::swap_in`] took out.
    pub(crate) fn restore(model: &dyn Module<T>, held: Vec<Tensor<T>>) {
        let mut next = held.into_iter();
        Visitor::new(&mut |name, slot| match slot {
            Slot::Param(p) => p.set(next.next().expect("a value per slot")),
            Slot::Buffer(b) if !is_count(name) => b.set(next.next().expect("a value per slot")),
            Slot::Buffer(_) | Slot::Counter(_) => {}
        })
        .module(model);
    }
}

/// Whether a buffer is batch norm's count of batches, an integer that is
/// not averaged.
fn is_count(name: &str) -> bool {
    name == "num_batches_tracked" || name.ends_with(".num_batches_tracked")
}

/// Puts the optimiser's evaluation weights into `model` where its method
/// judges elsewhere than where it takes gradients (the schedule-free
/// methods' x, [`gradus_optim::UpdateRule::eval_params`]), and returns what
/// each parameter held (`None` for those left as they are), for
/// [`restore_trained`]; `None` when no parameter changed.
pub(crate) fn swap_in_eval_params<T: Float>(
    optim: &gradus_optim::Optimizer<T>,
    model: &dyn Module<T>,
) -> Option<Vec<Option<Tensor<T>>>> {
    let (mut any, mut seen) = (false, std::collections::BTreeSet::new());
    let held = model
        .named_parameters()
        .into_iter()
        .map(|(_, p)| {
            // A shared parameter is listed once per use and changed once.
            if !seen.insert(p.id().0) {
                return None;
            }
            let now = p.value().contiguous();
            let x = optim.eval_params(p.id().0, now.as_slice().expect("made contiguous"))?;
            any = true;
            p.set(Tensor::from_vec(x, now.shape()).expect("the parameter's shape"));
            Some(now)
        })
        .collect();
    any.then_some(held)
}

/// Puts back what [`swap_in_eval_params`] took out.
pub(crate) fn restore_trained<T: Float>(model: &dyn Module<T>, held: Vec<Option<Tensor<T>>>) {
    for ((_, p), v) in model.named_parameters().into_iter().zip(held) {
        if let Some(v) = v {
            p.set(v);
        }
    }
}
