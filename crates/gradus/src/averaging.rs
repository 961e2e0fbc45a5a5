//! Weight averaging for evaluation, as `torch.optim.swa_utils`: an
//! exponential moving average of the parameters and buffers after every
//! step, or stochastic weight averaging (the mean of the parameters at
//! the end of epochs, SWALR, `update_bn`).

use gradus_nn::{Module, Slot, Visitor};
use gradus_tensor::{Float, Tensor};

/// How the trainer averages weights ([`Trainer::with_ema`](crate::Trainer::with_ema)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Average {
    /// a ← lerp(a, θ, 1 − decay) after each step (`get_ema_multi_avg_fn(decay)`).
    Ema(f64),
    /// Stochastic weight averaging: the mean of the parameters at the end
    /// of every epoch from `start` (1-based) on, a ← lerp(a, θ, 1/(n + 1))
    /// (`get_swa_multi_avg_fn`);
    /// with `lr`, SWALR's cosine anneal of every group's rate to it over
    /// `anneal_epochs` epochs, replacing the schedule; batch norm's
    /// statistics recomputed for the average before it is evaluated
    /// (`update_bn`).
    Swa {
        /// The first epoch averaged.
        start: usize,
        /// SWALR's rate (`swa_lr`), if the rate is annealed.
        lr: Option<f64>,
        /// SWALR's `anneal_epochs`.
        anneal_epochs: usize,
    },
}

impl Average {
    /// The checkpoint prefix and metrics name: `ema` or `swa`.
    pub fn name(&self) -> &'static str {
        match self {
            Average::Ema(_) => "ema",
            Average::Swa { .. } => "swa",
        }
    }
}

/// SWALR's rate after its `step`-th step (1 at the end of the first
/// averaged epoch) from the rate `lr` a group has: PyTorch's
/// `SWALR.get_lr` with the cosine anneal, which recovers the rate before
/// annealing from the current one.
pub(crate) fn swalr(lr: f64, swa_lr: f64, anneal_epochs: usize, step: usize) -> f64 {
    let anneal = |t: f64| (1.0 - (std::f64::consts::PI * t).cos()) / 2.0;
    let step = if anneal_epochs == 0 { step.max(1) } else { step } as f64;
    let span = anneal_epochs.max(1) as f64;
    let prev_alpha = anneal(((step - 1.0) / span).clamp(0.0, 1.0));
    let prev_lr = if prev_alpha == 1.0 { swa_lr } else { (lr - prev_alpha * swa_lr) / (1.0 - prev_alpha) };
    let alpha = anneal((step / span).clamp(0.0, 1.0));
    swa_lr * alpha + prev_lr * (1.0 - alpha)
}

/// The average of a model's parameters and floating buffers (batch
/// norm's running statistics; an EMA averages them, `use_buffers=True`;
/// SWA keeps the ones [`update_bn`] computed for it), in the order a
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

    /// The model's parameters and floating buffers, named, each with
    /// whether it is a parameter.
    fn slots(model: &dyn Module<T>) -> Vec<(String, Tensor<T>, bool)> {
        let mut out = Vec::new();
        Visitor::new(&mut |name, slot| match slot {
            Slot::Param(p) => out.push((name.to_string(), p.value(), true)),
            Slot::Buffer(b) if !is_count(name) => out.push((name.to_string(), b.value(), false)),
            Slot::Buffer(_) | Slot::Counter(_) => {}
        })
        .module(model);
        out
    }

    /// The model's parameters and floating buffers, named.
    pub(crate) fn current(model: &dyn Module<T>) -> Vec<(String, Tensor<T>)> {
        Self::slots(model).into_iter().map(|(n, t, _)| (n, t)).collect()
    }

    /// One update from the model's current values (`update_parameters`).
    pub(crate) fn update(&mut self, model: &dyn Module<T>) {
        let current = Self::slots(model);
        if self.n_averaged == 0 {
            self.values = current.into_iter().map(|(n, t, _)| (n, t.contiguous())).collect();
        } else {
            let (w, buffers) = match self.average {
                Average::Ema(decay) => (T::of(1.0 - decay), true),
                Average::Swa { .. } => (T::of(1.0 / (self.n_averaged + 1) as f64), false),
            };
            for ((_, avg), (_, now, is_param)) in self.values.iter_mut().zip(current) {
                if !is_param && !buffers {
                    continue;
                }
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

/// `torch.optim.swa_utils.update_bn`: batch norm's running statistics of
/// `model` recomputed from scratch as cumulative averages over one pass of
/// `loader` (its batches for epoch `epoch`) in training mode, without
/// gradients; the model's mode comes back. Nothing happens to a model
/// without running statistics.
///
/// # Errors
/// A batch that cannot be loaded.
pub(crate) fn update_bn<T: Float>(
    model: &dyn Module<T>,
    loader: &gradus_data::DataLoader,
    epoch: u64,
) -> Result<(), crate::GradusError> {
    if model.named_buffers().is_empty() {
        return Ok(());
    }
    let mode = model.training();
    model.train();
    model.set_stats_pass(true);
    let pass = || -> Result<(), crate::GradusError> {
        for batch in loader.epoch::<T>(epoch) {
            let x = gradus_autodiff::Var::constant(batch?.features);
            gradus_autodiff::no_grad(|| model.forward(&gradus_autodiff::Tape::new(), &x));
        }
        Ok(())
    };
    let out = pass();
    model.set_stats_pass(false);
    if let Some(mode) = mode {
        model.set_training(mode);
    }
    out
}

/// Runs `f` and puts `model`'s buffers back as they were before it (batch
/// norm's statistics after a forward pass that must not count as a
/// batch: SAM's second evaluation, Sophia's curvature estimate, the
/// statistics pass for an average), whatever `f` returns.
pub(crate) fn keeping_buffers<T: Float, R>(model: &dyn Module<T>, f: impl FnOnce() -> R) -> R {
    let buffers: Vec<Tensor<T>> = model.named_buffers().iter().map(|(_, b)| b.value()).collect();
    let out = f();
    for ((_, b), v) in model.named_buffers().into_iter().zip(buffers) {
        b.set(v);
    }
    out
}

/// [`keeping_buffers`], and the counters too (dropout's mask count): for a
/// measurement that must leave training exactly as it would have gone
/// without it (the gradient noise scale).
pub(crate) fn unobserved<T: Float, R>(model: &dyn Module<T>, f: impl FnOnce() -> R) -> R {
    let now = counters(model);
    at_counters(model, &now, f)
}

/// [`keeping_buffers`] with the counters set to `saved` while `f` runs
/// and put back afterwards: a forward pass that draws the dropout masks an
/// earlier pass drew (`hessian_free`'s evaluations of the batch the step's
/// gradient came from).
pub(crate) fn at_counters<T: Float, R>(model: &dyn Module<T>, saved: &[u64], f: impl FnOnce() -> R) -> R {
    let now = counters(model);
    set_counters(model, saved);
    let out = keeping_buffers(model, f);
    set_counters(model, &now);
    out
}

/// The model's counters (dropout's seeds and mask counts), in visiting order.
pub(crate) fn counters<T: Float>(model: &dyn Module<T>) -> Vec<u64> {
    let mut out = Vec::new();
    Visitor::new(&mut |_, slot| {
        if let Slot::Counter(c) = slot {
            out.push(c.get());
        }
    })
    .module(model);
    out
}

/// Sets the model's counters from [`counters`]' list.
fn set_counters<T: Float>(model: &dyn Module<T>, values: &[u64]) {
    let mut values = values.iter();
    Visitor::new(&mut |_, slot| {
        if let Slot::Counter(c) = slot
            && let Some(&v) = values.next()
        {
            c.set(v);
        }
    })
    .module(model);
}
