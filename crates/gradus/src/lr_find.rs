//! The learning-rate range test (Smith 2017, as fastai's `lr_find` runs
//! it): a few training steps at rates growing geometrically, the loss
//! smoothed, stopped once it blows up, and the rates fastai suggests from
//! the curve. The model, the optimiser and the trainer are left as they
//! were.

use crate::GradusError;
use crate::trainer::Trainer;
use gradus_autodiff::Var;
use gradus_data::DataLoader;
use gradus_loss::Loss;
use gradus_nn::{Checkpoint, Module, checkpoint};
use gradus_tensor::Float;

/// How the range test runs (fastai's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrFindOptions {
    /// The first rate.
    pub start_lr: f64,
    /// The rate the sweep would reach after `num_iter` steps.
    pub end_lr: f64,
    /// At most this many steps.
    pub num_iter: usize,
    /// Smoothing of the loss (an exponential moving average, debiased).
    pub beta: f64,
    /// Stop once the smoothed loss exceeds this many times its best.
    pub stop_factor: f64,
}

impl LrFindOptions {
    /// The rate of step `step`: `start_lr·(end_lr/start_lr)^(step/num_iter)`
    /// (fastai's formula), through logarithms where the ratio overflows, so
    /// every rate between two finite ends is finite.
    ///
    /// ```
    /// use gradus::lr_find::LrFindOptions;
    ///
    /// let o = LrFindOptions { start_lr: 1e-7, end_lr: 1e308, num_iter: 100, ..Default::default() };
    /// assert_eq!(o.lr_at(0), 1e-7);
    /// assert!(o.lr_at(1).is_finite() && o.lr_at(1) > 1e-7);
    /// assert!((o.lr_at(100) / 1e308 - 1.0).abs() < 1e-12);
    /// ```
    pub fn lr_at(&self, step: usize) -> f64 {
        let t = step as f64 / self.num_iter as f64;
        let ratio = self.end_lr / self.start_lr;
        if ratio.is_finite() || step == 0 {
            self.start_lr * ratio.powf(t)
        } else {
            (self.start_lr.ln() + t * (self.end_lr.ln() - self.start_lr.ln())).exp()
        }
    }
}

impl Default for LrFindOptions {
    /// 1e-7 to 10 over 100 steps, β = 0.98, stop at 4× the best.
    fn default() -> Self {
        LrFindOptions { start_lr: 1e-7, end_lr: 10.0, num_iter: 100, beta: 0.98, stop_factor: 4.0 }
    }
}

/// One step of the range test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrFindRow {
    /// The step, from 0.
    pub step: usize,
    /// The rate of this step: `start_lr·(end_lr/start_lr)^(step/num_iter)`.
    pub lr: f64,
    /// The batch's loss before the step (NaN if it was not finite: the
    /// test stops there).
    pub loss: f64,
    /// The debiased moving average of the losses so far.
    pub smoothed: f64,
}

/// The range test's curve and fastai's suggestions (`None` when the curve
/// is too short for them: fewer than two points once fastai's first tenth
/// and last five are left out).
#[derive(Clone, Debug, PartialEq)]
pub struct LrFind {
    /// Every step taken.
    pub rows: Vec<LrFindRow>,
    /// fastai's `valley`: a third plus a sixth of the way along the
    /// longest run of decreasing smoothed loss (its default suggestion).
    pub valley: Option<f64>,
    /// fastai's `steep`: where the smoothed loss falls fastest per decade.
    pub steep: Option<f64>,
}

impl<T: Float> Trainer<T> {
    /// Runs the learning-rate range test with this trainer's optimiser on
    /// `model` (training mode, batches of `loader`, epoch after epoch as
    /// needed), then puts the model's parameters, buffers and
    /// random-number counters, the optimiser's state and rates, and this
    /// trainer's counters and schedule back as they were: the test leaves
    /// no trace.
    ///
    /// # Errors
    /// Data or loss errors, or options that define no sweep (rates not
    /// positive and increasing, no steps). A loss that stops being finite
    /// ends the test, not with an error.
    ///
    /// # Examples
    /// ```no_run
    /// # use gradus::prelude::*;
    /// # fn run(model: &Sequential<f32>, loader: &DataLoader) -> Result<(), GradusError> {
    /// let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1, momentum=0.9)")?));
    /// let found = trainer.lr_find(model, &CrossEntropy::default(), loader, &Default::default())?;
    /// println!("valley {:?}, steep {:?}", found.valley, found.steep);
    /// # Ok(()) }
    /// ```
    pub fn lr_find(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loader: &DataLoader,
        options: &LrFindOptions,
    ) -> Result<LrFind, GradusError> {
        self.lr_find_with(model, loss, loader, options, &mut |_| {})
    }

    /// [`Trainer::lr_find`], calling `on_step` with each step's row as it
    /// is made (a progress bar; rows streamed as they come).
    ///
    /// # Errors
    /// As [`Trainer::lr_find`].
    pub fn lr_find_with(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loader: &DataLoader,
        options: &LrFindOptions,
        on_step: &mut dyn FnMut(&LrFindRow),
    ) -> Result<LrFind, GradusError> {
        let o = options;
        if !(o.start_lr > 0.0 && o.end_lr > o.start_lr && o.end_lr.is_finite()) || o.num_iter == 0 {
            return Err(GradusError::Config(format!(
                "lr_find: rates from {} to {} over {} steps; give 0 < start < end and at least one step",
                o.start_lr, o.end_lr, o.num_iter
            )));
        }
        if !(0.0..1.0).contains(&o.beta) || o.stop_factor.is_nan() || o.stop_factor <= 1.0 {
            return Err(GradusError::Config(format!(
                "lr_find: beta {} must be in [0, 1) and stop_factor {} above 1",
                o.beta, o.stop_factor
            )));
        }
        // Everything the sweep changes, to put back on every way out.
        let mut saved_model = Checkpoint::new();
        checkpoint::store(model, &mut saved_model, "");
        let saved_optim = self.optim.export();
        let (steps, epochs, mode) = (self.steps, self.epochs, model.training());
        let schedule = self.schedule_take();
        let result = self.sweep(model, loss, loader, o, on_step);
        checkpoint::restore(model, &saved_model, "").expect("the model's own state fits it");
        self.optim.import(&saved_optim).expect("the optimiser's own state fits it");
        (self.steps, self.epochs) = (steps, epochs);
        self.schedule_put(schedule);
        if let Some(m) = mode {
            model.set_training(m);
        }
        let rows = result?;
        let (valley, steep) = suggestions(&rows, o.num_iter);
        Ok(LrFind { rows, valley, steep })
    }

    fn sweep(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        loader: &DataLoader,
        o: &LrFindOptions,
        on_step: &mut dyn FnMut(&LrFindRow),
    ) -> Result<Vec<LrFindRow>, GradusError> {
        model.train();
        let mut rows = Vec::with_capacity(o.num_iter);
        let (mut average, mut best) = (0.0f64, f64::INFINITY);
        let mut epoch = 0u64;
        'epochs: loop {
            let mut any = false;
            for batch in loader.epoch::<T>(epoch) {
                any = true;
                let step = rows.len();
                let lr = o.lr_at(step);
                self.optim.set_lr(lr);
                let batch = batch?;
                let y = batch.targets;
                let value = match self.step(model, loss, &Var::constant(batch.features), &y, None) {
                    Ok(v) => v,
                    Err(GradusError::Diverged { .. }) => f64::NAN,
                    Err(e) => return Err(e),
                };
                average = o.beta * average + (1.0 - o.beta) * value;
                let smoothed = average / (1.0 - o.beta.powi(step as i32 + 1));
                let row = LrFindRow { step, lr, loss: value, smoothed };
                on_step(&row);
                rows.push(row);
                if smoothed < best {
                    best = smoothed;
                }
                if !smoothed.is_finite() || smoothed > o.stop_factor * best || rows.len() >= o.num_iter {
                    break 'epochs;
                }
            }
            if !any {
                return Err(GradusError::Config("lr_find: the loader holds no batch".into()));
            }
            epoch += 1;
        }
        Ok(rows)
    }
}

/// fastai's suggestions `(valley, steep)` on the smoothed losses, with its trimming: the
/// first `num_iter / 10` rows and the last five are left out, and the
/// curve is cut at its first NaN.
///
/// ```
/// # use gradus::lr_find::{LrFindRow, suggestions};
/// let row = |step: usize, smoothed: f64| LrFindRow { step, lr: 10f64.powi(step as i32 - 20), loss: smoothed, smoothed };
/// // 20 rows stopped by the 4x rule: rows 2..15 are kept.
/// let mut rows: Vec<_> = (0..20).map(|i| row(i, 10.0 - i as f64 * 0.1)).collect();
/// rows[12].smoothed = 1.0; // the steepest fall ends at row 12
/// assert_eq!(suggestions(&rows, 20).1, Some(rows[11].lr));
/// // A sweep cut short by a NaN keeps what fastai's would have kept.
/// rows[19].smoothed = f64::NAN;
/// assert_eq!(suggestions(&rows, 100).1, Some(rows[11].lr));
/// ```
pub fn suggestions(rows: &[LrFindRow], num_iter: usize) -> (Option<f64>, Option<f64>) {
    // fastai goes on after a non-finite loss (only its 4x rule stops the
    // fit) and trims the last five of `num_iter` rows; the sweep here
    // stops at that loss, so the rows it did not take are counted in.
    let taken = if rows.last().is_some_and(|r| r.smoothed.is_nan()) { num_iter.max(rows.len()) } else { rows.len() };
    let (from, to) = (num_iter / 10, taken.saturating_sub(5).min(rows.len()));
    let kept = if from < to { &rows[from..to] } else { &[][..] };
    let end = kept.iter().position(|r| r.smoothed.is_nan()).unwrap_or(kept.len());
    let kept = &kept[..end];
    if kept.len() < 2 {
        return (None, None);
    }
    let lrs: Vec<f64> = kept.iter().map(|r| r.lr).collect();
    let losses: Vec<f64> = kept.iter().map(|r| r.smoothed).collect();
    (Some(valley(&lrs, &losses)), Some(steep(&lrs, &losses)))
}

/// fastai's `valley`: the longest decreasing subsequence of the losses
/// (by dynamic programming, as fastai computes it), and the rate a third
/// plus a sixth of the way along it. fastai's start index is one before
/// the run's first element, and Python reads index −1 as the last: kept,
/// so that the suggestion is fastai's on every curve.
///
/// ```
/// use gradus::lr_find::valley;
/// let lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
/// // The longest decrease is 5, 4, 3, 2, 1 (indices 0–4): fastai's start
/// // is −1, the end 4, a section 5/3, so the suggestion is index −1 + 1 + 0.
/// assert_eq!(valley(&lrs, &[5.0, 4.0, 3.0, 2.0, 1.0, 6.0]), 1e-4);
/// // 3, 2.5, 1.5 (indices 2–4): start 1, a section 1, index 1 + 1 + 0.
/// assert_eq!(valley(&lrs, &[1.0, 2.0, 3.0, 2.5, 1.5, 6.0]), 1e-2);
/// ```
///
/// # Panics
/// If `losses` is empty or longer than `lrs`.
pub fn valley(lrs: &[f64], losses: &[f64]) -> f64 {
    let n = losses.len();
    let mut lds = vec![1isize; n];
    let (mut max_start, mut max_end) = (0isize, 0usize);
    for i in 1..n {
        for j in 0..i {
            if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                lds[i] = lds[j] + 1;
            }
            if lds[max_end] < lds[i] {
                max_end = i;
                max_start = max_end as isize - lds[max_end];
            }
        }
    }
    let sections = (max_end as isize - max_start) as f64 / 3.0;
    let idx = max_start + sections as isize + (sections / 2.0) as isize;
    lrs[if idx < 0 { (idx + n as isize) as usize } else { idx as usize }]
}

/// fastai's `steep`: the rate at the start of the segment where the loss
/// falls fastest per unit of ln(lr).
pub fn steep(lrs: &[f64], losses: &[f64]) -> f64 {
    let mut best = (f64::INFINITY, 0usize);
    for i in 0..lrs.len() - 1 {
        let g = (losses[i + 1] - losses[i]) / (lrs[i + 1].ln() - lrs[i].ln());
        if g < best.0 {
            best = (g, i);
        }
    }
    lrs[best.1]
}
