//! Sharpness while training: λ_max of the training loss's Hessian on the
//! monitoring subset every N optimiser steps (Cohen et al. 2021, "Gradient
//! descent on neural networks typically occurs at the edge of
//! stability"), by Lanczos warm-started from the previous top eigenvector.

use crate::GradusError;
use crate::hessian::LossHessian;
use gradus_autodiff::LanczosOptions;
use gradus_data::DataLoader;
use gradus_loss::Loss;
use gradus_nn::Module;
use gradus_tensor::Float;

/// One measurement of sharpness.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SharpnessPoint {
    /// Optimiser steps taken when it was measured.
    pub step: usize,
    /// The epoch the step belongs to (from 1).
    pub epoch: usize,
    /// The rate in force (first parameter group): gradient descent on a
    /// quadratic is stable while sharpness < 2/lr.
    pub lr: f64,
    /// λ_max of the loss's Hessian on the monitoring subset.
    pub sharpness: f64,
    /// λ_max of its Gauss–Newton matrix, when measured too
    /// ([`Trainer::with_ggn_sharpness`](crate::Trainer::with_ggn_sharpness)).
    pub ggn: Option<f64>,
    /// Hessian-vector products the measurement took.
    pub products: usize,
}

impl SharpnessPoint {
    /// The row of sharpness.csv: `step,epoch,lr,sharpness`, and
    /// `,ggn_sharpness` when the Gauss–Newton matrix's is measured too.
    pub fn csv_row(&self) -> String {
        let ggn = self.ggn.map_or(String::new(), |g| format!(",{g}"));
        format!("{},{},{},{}{ggn}", self.step, self.epoch, self.lr, self.sharpness)
    }

    /// Parses [`csv_row`](Self::csv_row)'s format, with the Gauss–Newton
    /// column when `ggn` (the products are not kept there and read as 0).
    ///
    /// ```
    /// use gradus::SharpnessPoint;
    /// let p = SharpnessPoint { step: 10, epoch: 1, lr: 0.1, sharpness: 19.5, ggn: Some(18.25), products: 0 };
    /// assert_eq!(SharpnessPoint::from_csv(&p.csv_row(), true).unwrap(), p);
    /// assert!(SharpnessPoint::from_csv("10,1,0.1,19.5", true).unwrap_err().contains("has 5"));
    /// ```
    ///
    /// # Errors
    /// A message naming the field that is missing or not a number.
    pub fn from_csv(row: &str, ggn: bool) -> Result<Self, String> {
        let f: Vec<&str> = row.split(',').collect();
        let header = if ggn { crate::run::SHARPNESS_GGN_HEADER } else { crate::run::SHARPNESS_HEADER };
        let want = header.split(',').count();
        if f.len() != want {
            return Err(format!("`{row}`: {} fields; {header} has {want}", f.len()));
        }
        let int = |i: usize, name: &str| f[i].parse::<usize>().map_err(|_| format!("{name} `{}` is not a count", f[i]));
        let num = |i: usize, name: &str| f[i].parse::<f64>().map_err(|_| format!("{name} `{}` is not a number", f[i]));
        Ok(Self {
            step: int(0, "step")?,
            epoch: int(1, "epoch")?,
            lr: num(2, "lr")?,
            sharpness: num(3, "sharpness")?,
            ggn: if ggn { Some(num(4, "ggn_sharpness")?) } else { None },
            products: 0,
        })
    }
}

/// The tracker a [`Trainer`](crate::Trainer) keeps when built with
/// [`with_sharpness`](crate::Trainer::with_sharpness).
#[derive(Debug)]
pub(crate) struct Tracker<T> {
    pub(crate) every: usize,
    /// The last top eigenvector, the next measurement's start.
    last: Option<Vec<T>>,
    /// The Gauss–Newton matrix's too, when it is measured: its last top
    /// eigenvector.
    pub(crate) ggn: Option<Option<Vec<T>>>,
    pub(crate) points: Vec<SharpnessPoint>,
}

/// Lanczos's budget per measurement: a warm start usually needs a few
/// products; the residual tolerance (relative) leaves λ_max accurate to
/// about its square.
const OPTIONS: LanczosOptions = LanczosOptions { top: 1, max_steps: 30, tol: 1e-3 };

impl<T: Float> Tracker<T> {
    pub(crate) fn new(every: usize) -> Self {
        Tracker { every, last: None, ggn: None, points: Vec::new() }
    }

    /// The next measurement's start (the last top eigenvector), which a
    /// checkpoint keeps so a resumed run measures as an uninterrupted one.
    pub(crate) fn start(&self) -> Option<&[T]> {
        self.last.as_deref()
    }

    /// Sets the next measurement's start (from a checkpoint).
    pub(crate) fn set_start(&mut self, start: Vec<T>) {
        self.last = Some(start);
    }

    /// Measures λ_max now (step `step` of epoch `epoch` at rate `lr`).
    pub(crate) fn measure(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        monitor: &DataLoader,
        (step, epoch, lr): (usize, usize, f64),
    ) -> Result<SharpnessPoint, GradusError> {
        let h = LossHessian::new(model, loss, monitor)?;
        let start = match self.last.take() {
            Some(v) if v.len() == h.dimension() => v,
            _ => h.random_direction(step as u64),
        };
        let ritz = h.top_eigenvalues_from(&start, &OPTIONS)?;
        let mut point =
            SharpnessPoint { step, epoch, lr, sharpness: ritz.values[0], ggn: None, products: ritz.products };
        self.last = ritz.vectors.into_iter().next();
        if let Some(last) = self.ggn.as_mut() {
            let g = LossHessian::ggn(model, loss, monitor)?;
            let start = match last.take() {
                Some(v) if v.len() == g.dimension() => v,
                _ => g.random_direction(step as u64),
            };
            let ritz = g.top_eigenvalues_from(&start, &OPTIONS)?;
            point.ggn = Some(ritz.values[0]);
            point.products += ritz.products;
            *last = ritz.vectors.into_iter().next();
        }
        self.points.push(point);
        Ok(point)
    }
}

impl<T: gradus_tensor::Float> crate::Trainer<T> {
    /// With [`Trainer::with_sharpness`](crate::Trainer::with_sharpness),
    /// measures the Gauss–Newton matrix's top eigenvalue too at each
    /// measurement ([`SharpnessPoint::ggn`]): the curvature gradient
    /// descent sees without the network's own second derivatives. Nothing
    /// without sharpness.
    ///
    /// ```
    /// use gradus::Trainer;
    /// use gradus::optim::Optimizer;
    /// let sgd = || Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap());
    /// assert!(Trainer::<f32>::new(sgd()).with_sharpness(50).with_ggn_sharpness().ggn_sharpness());
    /// assert!(!Trainer::<f32>::new(sgd()).with_ggn_sharpness().ggn_sharpness());
    /// ```
    pub fn with_ggn_sharpness(mut self) -> Self {
        if let Some(t) = self.sharpness.as_mut() {
            t.ggn = Some(None);
        }
        self
    }

    /// Whether sharpness is measured for the Gauss–Newton matrix too.
    pub fn ggn_sharpness(&self) -> bool {
        self.sharpness.as_ref().is_some_and(|t| t.ggn.is_some())
    }
}
