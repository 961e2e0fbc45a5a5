//! Composition: schedules in sequence at milestones, and one schedule per
//! parameter group.

use crate::LrScheduler;
use crate::error::{Result, check};

/// Schedules one after another (PyTorch's `SequentialLR`): schedule i runs
/// from milestone i−1 and sees the step offset by it, so each starts at its
/// own step 0.
///
/// ```
/// use gradus_sched::{Cosine, LinearRamp, LrScheduler, Phases};
/// let warm_then_cosine = Phases::new(
///     vec![Box::new(LinearRamp::new(0.1, 1.0, 5).unwrap()), Box::new(Cosine::new(95, 0.0).unwrap())],
///     vec![5],
/// ).unwrap();
/// assert_eq!(warm_then_cosine.lr(1.0, 0), 0.1);
/// assert_eq!(warm_then_cosine.lr(1.0, 5), 1.0); // cosine's step 0
/// ```
#[derive(Debug)]
pub struct Phases {
    schedules: Vec<Box<dyn LrScheduler>>,
    milestones: Vec<usize>,
}

impl Phases {
    /// `schedules` switching at `milestones` (one fewer than schedules,
    /// strictly increasing).
    ///
    /// # Errors
    /// If the counts do not fit or the milestones are not increasing.
    pub fn new(schedules: Vec<Box<dyn LrScheduler>>, milestones: Vec<usize>) -> Result<Self> {
        check(!schedules.is_empty(), "sequential", "schedulers", || "must list at least one schedule".into())?;
        check(milestones.len() + 1 == schedules.len(), "sequential", "milestones", || {
            format!("must have one fewer entry than schedulers ({}), got {}", schedules.len(), milestones.len())
        })?;
        check(milestones.windows(2).all(|w| w[0] < w[1]), "sequential", "milestones", || {
            format!("must be strictly increasing, got {milestones:?}")
        })?;
        Ok(Self { schedules, milestones })
    }

    fn locate(&self, step: usize) -> (&dyn LrScheduler, usize) {
        let i = self.milestones.partition_point(|&m| m <= step);
        let offset = if i == 0 { 0 } else { self.milestones[i - 1] };
        (self.schedules[i].as_ref(), step - offset)
    }
}

impl LrScheduler for Phases {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        let (s, t) = self.locate(step);
        s.lr(base_lr, t)
    }

    fn momentum(&self, step: usize) -> Option<f64> {
        let (s, t) = self.locate(step);
        s.momentum(t)
    }

    /// The first step at which a schedule is asked past its own last step:
    /// the last one's end, or an earlier one's when its stretch between
    /// milestones outlasts it.
    fn last_step(&self) -> Option<usize> {
        let starts = std::iter::once(0).chain(self.milestones.iter().copied());
        let ends = self.milestones.iter().map(|&m| Some(m)).chain([None]);
        starts
            .zip(ends)
            .zip(&self.schedules)
            .filter_map(|((start, end), s)| {
                let last = start + s.last_step()?;
                end.is_none_or(|e| e > last + 1).then_some(last)
            })
            .min()
    }
}

/// Schedules applied together (PyTorch's `ChainedScheduler`): the rate is
/// η₀ times the product of every schedule's factor ηᵢ(t)/η₀. That is
/// ChainedScheduler's rate for schedules that scale the rate (every one
/// here but those that set it absolutely — `cyclic`, `onecycle` — which a
/// chain refuses; a cosine's `eta_min` is a floor of its own factor). The
/// momentum is the last schedule's that sets one.
///
/// ```
/// use gradus_sched::{Chained, Constant, Exponential, LrScheduler};
/// let s = Chained::new(vec![Box::new(Constant::new(0.5, 2).unwrap()), Box::new(Exponential::new(0.9).unwrap())]).unwrap();
/// assert_eq!(s.lr(1.0, 0), 0.5);
/// assert!((s.lr(1.0, 3) - 0.729).abs() < 1e-15);
/// ```
#[derive(Debug)]
pub struct Chained {
    schedules: Vec<Box<dyn LrScheduler>>,
}

impl Chained {
    /// The product of `schedules`.
    ///
    /// # Errors
    /// If the list is empty.
    pub fn new(schedules: Vec<Box<dyn LrScheduler>>) -> Result<Self> {
        check(!schedules.is_empty(), "chained", "schedulers", || "must list at least one schedule".into())?;
        Ok(Self { schedules })
    }
}

impl LrScheduler for Chained {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        if base_lr == 0.0 {
            return 0.0;
        }
        self.schedules.iter().fold(base_lr, |lr, s| lr * (s.lr(base_lr, step) / base_lr))
    }

    fn momentum(&self, step: usize) -> Option<f64> {
        self.schedules.iter().rev().find_map(|s| s.momentum(step))
    }

    /// The earliest end of any schedule in the chain.
    fn last_step(&self) -> Option<usize> {
        self.schedules.iter().filter_map(|s| s.last_step()).min()
    }
}

/// One schedule per parameter group (group i follows schedule i from its
/// own base rate).
#[derive(Debug)]
pub struct PerGroup(pub Vec<Box<dyn LrScheduler>>);

impl PerGroup {
    /// The rate of `group` at `step`.
    ///
    /// # Panics
    /// If there is no schedule for `group`.
    #[track_caller]
    pub fn lr(&self, group: usize, base_lr: f64, step: usize) -> f64 {
        self.schedule(group).lr(base_lr, step)
    }

    /// The momentum of `group` at `step`, where its schedule cycles it.
    #[track_caller]
    pub fn momentum(&self, group: usize, step: usize) -> Option<f64> {
        self.schedule(group).momentum(step)
    }

    #[track_caller]
    fn schedule(&self, group: usize) -> &dyn LrScheduler {
        match self.0.get(group) {
            Some(s) => s.as_ref(),
            None => panic!("PerGroup: no schedule for group {group} ({} given)", self.0.len()),
        }
    }
}
