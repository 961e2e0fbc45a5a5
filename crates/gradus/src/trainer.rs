//! The training loop: epochs of mini-batch steps (forward on a fresh tape,
//! loss, backward, optimiser update, schedule), evaluation, and the
//! per-epoch metrics and diagnostics.

use crate::GradusError;
use crate::evaluation::run_evaluation;
use crate::gradients::{GradientRules, NotFinite, adaptive_clip, batch_gradients, clip_coefficient};
use crate::metrics::EpochMetrics;
use crate::replicas::{BatchStats, Replicas};
use gradus_autodiff::Var;
use gradus_data::DataLoader;
use gradus_loss::{BatchTargets, Loss};
use gradus_nn::Param;
use gradus_nn::{ActivationStats, Module, Watch};
use gradus_optim::Optimizer;
use gradus_sched::{LrScheduler, ReduceOnPlateau, Schedule};
use gradus_tensor::{Float, Tensor};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Instant;

/// A parameter's gradient for [`Trainer::update`], with the sum of its
/// squares when the backward pass already took it.
pub(crate) struct Gradient<T: Float> {
    pub(crate) tensor: Tensor<T>,
    pub(crate) squares: Option<f64>,
}

/// When a step-indexed schedule advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Each optimiser step (one-cycle, cyclic, warm-up…).
    Batch,
    /// Each epoch (step decay, cosine over epochs…).
    Epoch,
}

impl Every {
    /// The names [`Every::from_str`](std::str::FromStr::from_str) takes.
    pub const NAMES: [&'static str; 2] = ["batch", "epoch"];
}

impl std::fmt::Display for Every {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if *self == Every::Batch { "batch" } else { "epoch" })
    }
}

impl std::str::FromStr for Every {
    type Err = String;

    /// `batch` or `epoch`.
    ///
    /// ```
    /// use gradus::Every;
    /// assert_eq!("batch".parse::<Every>().unwrap(), Every::Batch);
    /// assert_eq!(Every::Epoch.to_string(), "epoch");
    /// assert_eq!("step".parse::<Every>().unwrap_err(), "`step` is not a schedule unit; accepted: batch, epoch");
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "batch" => Ok(Every::Batch),
            "epoch" => Ok(Every::Epoch),
            _ => Err(format!("`{s}` is not a schedule unit; accepted: {}", Every::NAMES.join(", "))),
        }
    }
}

/// The schedule a trainer drives: a step-indexed one with the unit it
/// counts, or reduce-on-plateau started at the optimiser's rate.
#[derive(Debug)]
pub(crate) enum Driven {
    Steps(Box<dyn LrScheduler>, Every),
    Plateau(ReduceOnPlateau),
}

/// The data of an epoch ([`Trainer::epoch`]): the loader it trains on,
/// a fixed subset of the training data it measures the training loss and
/// the layer diagnostics on, and the test (validation) loader.
#[derive(Clone, Copy)]
pub struct Loaders<'a> {
    /// The training batches, shuffled or not as the loader says.
    pub train: &'a DataLoader,
    /// The monitoring subset of the training data: the `train_*` metrics,
    /// dead and saturated units, and sharpness are measured on it.
    pub monitor: &'a DataLoader,
    /// The test set: the `test_*` metrics and the plateau schedule's loss.
    pub test: &'a DataLoader,
}

/// Trains a model with an optimiser and an optional schedule.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use gradus::prelude::*;
/// # fn run(train: Arc<dyn Dataset>, test: Arc<dyn Dataset>) -> Result<(), GradusError> {
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Mlp::new(&[784, 256, 128, 10]).build::<f32, _>(&mut rng);
/// let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=1e-3)")?));
/// let loss = CrossEntropy::default();
/// let train_loader = DataLoader::new(Arc::clone(&train), 128).shuffle(0);
/// let first: Vec<usize> = (0..5000.min(train.len())).collect();
/// let monitor = DataLoader::new(Arc::new(gradus::data::Subset::new(train, first)?), 1000);
/// let test_loader = DataLoader::new(test, 1000);
/// let loaders = Loaders { train: &train_loader, monitor: &monitor, test: &test_loader };
/// for epoch in 1..=10 {
///     let m = trainer.epoch(&model, &loss, &loaders)?;
///     println!("epoch {epoch}: test accuracy {:.4}", m.test_accuracy);
/// }
/// # Ok(()) }
/// ```
pub struct Trainer<T: Float> {
    pub(crate) optim: Optimizer<T>,
    pub(crate) schedule: Option<Driven>,
    pub(crate) steps: usize,
    pub(crate) epochs: usize,
    config: crate::config::RunConfig,
    /// The other processes of a data-parallel run, if any.
    pub(crate) replicas: Option<(Rc<dyn Replicas<T>>, BatchStats)>,
    /// Time spent in gradient communication.
    pub(crate) communication: std::time::Duration,
    /// Sharpness measured every N steps, if asked for.
    pub(crate) sharpness: Option<crate::sharpness::Tracker<T>>,
    /// The parameters kept every N steps, if asked for.
    pub(crate) trajectory: Option<crate::trajectory::Recorder<T>>,
    /// Gradient noise measured every N steps, if asked for.
    pub(crate) noise: Option<crate::noise_scale::NoiseTracker>,
    /// The losses also in bits per byte (a text model).
    bits_per_byte: bool,
    /// What is done to the gradients before the optimiser sees them.
    pub(crate) rules: GradientRules,
    /// Steps skipped since the last one taken, and in this epoch.
    pub(crate) skipped_in_a_row: usize,
    skipped_in_epoch: usize,
    /// The weights averaged for evaluation, if asked for.
    pub(crate) ema: Option<crate::averaging::Averaged<T>>,
    /// A schedule of every group's momentum, its unit, and each group's
    /// momentum as built (the schedule's base values).
    pub(crate) momentum_schedule: Option<(Box<dyn gradus_sched::LrScheduler>, Every, Vec<f64>)>,
}

impl<T: Float> Trainer<T> {
    /// A trainer around `optim` (its groups' rates are the schedules' base rates).
    pub fn new(optim: Optimizer<T>) -> Self {
        Self {
            optim,
            schedule: None,
            steps: 0,
            epochs: 0,
            config: crate::config::RunConfig::default(),
            replicas: None,
            communication: std::time::Duration::ZERO,
            sharpness: None,
            noise: None,
            trajectory: None,
            bits_per_byte: false,
            rules: GradientRules::default(),
            skipped_in_a_row: 0,
            skipped_in_epoch: 0,
            ema: None,
            momentum_schedule: None,
        }
    }

    /// Applies `rules` to every step's gradients (clipping, skipping a
    /// non-finite step, accumulation over micro-batches).
    ///
    /// # Errors
    /// [`GradusError::Config`] naming a value out of range: a clipping
    /// value that is not positive and finite, or `accumulate` 0.
    pub fn with_gradient_rules(mut self, rules: GradientRules) -> Result<Self, GradusError> {
        for (flag, v) in [("clip_agc", rules.clip_agc), ("clip_norm", rules.clip_norm)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(GradusError::Config(format!("{flag} must be a positive finite number, got {v}")));
            }
        }
        if rules.accumulate == 0 {
            return Err(GradusError::Config("accumulate must be at least 1 micro-batch a step".into()));
        }
        self.rules = rules;
        Ok(self)
    }

    /// The gradient rules in force.
    pub fn gradient_rules(&self) -> &GradientRules {
        &self.rules
    }

    /// Reports the losses also in bits per byte ([`EpochMetrics::bits_per_byte`]),
    /// for a model of byte-level text.
    pub fn bits_per_byte(mut self) -> Self {
        self.bits_per_byte = true;
        self
    }

    /// Measures sharpness (λ_max of the loss's Hessian on the monitoring
    /// loader that [`Trainer::epoch`] is given) after every `every`
    /// optimiser steps, from step `every` on; the epoch's last value goes
    /// into [`EpochMetrics::sharpness`]. The measurement changes nothing in
    /// the run: the model is evaluated in evaluation mode and its
    /// parameters, buffers and random-number counters are left as they
    /// were. `every` = 0 turns it off.
    ///
    /// ```
    /// # use gradus::prelude::*;
    /// let trainer = Trainer::<f32>::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap())).with_sharpness(50);
    /// assert!(trainer.sharpness().is_empty());
    /// ```
    #[must_use]
    pub fn with_sharpness(mut self, every: usize) -> Self {
        self.sharpness = (every > 0).then(|| crate::sharpness::Tracker::new(every));
        self
    }

    /// The sharpness tracker, when the trainer measures sharpness.
    /// How often sharpness is measured, in steps, if it is
    /// ([`Trainer::with_sharpness`]).
    pub fn sharpness_every(&self) -> Option<usize> {
        self.sharpness.as_ref().map(|t| t.every)
    }

    pub(crate) fn sharpness_tracker(&mut self) -> Option<&mut crate::sharpness::Tracker<T>> {
        self.sharpness.as_mut()
    }

    /// The next sharpness measurement's warm start, if one was measured.
    pub(crate) fn sharpness_start(&self) -> Option<&[T]> {
        self.sharpness.as_ref().and_then(|t| t.start())
    }

    /// Every sharpness measurement so far (see [`Trainer::with_sharpness`]).
    pub fn sharpness(&self) -> &[crate::SharpnessPoint] {
        self.sharpness.as_ref().map_or(&[], |t| &t.points)
    }

    /// Records `key = value` of the run's configuration (the model spec,
    /// the optimiser, the seed, …): [`Trainer::save`] writes it into the
    /// checkpoint's metadata as `config.{key}`, and [`Trainer::resume`]
    /// refuses a checkpoint that recorded another value for a key recorded
    /// here, or a key not recorded here, listing every difference.
    #[must_use]
    pub fn record(mut self, key: &str, value: &str) -> Self {
        self.config.record(key, value);
        self
    }

    /// [`Trainer::record`] for a value with more than one spelling (a spec
    /// string): on resume, a checkpoint's value of another spelling is the
    /// same setting when `same(saved, this)` says so.
    ///
    /// ```
    /// # use gradus::prelude::*;
    /// # fn run() -> Result<(), GradusError> {
    /// let same = |a: &str, b: &str| {
    ///     let parse = |s: &str| gradus::optim::parse::<f32>(s).map(|o| format!("{o:?}"));
    ///     matches!((parse(a), parse(b)), (Ok(a), Ok(b)) if a == b)
    /// };
    /// let model = gradus::models::ModelSpec::parse("mlp(4, 3)").unwrap().build::<f32>(0);
    /// let path = std::env::temp_dir().join(format!("record-meaning-{}.safetensors", std::process::id()));
    /// let sgd = |text: &str| -> Result<Trainer<f32>, GradusError> {
    ///     Ok(Trainer::new(Optimizer::boxed(gradus::optim::parse(text)?)).record_meaning("optimizer", text, same))
    /// };
    /// sgd("sgd(lr=0.1)")?.save(&model, &path)?;
    /// sgd("sgd( momentum=0, lr=1e-1 )")?.resume(&model, &path)?;
    /// assert!(sgd("sgd(lr=0.2)")?.resume(&model, &path).is_err());
    /// # std::fs::remove_file(&path).ok();
    /// # Ok(()) }
    /// # run().unwrap();
    /// ```
    #[must_use]
    pub fn record_meaning(mut self, key: &str, value: &str, same: crate::SameMeaning) -> Self {
        self.config.record_meaning(key, value, same);
        self
    }

    /// Writes `key = value` into the checkpoint's configuration without
    /// comparing it on resume (a run may change it between its parts, as
    /// the number of processes).
    #[must_use]
    pub fn note(mut self, key: &str, value: &str) -> Self {
        self.config.note(key, value);
        self
    }

    /// The configuration recorded with [`Trainer::record`],
    /// [`Trainer::record_meaning`] and [`Trainer::note`], in that order.
    pub fn config(&self) -> impl Iterator<Item = (&str, &str)> {
        self.config.pairs()
    }

    /// How `ck`'s recorded configuration differs from this trainer's.
    pub(crate) fn config_differences(&self, ck: &gradus_nn::Checkpoint) -> Vec<crate::Difference> {
        self.config.differences(ck)
    }

    /// Drives the rate with `schedule` (what [`gradus_sched::parse`]
    /// returns): a step-indexed schedule advances each `every`, from the
    /// groups' rates as base rates; reduce-on-plateau starts at the first
    /// group's rate and observes the test loss after each epoch.
    ///
    /// ```
    /// # use gradus::prelude::*;
    /// let optimizer = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.5)").unwrap());
    /// let cosine = gradus::sched::parse("cosine(t_max=10)").unwrap();
    /// let trainer = Trainer::<f32>::new(optimizer).with_schedule(cosine, Every::Epoch).unwrap();
    /// assert_eq!(trainer.schedule_end(), None);
    /// let optimizer = Optimizer::boxed(gradus::optim::parse("sgd(lr=0.5)").unwrap());
    /// let plateau = gradus::sched::parse("plateau(patience=2)").unwrap();
    /// let err = Trainer::<f32>::new(optimizer).with_schedule(plateau, Every::Batch).err().expect("refused");
    /// assert!(err.to_string().contains("observes the test loss once an epoch"));
    /// ```
    ///
    /// # Errors
    /// [`GradusError::Config`] for reduce-on-plateau with [`Every::Batch`]
    /// (it observes the test loss, which is measured once an epoch), or
    /// plateau options out of range.
    pub fn with_schedule(mut self, schedule: Schedule, every: Every) -> Result<Self, GradusError> {
        let driven = match schedule {
            Schedule::Steps(s) if self.momentum_schedule.is_some() && s.momentum(0).is_some() => {
                return Err(GradusError::Config(
                    "this schedule drives the momentum, which a momentum schedule drives already".into(),
                ));
            }
            Schedule::Steps(s) => Driven::Steps(s, every),
            Schedule::Plateau(_) if every == Every::Batch => {
                return Err(GradusError::Config(
                    "plateau observes the test loss once an epoch, so it cannot advance every batch; use `every` = epoch".into(),
                ));
            }
            Schedule::Plateau(options) => {
                let lr = self.optim.groups()[0].lr;
                Driven::Plateau(ReduceOnPlateau::new(lr, options)?)
            }
        };
        self.schedule = Some(driven);
        self.apply_schedule();
        Ok(self)
    }

    /// The last step a step-indexed schedule is defined for, and the unit
    /// it counts (one-cycle's `total_steps`); `None` for schedules without
    /// an end, reduce-on-plateau, or no schedule.
    pub fn schedule_end(&self) -> Option<(usize, Every)> {
        match &self.schedule {
            Some(Driven::Steps(s, every)) => s.last_step().map(|last| (last, *every)),
            _ => None,
        }
    }

    /// Whether the rate is driven by a schedule.
    pub fn has_schedule(&self) -> bool {
        self.schedule.is_some()
    }

    /// The optimiser.
    pub fn optim(&self) -> &Optimizer<T> {
        &self.optim
    }

    /// Epochs completed.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// (optimiser steps, epochs) taken.
    pub fn counters(&self) -> (usize, usize) {
        (self.steps, self.epochs)
    }

    pub(crate) fn schedule_mut(&mut self) -> Option<&mut Driven> {
        self.schedule.as_mut()
    }

    pub(crate) fn schedule_ref(&self) -> Option<&Driven> {
        self.schedule.as_ref()
    }

    /// Takes the schedule out (a range test drives the rate itself).
    pub(crate) fn schedule_take(&mut self) -> Option<Driven> {
        self.schedule.take()
    }

    /// Puts back what [`Trainer::schedule_take`] took.
    pub(crate) fn schedule_put(&mut self, schedule: Option<Driven>) {
        self.schedule = schedule;
    }

    /// Restores the optimiser's state and the counters (for [`Trainer::resume`]).
    pub(crate) fn import_run(
        &mut self,
        state: &gradus_optim::OptimizerState<T>,
        steps: usize,
        epochs: usize,
    ) -> Result<(), GradusError> {
        self.optim.import(state)?;
        self.steps = steps;
        self.epochs = epochs;
        self.apply_schedule();
        Ok(())
    }

    /// Refuses a step (`every` = the unit it counts) that would ask the
    /// schedule past its last step, before anything changes (PyTorch's
    /// `OneCycleLR` raises when stepped past `total_steps`).
    pub(crate) fn check_schedule_range(&self, unit: Every) -> Result<(), GradusError> {
        self.check_momentum_range(unit)?;
        let Some(Driven::Steps(s, every)) = &self.schedule else { return Ok(()) };
        let (Some(last), true) = (s.last_step(), *every == unit) else { return Ok(()) };
        let next = if unit == Every::Batch { self.steps + 1 } else { self.epochs + 1 };
        if next > last {
            let unit = if unit == Every::Batch { "step" } else { "epoch" };
            return Err(GradusError::Config(format!(
                "the schedule ends after {last} {unit}s and this would be {unit} {next}; give it more steps (total_steps) or train for fewer"
            )));
        }
        Ok(())
    }

    pub(crate) fn apply_schedule(&mut self) {
        let at = |every: Every| if every == Every::Batch { self.steps } else { self.epochs };
        if let Some((s, every, bases)) = &self.momentum_schedule {
            let t = at(*every);
            for (g, &m0) in self.optim.groups_mut().iter_mut().zip(bases) {
                g.rule.set_momentum(s.lr(m0, t));
            }
        }
        // From SWA's start SWALR sets the rate (and a cyclic schedule's
        // momentum stays where it was).
        if self.swalr_step().is_some() {
            return;
        }
        let Some(Driven::Steps(s, every)) = &self.schedule else { return };
        let t = at(*every);
        let momentum = s.momentum(t);
        for g in self.optim.groups_mut() {
            g.lr = s.lr(g.initial_lr, t);
            if let Some(m) = momentum {
                g.rule.set_momentum(m);
            }
        }
    }

    /// The perturbation of a sharpness-aware optimiser (`sam(…)`), if the
    /// optimiser is one.
    pub(crate) fn sharpness_aware(&self) -> Option<gradus_optim::Perturbation> {
        self.optim.groups().iter().find_map(|g| g.rule.sharpness_aware())
    }

    /// One optimiser step on a batch; returns the batch loss. With `norms`,
    /// each parameter's gradient norm is added to its entry (in
    /// `named_parameters` order).
    ///
    /// # Errors
    /// A loss that does not take these targets, or an optimiser error.
    pub fn step(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        x: &Var<T>,
        y: &BatchTargets<T>,
        norms: Option<&mut [f64]>,
    ) -> Result<f64, GradusError> {
        self.check_schedule_range(Every::Batch)?;
        self.observe_noise(model, loss, x, y)?;
        let params = model.named_parameters();
        let (epoch, step) = (Some(self.epochs + 1), Some(self.steps + 1));
        let diverged = |what: String, first_op: Option<String>| GradusError::Diverged { epoch, step, what, first_op };
        // What a solving method's evaluations must draw: the masks of the
        // gradient pass below.
        let solving = self.optim.curvature_request().map(|r| r.kind).filter(|k| k.solves());
        let start = solving.map(|_| crate::averaging::counters(model));
        let mut outcome = batch_gradients(model, loss, x, y, &params, self.rules.accumulate)?;
        if let (Ok((value, grads)), Some(perturbation)) = (&outcome, self.sharpness_aware()) {
            // SAM: the step's gradient is the one at θ + e; the loss is θ's.
            let value = *value;
            outcome = crate::sharpness_aware::perturbed_gradients(
                model,
                loss,
                x,
                y,
                &params,
                grads,
                perturbation,
                self.rules.accumulate,
            )?
            .map(|(_, grads)| (value, grads));
        }
        if outcome.is_ok() {
            self.observe_curvature(model, loss, x, y, &params)?;
        }
        match outcome {
            Ok((value, grads)) => {
                let mut oracle = match (solving, start) {
                    (Some(kind), Some(start)) => {
                        let stepped = crate::solving::stepped(&params, &grads);
                        Some(crate::solving::BatchOracle::new(model, loss, (x.value(), y), kind, start, &stepped)?)
                    }
                    _ => None,
                };
                let oracle = oracle.as_mut().map(|o| o as &mut dyn gradus_optim::CurvatureOracle<T>);
                if self.update(&params, grads, norms, &diverged, oracle)?
                    && let Some(ema) = self.ema.as_mut().filter(|e| matches!(e.average, crate::Average::Ema(_)))
                {
                    ema.update(model);
                }
                Ok(value)
            }
            Err(NotFinite { value, what, first_op }) => {
                if first_op.is_some() || self.rules.skip_nonfinite.is_none() {
                    return Err(diverged(what, first_op));
                }
                self.skip(what, &diverged)?;
                Ok(value)
            }
        }
    }

    /// The optimiser step from each parameter's gradient (in
    /// `named_parameters` order), after checking them and applying the
    /// gradient rules (clipping; a skip instead of a step when one is not
    /// finite and skipping is allowed); then the counters and the schedule
    /// move on.
    pub(crate) fn update(
        &mut self,
        params: &[(String, &Param<T>)],
        grads: Vec<Option<Gradient<T>>>,
        mut norms: Option<&mut [f64]>,
        diverged: &dyn Fn(String, Option<String>) -> GradusError,
        oracle: Option<&mut dyn gradus_optim::CurvatureOracle<T>>,
    ) -> Result<bool, GradusError> {
        // The tape is gone, so each parameter's storage is its own again and
        // the update below writes in place instead of copying it. A
        // parameter listed twice (a shared module) is updated once, with the
        // gradient of all its uses, as PyTorch lists it once.
        let mut seen = BTreeSet::new();
        let mut kept: Vec<(usize, Option<Tensor<T>>, f64)> = Vec::new();
        for (k, ((_, p), g)) in params.iter().zip(grads).enumerate() {
            if !seen.insert(p.id().0) {
                continue;
            }
            let known = g.as_ref().and_then(|g| g.squares);
            let g = g.map(|g| g.tensor.contiguous());
            let mut squares = 0.0;
            if let Some(g) = &g {
                // One pass gives the norm and, through it, finiteness (a sum
                // of squares that overflows is checked element by element).
                let g = g.as_slice().expect("made contiguous");
                squares = known.unwrap_or_else(|| gradus_tensor::sum_of_squares_f64(g));
                if !squares.is_finite() && !g.iter().all(|x| x.is_finite()) {
                    self.skip(format!("the gradient of {} is not finite", params[k].0), diverged)?;
                    return Ok(false);
                }
            }
            kept.push((k, g, squares));
        }
        for (k, g, squares) in &mut kept {
            let Some(g) = g else { continue };
            if let Some(n) = norms.as_deref_mut() {
                n[*k] += squares.sqrt();
            }
            if let Some(clip) = self.rules.clip_agc {
                // A parameter set from a view is not stored densely.
                let p = params[*k].1.value().contiguous();
                adaptive_clip(p.as_slice().expect("made contiguous"), p.shape(), g.data_mut(), clip);
                *squares = gradus_tensor::sum_of_squares_f64(g.as_slice().expect("made contiguous"));
            }
        }
        if let Some(max) = self.rules.clip_norm {
            let c = clip_coefficient(kept.iter().map(|(_, _, s)| s).sum(), max);
            if c < 1.0 {
                let c = T::of(c);
                kept.iter_mut()
                    .filter_map(|(_, g, _)| g.as_mut())
                    .for_each(|g| g.data_mut().iter_mut().for_each(|x| *x *= c));
            }
        }
        self.skipped_in_a_row = 0;
        if let Some(oracle) = oracle {
            crate::solving::step(&mut self.optim, params, kept, oracle)?;
            self.steps += 1;
            self.apply_schedule();
            return Ok(true);
        }
        let mut updates: Vec<_> = kept
            .into_iter()
            .map(|(k, g, _)| {
                let p = params[k].1;
                (p.id().0, p.shape(), p.data_mut(), g)
            })
            .collect();
        self.optim.step(updates.iter_mut().map(|(key, shape, w, g)| {
            (*key, &shape[..], &mut w[..], g.as_ref().map(|g| g.as_slice().expect("made contiguous")))
        }))?;
        self.steps += 1;
        self.apply_schedule();
        Ok(true)
    }

    /// A step that cannot be taken because `what` is not finite: skipped
    /// and counted when the rules allow another in a row, else the run's
    /// divergence.
    pub(crate) fn skip(
        &mut self,
        what: String,
        diverged: &dyn Fn(String, Option<String>) -> GradusError,
    ) -> Result<(), GradusError> {
        let Some(limit) = self.rules.skip_nonfinite else { return Err(diverged(what, None)) };
        if self.skipped_in_a_row >= limit {
            let what = format!("{what}, and the {limit} steps before were skipped already (--skip-nonfinite {limit})");
            return Err(diverged(what, None));
        }
        self.skipped_in_a_row += 1;
        self.skipped_in_epoch += 1;
        self.steps += 1;
        self.apply_schedule();
        Ok(())
    }

    /// One epoch of training on `loaders.train`, then metrics on the fixed
    /// `loaders.monitor` (a subset of the training data) and on
    /// `loaders.test`.
    ///
    /// # Errors
    /// Data, loss or optimiser errors.
    pub fn epoch(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loaders: &Loaders<'_>,
    ) -> Result<EpochMetrics, GradusError> {
        self.epoch_with(model, loss, loaders, &mut |_, _, _| {})
    }

    /// [`Trainer::epoch`], calling `on_batch(done, total, batch_loss)` after
    /// each step (for a progress bar).
    ///
    /// # Errors
    /// Data, loss or optimiser errors.
    pub fn epoch_with(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loaders: &Loaders<'_>,
        on_batch: &mut dyn FnMut(usize, usize, f64),
    ) -> Result<EpochMetrics, GradusError> {
        let Loaders { train, monitor, test } = *loaders;
        self.check_schedule_range(Every::Epoch)?;
        model.train();
        if let Some((r, _)) = &self.replicas {
            crate::replicas::broadcast_state(&**r, model, true);
        }
        let start = Instant::now();
        let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
        let mut norms = vec![0.0f64; names.len()];
        let mut batches = 0usize;
        let mut step_losses = Vec::with_capacity(train.len(self.epochs as u64));
        let mut epoch_sharpness = None;
        self.refuse_in_replicas()?;
        self.skipped_in_epoch = 0;
        self.take_noise();
        self.record_trajectory(model);
        let total = train.len(self.epochs as u64);
        for batch in train.epoch::<T>(self.epochs as u64) {
            let value = if self.replicas.is_some() {
                self.replicated_step(model, loss, batch, &mut norms)?
            } else {
                let batch = batch?;
                self.step(model, loss, &Var::constant(batch.features), &batch.targets, Some(&mut norms))?
            };
            batches += 1;
            step_losses.push(value);
            self.record_trajectory(model);
            if let Some(tracker) = &mut self.sharpness
                && self.steps.is_multiple_of(tracker.every)
            {
                let at = (self.steps, self.epochs + 1, self.optim.groups()[0].lr);
                let point = tracker.measure(model, loss, monitor, at)?;
                epoch_sharpness = Some(point.sharpness);
            }
            on_batch(batches, total, value);
        }
        let seconds = start.elapsed().as_secs_f64();
        // A parameter that overflowed in the last step has not yet met a
        // loss; the epoch is not counted (nor saved) with it.
        let mut overflowed = None;
        for (name, p) in model.named_parameters() {
            if overflowed.is_none() && !p.value().isfinite().all() {
                overflowed = Some(format!("parameter {name} is not finite after the epoch's last step"));
            }
        }
        let (epoch, step) = (Some(self.epochs + 1), Some(self.steps));
        if let Some((r, _)) = &self.replicas {
            crate::replicas::check_equal(&**r, model, overflowed.clone(), epoch, step)?;
        }
        if let Some(what) = overflowed {
            return Err(GradusError::Diverged { epoch, step, what, first_op: None });
        }
        self.epochs += 1;
        self.average_epoch(model);
        let mut activity = ActivationStats::new();
        let done = self.epochs;
        let in_epoch = |e: GradusError| match e {
            GradusError::Diverged { epoch: None, step, what, first_op } => {
                GradusError::Diverged { epoch: Some(done), step, what, first_op }
            }
            other => other,
        };
        let replicas = self.replicas.as_ref().map(|(r, _)| &**r);
        // Schedule-free methods are judged at their evaluation weights.
        let trained = crate::averaging::swap_in_eval_params(&self.optim, model);
        let train_eval = run_evaluation(model, loss, monitor, Some(&mut activity), replicas);
        let test_eval = run_evaluation(model, loss, test, None, replicas);
        if let Some(held) = trained {
            crate::averaging::restore_trained(model, held);
        }
        let (train_eval, test_eval) = (train_eval.map_err(in_epoch)?, test_eval.map_err(in_epoch)?);
        let (ema_test, swa_test) =
            self.evaluate_average(model, loss, loaders, (test_eval.loss, test_eval.accuracy)).map_err(in_epoch)?;
        // From SWA's start, SWALR sets the rate instead of the schedule.
        let swalr = self.swalr_step().is_some();
        match &mut self.schedule {
            _ if swalr => self.apply_swalr(),
            Some(Driven::Plateau(p)) => {
                let lr = p.observe(test_eval.loss);
                self.optim.set_lr(lr);
            }
            Some(Driven::Steps(..)) => self.apply_schedule(),
            None => {}
        }
        Ok(EpochMetrics {
            epoch: self.epochs,
            train_loss: train_eval.loss,
            train_accuracy: train_eval.accuracy,
            test_loss: test_eval.loss,
            test_accuracy: test_eval.accuracy,
            test_top5_accuracy: test_eval.top5_accuracy,
            lr: self.optim.groups()[0].lr,
            seconds,
            grad_norms: names.into_iter().zip(norms.into_iter().map(|n| n / batches.max(1) as f64)).collect(),
            dead_units: fractions(&activity, true),
            saturated: fractions(&activity, false),
            // NaN when sharpness is measured but no measurement fell in
            // this epoch, so every row has the column.
            sharpness: self.sharpness.as_ref().map(|_| epoch_sharpness.unwrap_or(f64::NAN)),
            noise: self.take_noise(),
            bits_per_byte: self.bits_per_byte,
            skipped: self.rules.skip_nonfinite.map(|_| self.skipped_in_epoch),
            ema_test,
            swa_test,
            step_losses,
        })
    }
}

/// The watched layers' fractions, dead-unit ones or saturation ones.
fn fractions(activity: &ActivationStats, dead: bool) -> Vec<(String, f64)> {
    let layers = activity.layers().iter().filter(|l| (l.watch() == Watch::Dead) == dead);
    layers.map(|l| (l.name().to_string(), l.fraction())).collect()
}
