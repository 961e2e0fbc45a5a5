//! The loss around a trained network: along the straight line between two
//! points of parameter space (Goodfellow et al. 2015, "Qualitatively
//! characterizing neural network optimization problems"), and along one or
//! two filter-normalised random directions (Li et al. 2018, "Visualizing
//! the loss landscape of neural nets"), or along the Hessian's top
//! eigenvectors (Yao et al. 2020, PyHessian).

use crate::GradusError;
use crate::evaluation::{Evaluation, evaluate};
use gradus_data::DataLoader;
use gradus_loss::Loss;
use gradus_nn::Module;
use gradus_tensor::{Float, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// A point of a model's state: every parameter's and buffer's value, in
/// `named_parameters` and `named_buffers` order.
#[derive(Clone, Debug)]
pub struct State<T: Float> {
    /// The parameters' values.
    pub params: Vec<Tensor<T>>,
    /// The buffers' values (batch norm's running statistics).
    pub buffers: Vec<Tensor<T>>,
}

impl<T: Float> PartialEq for State<T> {
    /// Equal shapes and values, element by element.
    fn eq(&self, other: &Self) -> bool {
        let same = |a: &[Tensor<T>], b: &[Tensor<T>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.shape() == y.shape() && x.to_vec() == y.to_vec())
        };
        same(&self.params, &other.params) && same(&self.buffers, &other.buffers)
    }
}

impl<T: Float> State<T> {
    /// The state `model` is in.
    pub fn of(model: &dyn Module<T>) -> Self {
        State {
            params: model.named_parameters().iter().map(|(_, p)| p.value()).collect(),
            buffers: model.named_buffers().iter().map(|(_, b)| b.value()).collect(),
        }
    }

    /// Puts `model` in this state.
    ///
    /// # Panics
    /// If the state is not of this model (another count or shape).
    pub fn load(&self, model: &dyn Module<T>) {
        let (params, buffers) = (model.named_parameters(), model.named_buffers());
        assert!(params.len() == self.params.len() && buffers.len() == self.buffers.len(), "a state of another model");
        for ((_, p), v) in params.iter().zip(&self.params) {
            assert_eq!(p.shape(), v.shape(), "a state of another model");
            p.set(v.clone());
        }
        for ((_, b), v) in buffers.iter().zip(&self.buffers) {
            b.set(v.clone());
        }
    }

    /// `Σ cᵢ·sᵢ` over `terms`, parameters and buffers alike.
    fn combine(terms: &[(f64, &State<T>)]) -> State<T> {
        let mix = |pick: &dyn Fn(&State<T>) -> &Vec<Tensor<T>>| -> Vec<Tensor<T>> {
            (0..pick(terms[0].1).len())
                .map(|k| {
                    let shape = pick(terms[0].1)[k].shape().to_vec();
                    let mut acc = vec![0.0f64; pick(terms[0].1)[k].numel()];
                    for (c, s) in terms {
                        if *c != 0.0 {
                            let v = pick(s)[k].contiguous().to_vec();
                            acc.iter_mut().zip(v).for_each(|(a, x)| *a += c * x.as_f64());
                        }
                    }
                    Tensor::from_vec(acc.into_iter().map(T::of).collect(), &shape).expect("same shape")
                })
                .collect()
        };
        State { params: mix(&|s| &s.params), buffers: mix(&|s| &s.buffers) }
    }
}

/// A random direction in parameter space, filter-normalised as Li et al.
/// define it: Gaussian entries, then each filter (each slice along the
/// first axis of a weight with two or more axes: a neuron's incoming
/// weights, a convolution's output channel) rescaled to the norm of the
/// same filter in `at`; biases and batch-norm parameters (one axis) are not
/// moved, nor are buffers. Frozen parameters are not moved either.
pub fn filter_normalised_direction<T: Float>(model: &dyn Module<T>, at: &State<T>, seed: u64) -> State<T> {
    let mut rng = StdRng::seed_from_u64(seed);
    let frozen: Vec<bool> = model.named_parameters().iter().map(|(_, p)| p.is_frozen()).collect();
    let params = at
        .params
        .iter()
        .zip(frozen)
        .map(|(theta, frozen)| {
            let shape = theta.shape().to_vec();
            if shape.len() < 2 || frozen || theta.numel() == 0 {
                return Tensor::zeros(&shape);
            }
            let per = theta.numel() / shape[0];
            let w = theta.contiguous().to_vec();
            let mut d: Vec<f64> = (0..theta.numel()).map(|_| StandardNormal.sample(&mut rng)).collect();
            for f in 0..shape[0] {
                let (dv, wv) = (&mut d[f * per..(f + 1) * per], &w[f * per..(f + 1) * per]);
                let dn = gradus_tensor::sum_of_squares_f64(dv).sqrt();
                let wn = gradus_tensor::sum_of_squares_f64(wv).sqrt();
                let scale = if dn > 0.0 { wn / dn } else { 0.0 };
                dv.iter_mut().for_each(|x| *x *= scale);
            }
            Tensor::from_vec(d.into_iter().map(T::of).collect(), &shape).expect("same shape")
        })
        .collect();
    State { params, buffers: at.buffers.iter().map(|b| Tensor::zeros(b.shape())).collect() }
}

/// The `count` eigenvectors of the loss's Hessian with the largest
/// eigenvalues (at the model's parameters, over `loader`, in evaluation
/// mode: [`LossHessian`](crate::hessian::LossHessian)), as unit directions
/// of parameter space, with their eigenvalues: along the first, the loss
/// curves most. Lanczos from a Gaussian start drawn from `seed`, to 10⁻³
/// of the largest eigenvalue in f32 and 10⁻⁷ in f64; buffers and frozen
/// parameters do not move, and a shared parameter moves once.
///
/// # Errors
/// As [`LossHessian::new`](crate::hessian::LossHessian::new), or fewer
/// than `count` eigenvalues converging in 200 products.
pub fn eigen_directions<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    loader: &DataLoader,
    count: usize,
    seed: u64,
) -> Result<(Vec<State<T>>, Vec<f64>), GradusError> {
    let h = crate::hessian::LossHessian::new(model, loss, loader)?;
    let tol = if std::mem::size_of::<T>() == 8 { 1e-7 } else { 1e-3 };
    let ritz = h.top_eigenvalues(&gradus_autodiff::LanczosOptions { top: count, max_steps: 200, tol }, seed)?;
    if ritz.converged_count < count {
        return Err(GradusError::Config(format!(
            "only {} of the Hessian's top {count} eigenvectors converged in 200 products",
            ritz.converged_count
        )));
    }
    // The operator's vector is every trainable parameter once, in order.
    let mut offsets = std::collections::HashMap::new();
    let mut at = 0;
    for (_, p) in model.named_parameters() {
        if !p.is_frozen() && !offsets.contains_key(&p.id().0) {
            offsets.insert(p.id().0, at);
            at += p.numel();
        }
    }
    let origin = State::of(model);
    let states = ritz.vectors[..count]
        .iter()
        .map(|v| State {
            params: model
                .named_parameters()
                .iter()
                .map(|(_, p)| match offsets.get(&p.id().0) {
                    Some(&o) => Tensor::from_vec(v[o..o + p.numel()].to_vec(), &p.shape()).expect("the shape"),
                    None => Tensor::zeros(&p.shape()),
                })
                .collect(),
            buffers: origin.buffers.iter().map(|b| Tensor::zeros(b.shape())).collect(),
        })
        .collect();
    Ok((states, ritz.values[..count].to_vec()))
}

/// The loss (and accuracy) of a model at points of its parameter space
/// around `origin`, each evaluated like [`evaluate`] (evaluation mode, the
/// whole loader); the model is put back in `origin` when this is dropped.
pub struct Landscape<'m, T: Float> {
    model: &'m dyn Module<T>,
    loss: &'m dyn Loss<T>,
    loader: &'m DataLoader,
    origin: State<T>,
    /// Called after each point.
    progress: Option<Box<dyn Fn() + 'm>>,
}

impl<'m, T: Float> Landscape<'m, T> {
    /// Around the state `model` is in.
    pub fn new(model: &'m dyn Module<T>, loss: &'m dyn Loss<T>, loader: &'m DataLoader) -> Self {
        Landscape { model, loss, loader, origin: State::of(model), progress: None }
    }

    /// Calls `progress` after each point evaluated (a progress bar over a
    /// large plane).
    #[must_use]
    pub fn with_progress(mut self, progress: impl Fn() + 'm) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The state it is centred on.
    pub fn origin(&self) -> &State<T> {
        &self.origin
    }

    /// The loss at `state`.
    ///
    /// # Errors
    /// Data or loss errors; a non-finite loss is not an error here but a
    /// NaN or infinite loss in the result (a landscape shows where it
    /// blows up).
    pub fn at(&self, state: &State<T>) -> Result<Evaluation, GradusError> {
        state.load(self.model);
        let e = match evaluate(self.model, self.loss, self.loader) {
            Err(GradusError::Diverged { .. }) => {
                Ok(Evaluation { loss: f64::INFINITY, accuracy: f64::NAN, top5_accuracy: f64::NAN })
            }
            other => other,
        };
        if let Some(progress) = &self.progress {
            progress();
        }
        e
    }

    /// θ(α) = (1 − α)·origin + α·`to` at each α (parameters and buffers),
    /// so α = 0 is the origin and α = 1 is `to`.
    ///
    /// # Errors
    /// As [`Landscape::at`].
    pub fn interpolate(&self, to: &State<T>, alphas: &[f64]) -> Result<Vec<Evaluation>, GradusError> {
        alphas.iter().map(|&a| self.at(&State::combine(&[(1.0 - a, &self.origin), (a, to)]))).collect()
    }

    /// origin + α·`direction` at each α.
    ///
    /// # Errors
    /// As [`Landscape::at`].
    pub fn line(&self, direction: &State<T>, alphas: &[f64]) -> Result<Vec<Evaluation>, GradusError> {
        alphas.iter().map(|&a| self.at(&State::combine(&[(1.0, &self.origin), (a, direction)]))).collect()
    }

    /// origin + α·`d1` + β·`d2` over the grid: row j holds β = `betas[j]`
    /// at every α.
    ///
    /// # Errors
    /// As [`Landscape::at`].
    pub fn plane(
        &self,
        (d1, d2): (&State<T>, &State<T>),
        alphas: &[f64],
        betas: &[f64],
    ) -> Result<Vec<Vec<Evaluation>>, GradusError> {
        betas
            .iter()
            .map(|&b| {
                alphas.iter().map(|&a| self.at(&State::combine(&[(1.0, &self.origin), (a, d1), (b, d2)]))).collect()
            })
            .collect()
    }
}

impl<T: Float> Drop for Landscape<'_, T> {
    fn drop(&mut self) {
        self.origin.load(self.model);
    }
}
