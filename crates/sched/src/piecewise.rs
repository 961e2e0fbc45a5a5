//! Optax's piecewise schedules: factors that take effect at boundaries,
//! held constant or interpolated between them.

use crate::LrScheduler;
use crate::error::{Result, check};
use std::f64::consts::PI;

/// How [`Piecewise`] moves between its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolate {
    /// Jumps at each boundary (`piecewise_constant_schedule`).
    None,
    /// A straight line from each boundary's value to the next's
    /// (`piecewise_interpolate_schedule('linear', …)`).
    Linear,
    /// Half a cosine between them (`'cosine'`).
    Cosine,
}

/// Optax's piecewise schedules, relative to η₀: the value starts at 1 and
/// is multiplied by `scales[i]` at `boundaries[i]`. Held constant, the
/// factor at step t is the product of the scales whose boundary is ≤ t;
/// interpolated, it moves from the value at one boundary (0 for the first)
/// to the value at the next across the interval between them, as Optax
/// does, and holds the last value after the last boundary.
///
/// ```
/// use gradus_sched::{Interpolate, LrScheduler, Piecewise};
/// let s = Piecewise::new(vec![10, 20], vec![0.1, 0.5], Interpolate::None).unwrap();
/// assert_eq!((s.lr(1.0, 9), s.lr(1.0, 10), s.lr(1.0, 25)), (1.0, 0.1, 0.05));
/// let s = Piecewise::new(vec![10], vec![0.5], Interpolate::Linear).unwrap();
/// assert_eq!((s.lr(1.0, 0), s.lr(1.0, 5), s.lr(1.0, 10)), (1.0, 0.75, 0.5));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Piecewise {
    boundaries: Vec<usize>,
    scales: Vec<f64>,
    interpolate: Interpolate,
}

impl Piecewise {
    /// `scales[i]` applied at `boundaries[i]`.
    ///
    /// # Errors
    /// Lists of different lengths, boundaries that are not strictly
    /// increasing (Optax takes them as a dict), or a negative scale.
    pub fn new(boundaries: Vec<usize>, scales: Vec<f64>, interpolate: Interpolate) -> Result<Self> {
        check(boundaries.len() == scales.len(), "piecewise", "scales", || {
            format!("must have one entry per boundary ({}), got {}", boundaries.len(), scales.len())
        })?;
        check(boundaries.windows(2).all(|w| w[0] < w[1]), "piecewise", "boundaries", || {
            format!("must be strictly increasing, got {boundaries:?}")
        })?;
        check(scales.iter().all(|&s| s >= 0.0), "piecewise", "scales", || format!("must be >= 0, got {scales:?}"))?;
        Ok(Self { boundaries, scales, interpolate })
    }

    /// The factor at `step`, in Optax's order of operations.
    fn factor(&self, step: usize) -> f64 {
        if self.interpolate == Interpolate::None {
            // v·indicator + (1 − indicator)·scale·v, indicator 0 from the boundary on.
            return self.boundaries.iter().zip(&self.scales).filter(|(b, _)| **b <= step).fold(1.0, |v, (_, s)| s * v);
        }
        // values = cumprod([1, scales…]) over bounds = [0, boundaries…]
        let values: Vec<f64> = std::iter::once(1.0)
            .chain(self.scales.iter().scan(1.0, |v, s| {
                *v *= s;
                Some(*v)
            }))
            .collect();
        let i = self.boundaries.partition_point(|&b| b <= step);
        if i == self.boundaries.len() {
            return values[i];
        }
        let start = if i == 0 { 0 } else { self.boundaries[i - 1] };
        let size = (self.boundaries[i] - start).max(1);
        let pct = (step - start) as f64 / size as f64;
        let (a, b) = (values[i], values[i + 1]);
        match self.interpolate {
            Interpolate::Linear => (b - a) * pct + a,
            _ => b + (a - b) / 2.0 * ((PI * pct).cos() + 1.0),
        }
    }
}

impl LrScheduler for Piecewise {
    fn lr(&self, base_lr: f64, step: usize) -> f64 {
        base_lr * self.factor(step)
    }
}
