//! The driver: parameter groups with their own optimiser and rate, states
//! keyed by parameter id, the walk over (parameter, gradient) pairs, and
//! an exact save/restore of everything.

use crate::error::{OptimError, Result};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule, split_pays};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One prepared update of [`Optimizer::step`].
struct Job<'a, T> {
    group: usize,
    key: u64,
    param: &'a mut [T],
    grad: &'a [T],
}

/// A group of parameters sharing an optimiser (hence hyper-parameters) and
/// a learning rate.
#[derive(Debug)]
pub struct ParamGroup<T: Float> {
    /// The method and its hyper-parameters.
    pub rule: Box<dyn UpdateRule<T>>,
    /// The current rate (a schedule sets it each step).
    pub lr: f64,
    /// The rate the group started with (a schedule's base rate).
    pub initial_lr: f64,
    keys: Option<Vec<u64>>,
}

/// What one [`Optimizer::step`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Parameters updated.
    pub updated: usize,
    /// Parameters that received no gradient this step (not moved, as PyTorch
    /// skips parameters whose `.grad` is None).
    pub without_gradient: Vec<u64>,
}

/// An optimiser's whole state as named tensors and counters, for a
/// checkpoint: `state.{key}.{slot}` hold buffers;
/// `state.{key}.step`, `state.{key}.{scalar}` (f64 bits) and
/// `group.{i}.lr` (f64 bits) are counters; `shapes` holds the shape of
/// every parameter with a state (which buffers it has and how long they
/// are depend on it). Restoring it is exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T> {
    /// Buffers.
    pub tensors: Vec<(String, Vec<T>)>,
    /// Steps, scalars and rates as bits.
    pub counters: Vec<(String, u64)>,
    /// Each parameter's shape, by key (a checkpoint can take them from the
    /// model instead of storing them).
    pub shapes: BTreeMap<u64, Vec<usize>>,
}

/// A driver over parameter groups, keyed by parameter id (any `u64`: the
/// nn crate's `ParamId`, an index…).
///
/// ```
/// use gradus_optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
/// let mut opt = Optimizer::<f64>::new(Adam::new(AdamConfig::default()).unwrap());
/// // Biases (key 1) get their own group: plain SGD at 0.5.
/// opt.add_group(Sgd::new(SgdConfig::default()).unwrap(), Some(0.5), [1]);
/// let (mut w, mut b) = (vec![1.0, 2.0], vec![0.0]);
/// let report = opt.step([(0, &[2][..], &mut w[..], Some(&[0.1, 0.1][..])), (1, &[1][..], &mut b[..], Some(&[1.0][..]))]).unwrap();
/// assert_eq!((report.updated, b[0]), (2, -0.5));
/// ```
#[derive(Debug)]
pub struct Optimizer<T: Float> {
    groups: Vec<ParamGroup<T>>,
    states: BTreeMap<u64, State<T>>,
}

impl<T: Float> Optimizer<T> {
    /// One group that takes every parameter, at the optimiser's own rate.
    pub fn new(rule: impl UpdateRule<T> + 'static) -> Self {
        Self::boxed(Box::new(rule))
    }

    /// [`Optimizer::new`] for an optimiser already boxed (as [`parse`](crate::parse) returns it).
    pub fn boxed(rule: Box<dyn UpdateRule<T>>) -> Self {
        let lr = rule.default_lr();
        Self { groups: vec![ParamGroup { rule, lr, initial_lr: lr, keys: None }], states: BTreeMap::new() }
    }

    /// Adds a group for the parameters `keys` (which leave any catch-all
    /// group), at rate `lr` or the optimiser's own; returns its index.
    pub fn add_group(
        &mut self,
        rule: impl UpdateRule<T> + 'static,
        lr: Option<f64>,
        keys: impl IntoIterator<Item = u64>,
    ) -> usize {
        let lr = lr.unwrap_or_else(|| rule.default_lr());
        let keys = keys.into_iter().collect();
        self.groups.push(ParamGroup { rule: Box::new(rule), lr, initial_lr: lr, keys: Some(keys) });
        self.groups.len() - 1
    }

    /// The groups.
    pub fn groups(&self) -> &[ParamGroup<T>] {
        &self.groups
    }

    /// The groups, to change rates or hyper-parameters.
    pub fn groups_mut(&mut self) -> &mut [ParamGroup<T>] {
        &mut self.groups
    }

    /// Sets every group's rate (what a schedule does each step).
    pub fn set_lr(&mut self, lr: f64) {
        self.groups.iter_mut().for_each(|g| g.lr = lr);
    }

    /// The group holding `key`: the one listing it, else the catch-all.
    ///
    /// # Errors
    /// [`OptimError::UnknownParam`] if none does.
    pub fn group_of(&self, key: u64) -> Result<usize> {
        let listed = self.groups.iter().position(|g| g.keys.as_ref().is_some_and(|k| k.contains(&key)));
        listed.or_else(|| self.groups.iter().position(|g| g.keys.is_none())).ok_or(OptimError::UnknownParam(key))
    }

    /// The state of `key`, if it has been updated.
    pub fn state(&self, key: u64) -> Option<&State<T>> {
        self.states.get(&key)
    }

    /// The weights to evaluate and save for parameter `key` at `param`, if
    /// its method judges elsewhere than where it takes gradients
    /// ([`UpdateRule::eval_params`]: the schedule-free methods' x).
    pub fn eval_params(&self, key: u64, param: &[T]) -> Option<Vec<T>> {
        let state = self.states.get(&key)?;
        let group = &self.groups[self.group_of(key).ok()?];
        group.rule.eval_params(param, state)
    }

    /// The curvature a group's method wants measured, and how often (the
    /// first group that wants any: Sophia, K-FAC).
    pub fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        self.groups.iter().find_map(|g| g.rule.curvature_request())
    }

    /// Gives parameter `key` (of shape `shape`, at `param`) a curvature
    /// estimate for the step that follows ([`UpdateRule::observe_curvature`];
    /// nothing for methods that use none). Makes the state if the parameter
    /// has none yet.
    ///
    /// # Errors
    /// An unknown parameter, an estimate whose lengths do not fit the
    /// shape (a diagonal of one value per element; Kronecker factors of
    /// rest² and out² values, [`kronecker_sides`](crate::kronecker_sides)),
    /// or a shape other than its state's.
    pub fn observe_curvature(
        &mut self,
        key: u64,
        shape: &[usize],
        param: &[T],
        estimate: crate::Estimate<'_, T>,
    ) -> Result<()> {
        let (out, rest) = crate::kronecker_sides(shape);
        let (what, got, expected) = match estimate {
            crate::Estimate::HessianDiagonal(d) => ("Hessian diagonal", d.len(), param.len()),
            crate::Estimate::Kronecker { a, g } => ("Kronecker factors", a.len() + g.len(), rest * rest + out * out),
        };
        if got != expected || (matches!(estimate, crate::Estimate::Kronecker { a, .. } if a.len() != rest * rest)) {
            return Err(OptimError::Length { key, what, got, expected });
        }
        let g = self.prepare(key, shape, param.len(), param.len())?;
        let state = self.states.get_mut(&key).expect("prepare made the state");
        self.groups[g].rule.observe_curvature(state, estimate);
        Ok(())
    }

    /// Updates one parameter, a vector, from its gradient
    /// ([`Optimizer::update_shaped`] with shape `[param.len()]`).
    ///
    /// # Errors
    /// As [`Optimizer::update_shaped`].
    pub fn update(&mut self, key: u64, param: &mut [T], grad: &[T]) -> Result<()> {
        self.update_shaped(key, &[param.len()], param, grad)
    }

    /// Updates one parameter of shape `shape` (its elements in row-major
    /// order) from its gradient.
    ///
    /// # Errors
    /// An unknown parameter, a parameter or gradient whose length is not
    /// the shape's, or a shape other than its state's.
    pub fn update_shaped(&mut self, key: u64, shape: &[usize], param: &mut [T], grad: &[T]) -> Result<()> {
        let g = self.prepare(key, shape, param.len(), grad.len())?;
        let group = &self.groups[g];
        let state = self.states.get_mut(&key).expect("prepare made the state");
        group.rule.update(group.lr, param, grad, state);
        Ok(())
    }

    /// Checks `key`'s shape and lengths and makes its state if it has none;
    /// returns its group.
    fn prepare(&mut self, key: u64, shape: &[usize], len: usize, grad_len: usize) -> Result<usize> {
        let g = self.group_of(key)?;
        let elements = shape.iter().product();
        if len != elements {
            return Err(OptimError::Length { key, what: "parameter", got: len, expected: elements });
        }
        if grad_len != len {
            return Err(OptimError::Length { key, what: "gradient", got: grad_len, expected: len });
        }
        let group = &self.groups[g];
        let state = self.states.entry(key).or_insert_with(|| group.rule.init(group.lr, shape));
        if state.shape != shape {
            return Err(OptimError::Shape { key, got: shape.to_vec(), expected: state.shape.clone() });
        }
        Ok(g)
    }

    /// Updates every parameter that has a gradient and reports those that
    /// had none. Parameters are updated side by side on the thread pool
    /// when they have enough elements in all (the rule of one parameter's
    /// split: [`PARALLEL_MIN`](crate::PARALLEL_MIN), and
    /// [`PARALLEL_MIN_COLD`](crate::PARALLEL_MIN_COLD) unless the workers are
    /// awake), so that the small ones run while another thread works through
    /// the large: each one's update is the same as on its own.
    ///
    /// Each item is a parameter's key, shape, values and gradient.
    ///
    /// # Errors
    /// As [`Optimizer::update_shaped`]; parameters before the failing one
    /// are updated.
    pub fn step<'a>(
        &mut self,
        params: impl IntoIterator<Item = (u64, &'a [usize], &'a mut [T], Option<&'a [T]>)>,
    ) -> Result<StepReport>
    where
        T: 'a,
    {
        if let Some(name) = self.solving() {
            return Err(OptimError::Solve(format!(
                "{name} solves with the batch's curvature: step it with Optimizer::step_solving and a CurvatureOracle"
            )));
        }
        let mut report = StepReport::default();
        let mut work = Vec::new();
        let mut failed = None;
        for (key, shape, param, grad) in params {
            let Some(grad) = grad else {
                report.without_gradient.push(key);
                continue;
            };
            match self.prepare(key, shape, param.len(), grad.len()) {
                Ok(group) => work.push(Job { group, key, param, grad }),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        report.updated = work.len();
        self.run(work);
        failed.map_or(Ok(report), Err)
    }

    /// The name of a group's method that solves with the curvature inside
    /// its step, if one does.
    fn solving(&self) -> Option<&'static str> {
        self.groups.iter().find(|g| g.rule.curvature_request().is_some_and(|r| r.kind.solves())).map(|g| g.rule.name())
    }

    /// One step of a method that solves with the batch's curvature
    /// (`hessian_free`): every parameter with a gradient, in the order
    /// given, stepped together through [`UpdateRule::update_solving`] with
    /// `oracle` (whose vectors are those parameters flattened in that
    /// order). One parameter group only.
    ///
    /// # Errors
    /// As [`Optimizer::step`]; more than one group or a key given twice;
    /// [`OptimError::Solve`] when the oracle fails.
    pub fn step_solving<'a>(
        &mut self,
        params: impl IntoIterator<Item = (u64, &'a [usize], &'a mut [T], Option<&'a [T]>)>,
        oracle: &mut dyn crate::CurvatureOracle<T>,
    ) -> Result<StepReport>
    where
        T: 'a,
    {
        if self.groups.len() != 1 {
            return Err(OptimError::Solve(format!(
                "{} steps all parameters together: it takes one parameter group, not {}",
                self.groups[0].rule.name(),
                self.groups.len()
            )));
        }
        let mut report = StepReport::default();
        let mut work = Vec::new();
        for (key, shape, param, grad) in params {
            let Some(grad) = grad else {
                report.without_gradient.push(key);
                continue;
            };
            self.prepare(key, shape, param.len(), grad.len())?;
            work.push((key, param, grad));
        }
        let keys: BTreeSet<u64> = work.iter().map(|w| w.0).collect();
        if keys.len() != work.len() {
            return Err(OptimError::Solve("a parameter was given twice to one solving step".into()));
        }
        report.updated = work.len();
        let mut by_key: BTreeMap<u64, &mut State<T>> =
            self.states.iter_mut().filter(|(k, _)| keys.contains(k)).map(|(k, s)| (*k, s)).collect();
        let mut members: Vec<Member<'_, T>> = work
            .into_iter()
            .map(|(key, param, grad)| Member { param, grad, state: by_key.remove(&key).expect("prepared") })
            .collect();
        let group = &self.groups[0];
        group.rule.update_solving(group.lr, &mut members, oracle).map_err(OptimError::Solve)?;
        Ok(report)
    }

    /// Runs prepared updates: side by side when that pays and the keys are
    /// distinct (each job then has its own state), else in order.
    fn run(&mut self, work: Vec<Job<'_, T>>) {
        let (coupled, work): (Vec<_>, Vec<_>) = work.into_iter().partition(|j| self.groups[j.group].rule.couples());
        self.run_coupled(coupled);
        let elements = work.iter().map(|j| j.param.len()).sum();
        let mut states = Vec::new();
        if work.len() > 1 && split_pays(elements) {
            let keys: BTreeSet<u64> = work.iter().map(|j| j.key).collect();
            if keys.len() == work.len() {
                let mut by_key: BTreeMap<u64, &mut State<T>> =
                    self.states.iter_mut().filter(|(k, _)| keys.contains(k)).map(|(k, s)| (*k, s)).collect();
                states = work.iter().map(|j| by_key.remove(&j.key).expect("prepare made every state")).collect();
            }
        }
        let groups = &self.groups;
        if states.is_empty() {
            for j in work {
                let (group, state) = (&groups[j.group], self.states.get_mut(&j.key).expect("prepare made the state"));
                group.rule.update(group.lr, j.param, j.grad, state);
            }
            return;
        }
        work.into_par_iter().zip(states).for_each(|(j, state)| {
            let group = &groups[j.group];
            group.rule.update(group.lr, j.param, j.grad, state);
        });
        crate::platform::note_parallel_work();
    }

    /// Runs the updates of methods that couple a group's parameters: each
    /// group's members together, in the order given (a key given twice
    /// steps again in a later call, as it would one by one).
    fn run_coupled(&mut self, mut work: Vec<Job<'_, T>>) {
        while !work.is_empty() {
            let mut keys = BTreeSet::new();
            let (now, later): (Vec<_>, Vec<_>) = work.into_iter().partition(|j| keys.insert(j.key));
            work = later;
            let mut by_key: BTreeMap<u64, &mut State<T>> =
                self.states.iter_mut().filter(|(k, _)| keys.contains(k)).map(|(k, s)| (*k, s)).collect();
            let mut members: Vec<(usize, Member<'_, T>)> = now
                .into_iter()
                .map(|j| {
                    let state = by_key.remove(&j.key).expect("prepare made every state");
                    (j.group, Member { param: j.param, grad: j.grad, state })
                })
                .collect();
            for (g, group) in self.groups.iter().enumerate() {
                let (mut mine, rest): (Vec<_>, Vec<_>) = members.into_iter().partition(|(m, _)| *m == g);
                members = rest;
                if !mine.is_empty() {
                    let mut mine: Vec<Member<'_, T>> = mine.drain(..).map(|(_, m)| m).collect();
                    group.rule.update_group(group.lr, &mut mine);
                }
            }
        }
    }

    /// Everything needed to resume: every parameter's state and every group's rate.
    pub fn export(&self) -> OptimizerState<T> {
        let mut out = OptimizerState::default();
        for (i, g) in self.groups.iter().enumerate() {
            out.counters.push((format!("group.{i}.lr"), g.lr.to_bits()));
        }
        for (key, state) in &self.states {
            let rule = &self.groups[self.group_of(*key).expect("states exist for known keys")].rule;
            out.counters.push((format!("state.{key}.step"), state.step));
            out.shapes.insert(*key, state.shape.clone());
            for (name, value) in rule.scalars(&state.shape).iter().zip(&state.scalars) {
                out.counters.push((format!("state.{key}.{name}"), value.to_bits()));
            }
            for (name, slot) in rule.slots(&state.shape).iter().zip(&state.slots) {
                out.tensors.push((format!("state.{key}.{name}"), slot.clone()));
            }
        }
        out
    }

    /// Restores an [`Optimizer::export`] into a driver with the same groups.
    /// Every buffer is checked against the one a new state of its
    /// parameter's shape would have.
    ///
    /// # Errors
    /// [`OptimError::State`] naming what is missing or does not fit; the
    /// driver is unchanged then.
    pub fn import(&mut self, saved: &OptimizerState<T>) -> Result<()> {
        let counter = |name: &str| saved.counters.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let mut rates = Vec::new();
        for i in 0..self.groups.len() {
            let bits =
                counter(&format!("group.{i}.lr")).ok_or_else(|| OptimError::State(format!("missing group.{i}.lr")))?;
            rates.push(f64::from_bits(bits));
        }
        let mut states = BTreeMap::new();
        for (name, step) in &saved.counters {
            let Some(key) = name.strip_prefix("state.").and_then(|r| r.strip_suffix(".step")) else { continue };
            let key: u64 = key.parse().map_err(|_| OptimError::State(format!("bad parameter key in `{name}`")))?;
            let group = &self.groups[self.group_of(key)?];
            let shape = saved
                .shapes
                .get(&key)
                .ok_or_else(|| OptimError::State(format!("missing the shape of parameter {key}")))?;
            let fresh = group.rule.init(group.lr, shape);
            let mut scalars = Vec::new();
            for s in group.rule.scalars(shape) {
                let bits = counter(&format!("state.{key}.{s}"))
                    .ok_or_else(|| OptimError::State(format!("missing state.{key}.{s}")))?;
                scalars.push(f64::from_bits(bits));
            }
            let mut slots = Vec::new();
            for (s, like) in group.rule.slots(shape).iter().zip(&fresh.slots) {
                let want = format!("state.{key}.{s}");
                let slot = saved
                    .tensors
                    .iter()
                    .find(|(n, _)| *n == want)
                    .ok_or_else(|| OptimError::State(format!("missing {want}")))?;
                if slot.1.len() != like.len() {
                    return Err(OptimError::State(format!(
                        "{want} holds {} values; a parameter of shape {shape:?} keeps {}",
                        slot.1.len(),
                        like.len()
                    )));
                }
                let mut copy = crate::platform::advised_vec(slot.1.len());
                copy.extend_from_slice(&slot.1);
                slots.push(copy);
            }
            states.insert(key, State { shape: shape.clone(), step: *step, slots, scalars });
        }
        for (g, lr) in self.groups.iter_mut().zip(rates) {
            g.lr = lr;
        }
        self.states = states;
        Ok(())
    }
}
