//! A run's trajectory: its parameters at the start and every N steps
//! (`gradus train --trajectory-every N`), kept in the run's
//! `trajectory.safetensors` for `gradus landscape --directions pca`, and
//! the principal directions of such a trajectory (Li et al. 2018: the
//! path of a run lies close to a plane through its end point, which its
//! first two principal components span).

use crate::GradusError;
use crate::landscape::State;
use crate::trainer::Trainer;
use gradus_nn::{Checkpoint, Module};
use gradus_tensor::{Float, Tensor};
use std::path::Path;

/// The file a run keeps its trajectory in.
pub const TRAJECTORY_FILE: &str = "trajectory.safetensors";

/// The snapshots a trainer has taken: (steps taken, every parameter's
/// values flattened in `named_parameters` order).
#[derive(Debug, Default)]
pub(crate) struct Recorder<T> {
    pub(crate) every: usize,
    pub(crate) points: Vec<(usize, Vec<T>)>,
}

/// Every parameter of `model` flattened in `named_parameters` order.
fn flat<T: Float>(model: &dyn Module<T>) -> Vec<T> {
    model.named_parameters().iter().flat_map(|(_, p)| p.value().contiguous().to_vec()).collect()
}

impl<T: Float> Trainer<T> {
    /// Keeps the parameters at the start of training and after every N-th
    /// step ([`Trainer::trajectory`]; a run saves them in
    /// [`TRAJECTORY_FILE`]).
    ///
    /// ```
    /// use gradus::Trainer;
    /// use gradus::optim::Optimizer;
    /// let trainer = Trainer::<f32>::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap())).with_trajectory(50);
    /// assert_eq!(trainer.trajectory_every(), Some(50));
    /// assert!(trainer.trajectory().is_empty());
    /// ```
    pub fn with_trajectory(mut self, every: usize) -> Self {
        self.trajectory = (every > 0).then(|| Recorder { every, points: Vec::new() });
        self
    }

    /// How often the parameters are kept, in steps, if they are.
    pub fn trajectory_every(&self) -> Option<usize> {
        self.trajectory.as_ref().map(|r| r.every)
    }

    /// The snapshots so far: (steps taken, the parameters flattened in
    /// `named_parameters` order).
    pub fn trajectory(&self) -> &[(usize, Vec<T>)] {
        self.trajectory.as_ref().map_or(&[], |r| &r.points)
    }

    /// Takes a snapshot if one is due: at step 0 when none is kept yet,
    /// and at every multiple of N.
    pub(crate) fn record_trajectory(&mut self, model: &dyn Module<T>) {
        let steps = self.steps;
        if let Some(r) = self.trajectory.as_mut()
            && (steps.is_multiple_of(r.every) || r.points.is_empty())
            && r.points.last().is_none_or(|(s, _)| *s < steps)
        {
            r.points.push((steps, flat(model)));
        }
    }

    /// Puts back the snapshots a resumed run had taken up to its step.
    pub(crate) fn restore_trajectory(&mut self, points: Vec<(usize, Vec<T>)>) {
        if let Some(r) = self.trajectory.as_mut() {
            r.points = points.into_iter().filter(|(s, _)| *s <= self.steps).collect();
        }
    }
}

/// Writes `points` to `path` (one tensor `step.N` each, and the
/// parameter count as metadata).
///
/// # Errors
/// [`GradusError::Nn`] when the file cannot be written.
pub fn save_trajectory<T: Float>(path: &Path, points: &[(usize, Vec<T>)]) -> Result<(), GradusError> {
    let mut ck = Checkpoint::new();
    for (step, values) in points {
        ck.insert(&format!("step.{step}"), &Tensor::from_vec(values.clone(), &[values.len()]).expect("a vector"));
    }
    ck.set_metadata("format", "gradus trajectory");
    ck.save(path)?;
    Ok(())
}

/// Reads a trajectory written by [`save_trajectory`], in step order.
///
/// # Errors
/// A file that cannot be read or is not a trajectory, or one of another
/// parameter count than `dimension`.
pub fn load_trajectory<T: Float>(path: &Path, dimension: usize) -> Result<Vec<(usize, Vec<T>)>, GradusError> {
    let ck = Checkpoint::load(path)?;
    let not = |why: String| GradusError::Config(format!("{}: {why}", path.display()));
    if ck.metadata("format") != Some("gradus trajectory") {
        return Err(not("not a trajectory (gradus train --trajectory-every writes one)".into()));
    }
    let mut points = Vec::new();
    for name in ck.names() {
        let step = name.strip_prefix("step.").and_then(|s| s.parse::<usize>().ok());
        let step = step.ok_or_else(|| not(format!("`{name}` is not a step's snapshot")))?;
        let values = ck.get::<T>(name)?.to_vec();
        if values.len() != dimension {
            return Err(not(format!("step {step} holds {} parameters; the model has {dimension}", values.len())));
        }
        points.push((step, values));
    }
    points.sort_by_key(|(s, _)| *s);
    Ok(points)
}

/// The trajectory's principal directions about its end: the top two
/// eigenvectors of the snapshots' differences from `end` (θᵢ − θ_end),
/// unit length, as model states (buffers zero), with the fraction of the
/// differences' variance each explains, and each snapshot's coordinates
/// (αᵢ, βᵢ) on them. Computed from the snapshots' Gram matrix (as many
/// rows as snapshots), never a parameter-sized square one.
///
/// # Errors
/// Fewer than two snapshots that differ from the end, or snapshots of
/// another parameter count.
#[allow(clippy::type_complexity)]
pub fn principal_directions<T: Float>(
    end: &State<T>,
    points: &[(usize, Vec<T>)],
) -> Result<((State<T>, State<T>), [f64; 2], Vec<(f64, f64)>), GradusError> {
    let centre: Vec<f64> = end.params.iter().flat_map(|t| t.contiguous().to_vec()).map(|v| v.as_f64()).collect();
    let n = centre.len();
    if let Some((s, v)) = points.iter().find(|(_, v)| v.len() != n) {
        return Err(GradusError::Config(format!(
            "step {s}'s snapshot holds {} parameters; the model has {n}",
            v.len()
        )));
    }
    let diffs: Vec<Vec<f64>> =
        points.iter().map(|(_, v)| v.iter().zip(&centre).map(|(a, c)| a.as_f64() - c).collect()).collect();
    let moved = diffs.iter().filter(|d| d.iter().any(|x| *x != 0.0)).count();
    if moved < 2 {
        return Err(GradusError::Config(format!(
            "the trajectory has {moved} snapshot(s) away from the end point; principal directions need two (take snapshots more often)"
        )));
    }
    let m = diffs.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut gram = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let v = dot(&diffs[i], &diffs[j]);
            gram[i * m + j] = v;
            gram[j * m + i] = v;
        }
    }
    let (values, vectors) = Tensor::from_vec(gram, &[m, m])
        .expect("m × m")
        .eigh()
        .map_err(|e| GradusError::Autodiff(gradus_autodiff::AutodiffError::from(e)))?;
    let (values, vectors) = (values.to_vec(), vectors.contiguous().to_vec());
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    // eigh's values ascend: the last two are the largest.
    let mut dirs = Vec::new();
    let mut explained = [0.0; 2];
    for (k, col) in [m - 1, m - 2].into_iter().enumerate() {
        let mut d = vec![0.0; n];
        for (i, diff) in diffs.iter().enumerate() {
            let w = vectors[i * m + col];
            d.iter_mut().zip(diff).for_each(|(a, x)| *a += w * x);
        }
        let norm = dot(&d, &d).sqrt();
        d.iter_mut().for_each(|a| *a /= norm.max(f64::MIN_POSITIVE));
        explained[k] = values[col].max(0.0) / total.max(f64::MIN_POSITIVE);
        dirs.push(d);
    }
    let coords = diffs.iter().map(|x| (dot(x, &dirs[0]), dot(x, &dirs[1]))).collect();
    let state = |d: &[f64]| {
        let mut at = 0;
        let params = end
            .params
            .iter()
            .map(|t| {
                let k = t.numel();
                let v = d[at..at + k].iter().map(|&x| T::of(x)).collect();
                at += k;
                Tensor::from_vec(v, t.shape()).expect("the parameter's shape")
            })
            .collect();
        State { params, buffers: end.buffers.iter().map(|b| Tensor::zeros(b.shape())).collect() }
    };
    Ok(((state(&dirs[0]), state(&dirs[1])), explained, coords))
}
