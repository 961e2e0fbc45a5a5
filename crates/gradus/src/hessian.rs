//! The Hessian of a network's loss as an operator: the mean loss of a model
//! in evaluation mode over a fixed set of examples, as a function of every
//! trainable parameter, with Hessian-vector products by double backward;
//! and the generalised Gauss–Newton matrix and the Fishers of the same
//! function ([`Curvature`]), with products by backward passes only.
//! Lanczos, Hutchinson and stochastic Lanczos quadrature
//! (gradus-autodiff's `spectrum`) run on it.

use crate::GradusError;
use gradus_autodiff::{
    Density, GradOptions, LanczosOptions, Ritz, Tape, TraceEstimate, Var, density, grad, hutchinson, lanczos,
    lanczos_quadrature, rademacher,
};
use gradus_data::DataLoader;
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_tensor::{BatchTargets, Float, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use std::cell::Cell;
use std::collections::BTreeSet;

/// Which curvature matrix of the loss an operator multiplies by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curvature {
    /// The Hessian ∇²L, by double backward.
    Hessian,
    /// The generalised Gauss–Newton matrix Jᵀ·H_L·J (J the Jacobian of the
    /// model's outputs in its parameters, H_L the Hessian of the loss in
    /// the outputs): the Hessian without the term of the model's own
    /// curvature, positive semi-definite for a convex loss. For cross-
    /// entropy on softmax outputs it is the Fisher information.
    Ggn,
    /// The Monte-Carlo Fisher (1/N)·Σₙ gₙgₙᵀ, gₙ the gradient of example
    /// n's loss at a label drawn from the model's own prediction (once,
    /// seeded, so the operator is one fixed matrix): an unbiased estimate
    /// of the Fisher information, the GGN for cross-entropy. Classification
    /// outputs only.
    Fisher,
    /// The empirical Fisher (1/N)·Σₙ gₙgₙᵀ at the data's own labels: the
    /// second moment of the per-example gradients (Kunstner et al. 2019 on
    /// why it is not the Fisher).
    EmpiricalFisher,
}

impl Curvature {
    /// The names `gradus curvature --operator` takes.
    pub const NAMES: [&'static str; 4] = ["hessian", "ggn", "fisher", "empirical-fisher"];

    /// The curvature named `name` (one of [`Curvature::NAMES`]).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "hessian" => Some(Curvature::Hessian),
            "ggn" => Some(Curvature::Ggn),
            "fisher" => Some(Curvature::Fisher),
            "empirical-fisher" => Some(Curvature::EmpiricalFisher),
            _ => None,
        }
    }
}

/// One batch's recorded loss and first derivatives, kept for every product.
struct Recorded<T: Float> {
    /// Each parameter as a leaf on the batch's tape (the tape lives as long
    /// as they do).
    leaves: Vec<Var<T>>,
    /// The gradient of the batch's share of the loss, recorded
    /// (`create_graph`) so it can be differentiated again (the Hessian's),
    /// or as values (the Gauss–Newton matrix's).
    gradient: Vec<Var<T>>,
    /// The batch's share of the loss.
    value: f64,
    /// What the Gauss–Newton products need.
    ggn: Option<GgnParts<T>>,
}

/// The model's outputs on a batch and Jᵀ·u recorded as a function of a
/// probe leaf u (its shape), so that J·v = ∂⟨Jᵀu, v⟩/∂u by one more
/// backward pass, without forward-mode differentiation.
struct GgnParts<T: Float> {
    outputs: Var<T>,
    probe: Var<T>,
    pulled: Vec<Option<Var<T>>>,
    targets: gradus_tensor::BatchTargets<T>,
    share: f64,
}

/// The Hessian of `loss(model(x), y)` averaged over a loader's examples,
/// with respect to the model's trainable parameters (each shared parameter
/// once), at their values when it was built.
///
/// The function is the one PyHessian and Cohen et al. measure: the model is
/// in evaluation mode (dropout off, batch norm on its running statistics)
/// for the forward passes, so it is a deterministic function of the
/// parameters. Each batch's forward pass and recorded gradient are built
/// once and kept, so a product costs one more backward pass per batch
/// (memory: every batch's graph, twice recorded).
///
/// # Examples
/// ```
/// use gradus::hessian::LossHessian;
/// use gradus::prelude::*;
/// use gradus::data::{Features, InMemory, Targets};
/// use std::sync::Arc;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Mlp::new(&[2, 3, 2]).build::<f64, _>(&mut rng);
/// let data = InMemory::new(Features::F64(vec![0.5, -1.0, 1.0, 2.0]), vec![2], Targets::Classes(vec![0, 1])).unwrap();
/// let h = LossHessian::new(&model, &CrossEntropy::default(), &DataLoader::new(Arc::new(data), 2)).unwrap();
/// assert_eq!(h.dimension(), 2 * 3 + 3 + 3 * 2 + 2);
/// let top = h.top_eigenvalues(&Default::default(), 0).unwrap();
/// assert!(top.values[0] > 0.0 && h.products() == top.products);
/// ```
pub struct LossHessian<'m, T: Float> {
    kind: Curvature,
    /// The loss, for the Gauss–Newton matrix's H_L.
    loss: Option<&'m dyn Loss<T>>,
    params: Vec<(String, &'m Param<T>)>,
    batches: Vec<Recorded<T>>,
    products: Cell<usize>,
    /// Told the product count after each product.
    progress: Option<Box<dyn Fn(usize) + 'm>>,
}

impl<'m, T: Float> LossHessian<'m, T> {
    /// The operator over every batch of `loader`'s first epoch (use an
    /// unshuffled loader over a fixed subset).
    ///
    /// # Errors
    /// Data or loss errors, a non-finite loss, or a model with no trainable
    /// parameter.
    pub fn new(model: &'m dyn Module<T>, loss: &dyn Loss<T>, loader: &DataLoader) -> Result<Self, GradusError> {
        Self::build(model, loss, loader, Curvature::Hessian, 0)
    }

    /// The generalised Gauss–Newton matrix Jᵀ·H_L·J of the same function
    /// ([`Curvature::Ggn`]): a product costs two backward passes through
    /// the network and one through the loss per batch.
    ///
    /// ```
    /// use gradus::hessian::LossHessian;
    /// use gradus::prelude::*;
    /// use gradus::data::{Features, InMemory, Targets};
    /// use std::sync::Arc;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let model = Mlp::new(&[2, 3, 2]).build::<f64, _>(&mut rng);
    /// let data = InMemory::new(Features::F64(vec![0.5, -1.0, 1.0, 2.0]), vec![2], Targets::Classes(vec![0, 1])).unwrap();
    /// let loss = CrossEntropy::default();
    /// let g = LossHessian::ggn(&model, &loss, &DataLoader::new(Arc::new(data), 2)).unwrap();
    /// let v: Vec<f64> = (0..g.dimension()).map(|i| (i as f64).sin()).collect();
    /// let gv = g.apply(&v).unwrap();
    /// // Positive semi-definite: vᵀGv ≥ 0.
    /// assert!(v.iter().zip(&gv).map(|(a, b)| a * b).sum::<f64>() >= 0.0);
    /// ```
    ///
    /// # Errors
    /// As [`LossHessian::new`].
    pub fn ggn(model: &'m dyn Module<T>, loss: &'m dyn Loss<T>, loader: &DataLoader) -> Result<Self, GradusError> {
        Self::of_kind(model, loss, loader, Curvature::Ggn)
    }

    /// The operator of any [`Curvature`]: the Hessian, the Gauss–Newton
    /// matrix, or a Fisher (the Monte-Carlo one's labels drawn from seed
    /// 0; [`LossHessian::fisher`] takes a seed).
    ///
    /// # Errors
    /// As [`LossHessian::new`]; for the Monte-Carlo Fisher, a loss that
    /// does not take class labels.
    pub fn of_kind(
        model: &'m dyn Module<T>,
        loss: &'m dyn Loss<T>,
        loader: &DataLoader,
        kind: Curvature,
    ) -> Result<Self, GradusError> {
        Self::sampled(model, loss, loader, kind, 0)
    }

    /// The Monte-Carlo Fisher with labels drawn from `seed`
    /// ([`Curvature::Fisher`]).
    ///
    /// # Errors
    /// As [`LossHessian::of_kind`].
    pub fn fisher(
        model: &'m dyn Module<T>,
        loss: &'m dyn Loss<T>,
        loader: &DataLoader,
        seed: u64,
    ) -> Result<Self, GradusError> {
        Self::sampled(model, loss, loader, Curvature::Fisher, seed)
    }

    fn sampled(
        model: &'m dyn Module<T>,
        loss: &'m dyn Loss<T>,
        loader: &DataLoader,
        kind: Curvature,
        seed: u64,
    ) -> Result<Self, GradusError> {
        let mut h = Self::build(model, loss, loader, kind, seed)?;
        h.loss = Some(loss);
        Ok(h)
    }

    /// The operator of `kind` (the Hessian, or a Gauss–Newton matrix:
    /// the Monte-Carlo Fisher's labels drawn from seed 0) of the loss on
    /// one batch, in the model's current mode (training mode for a method
    /// that solves with it while training, such as `hessian_free`; the
    /// batch's buffers, such as batch norm's statistics, move as a forward
    /// pass in that mode moves them).
    ///
    /// # Errors
    /// As [`LossHessian::of_kind`].
    pub fn on_batch(
        model: &'m dyn Module<T>,
        loss: &'m dyn Loss<T>,
        x: &Tensor<T>,
        y: &BatchTargets<T>,
        kind: Curvature,
    ) -> Result<Self, GradusError> {
        let params = Self::trainable(model)?;
        let recorded = Self::record(model, &params, loss, vec![(x.clone(), y.clone())], kind, 0)?;
        Ok(LossHessian { kind, loss: Some(loss), params, batches: recorded, products: Cell::new(0), progress: None })
    }

    /// The model's trainable parameters, each once.
    fn trainable(model: &'m dyn Module<T>) -> Result<Vec<(String, &'m Param<T>)>, GradusError> {
        let mut seen = BTreeSet::new();
        let params: Vec<_> =
            model.named_parameters().into_iter().filter(|(_, p)| !p.is_frozen() && seen.insert(p.id().0)).collect();
        if params.is_empty() {
            return Err(GradusError::Config("the model has no trainable parameter".into()));
        }
        Ok(params)
    }

    /// The operator of `kind`.
    fn build(
        model: &'m dyn Module<T>,
        loss: &dyn Loss<T>,
        loader: &DataLoader,
        kind: Curvature,
        seed: u64,
    ) -> Result<Self, GradusError> {
        let params = Self::trainable(model)?;
        let batches: Vec<_> =
            loader.epoch::<T>(0).map(|b| b.map(|b| (b.features, b.targets))).collect::<Result<_, _>>()?;
        let mode = model.training();
        model.eval();
        let recorded = Self::record(model, &params, loss, batches, kind, seed);
        if let Some(mode) = mode {
            model.set_training(mode);
        }
        Ok(LossHessian { kind, loss: None, params, batches: recorded?, products: Cell::new(0), progress: None })
    }

    /// Which matrix this is.
    pub fn kind(&self) -> Curvature {
        self.kind
    }

    fn record(
        model: &dyn Module<T>,
        params: &[(String, &Param<T>)],
        loss: &dyn Loss<T>,
        batches: Vec<(Tensor<T>, BatchTargets<T>)>,
        kind: Curvature,
        seed: u64,
    ) -> Result<Vec<Recorded<T>>, GradusError> {
        let total: usize = batches.iter().map(|b| b.0.shape()[0]).sum();
        if total == 0 {
            return Err(GradusError::Config("the loader holds no example".into()));
        }
        let mut out = Vec::with_capacity(batches.len());
        let mut rng = StdRng::seed_from_u64(seed);
        for (features, y) in batches {
            let share = features.shape()[0] as f64 / total as f64;
            let tape = Tape::new();
            let leaves: Vec<_> = params.iter().map(|(_, p)| p.var(&tape)).collect();
            let outputs = model.forward(&tape, &Var::constant(features));
            let value = loss.loss(&outputs, &y)?;
            let value = value.mul_scalar(T::of(share));
            let v = value.value().item().as_f64();
            if !v.is_finite() {
                return Err(GradusError::Diverged {
                    epoch: None,
                    step: None,
                    what: format!("the loss is {v}"),
                    first_op: None,
                });
            }
            let hessian = kind == Curvature::Hessian;
            let opts = GradOptions { create_graph: hessian, retain_graph: true, allow_unused: true };
            let refs: Vec<&Var<T>> = leaves.iter().collect();
            let gradient = grad(&[&value], None, &refs, opts)?
                .into_iter()
                .zip(&leaves)
                .map(|(g, l)| g.unwrap_or_else(|| Var::constant(Tensor::zeros(l.shape()))))
                .collect();
            let ggn = if hessian {
                None
            } else {
                let probe = tape.leaf(Tensor::zeros(outputs.shape()));
                let paired = outputs.mul(&probe).sum(.., false);
                let opts = GradOptions { create_graph: true, allow_unused: true, ..Default::default() };
                let pulled = grad(&[&paired], None, &refs, opts)?;
                let targets = if kind == Curvature::Fisher { sample_labels(outputs.value(), &mut rng) } else { y };
                Some(GgnParts { outputs, probe, pulled, targets, share })
            };
            out.push(Recorded { leaves, gradient, value: v, ggn });
        }
        Ok(out)
    }

    /// The number of parameters (the operator's dimension).
    pub fn dimension(&self) -> usize {
        self.params.iter().map(|(_, p)| p.numel()).sum()
    }

    /// The parameters it differentiates with respect to, by name.
    pub fn parameter_names(&self) -> Vec<&str> {
        self.params.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The loss at the parameters it was built at.
    pub fn value(&self) -> f64 {
        self.batches.iter().map(|b| b.value).sum()
    }

    /// The gradient, flattened in parameter order.
    pub fn gradient(&self) -> Vec<T> {
        let mut g = vec![0.0f64; self.dimension()];
        for b in &self.batches {
            let flat = b.gradient.iter().flat_map(|v| v.value().contiguous().to_vec());
            g.iter_mut().zip(flat).for_each(|(s, x)| *s += x.as_f64());
        }
        g.into_iter().map(T::of).collect()
    }

    /// The parameters' values, flattened in the same order.
    pub fn parameters(&self) -> Vec<T> {
        self.params.iter().flat_map(|(_, p)| p.value().contiguous().to_vec()).collect()
    }

    /// Calls `progress` with the count of products made after each one
    /// (a progress bar over long spectra).
    #[must_use]
    pub fn with_progress(mut self, progress: impl Fn(usize) + 'm) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Hessian-vector products made so far.
    pub fn products(&self) -> usize {
        self.products.get()
    }

    /// H·`v` for a flattened `v` (one backward pass per batch).
    ///
    /// # Errors
    /// If `v` has another length than [`dimension`](Self::dimension), or a
    /// backward pass fails.
    pub fn apply(&self, v: &[T]) -> Result<Vec<T>, GradusError> {
        let n = self.dimension();
        if v.len() != n {
            return Err(GradusError::Config(format!("a vector of {} values for a Hessian of dimension {n}", v.len())));
        }
        self.products.set(self.products.get() + 1);
        let mut pieces = Vec::with_capacity(self.params.len());
        let mut at = 0;
        for (_, p) in &self.params {
            let shape = p.shape();
            let k = p.numel();
            pieces.push(Tensor::from_vec(v[at..at + k].to_vec(), &shape).expect("the length was checked"));
            at += k;
        }
        let mut hv = vec![0.0f64; n];
        for b in &self.batches {
            if let Some(parts) = &b.ggn {
                self.ggn_product(b, parts, &pieces, &mut hv)?;
                continue;
            }
            let mut gv: Option<Var<T>> = None;
            for (g, piece) in b.gradient.iter().zip(&pieces) {
                if !g.requires_grad() {
                    continue; // a gradient that does not depend on the parameters
                }
                let term = g.mul(&Var::constant(piece.clone())).sum(.., false);
                gv = Some(match gv {
                    Some(s) => s.add(&term),
                    None => term,
                });
            }
            let Some(gv) = gv else { continue };
            let opts = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
            let refs: Vec<&Var<T>> = b.leaves.iter().collect();
            let mut at = 0;
            for (h, leaf) in grad(&[&gv], None, &refs, opts)?.into_iter().zip(&b.leaves) {
                let k = leaf.value().numel();
                if let Some(h) = h {
                    hv[at..at + k].iter_mut().zip(h.value().contiguous().to_vec()).for_each(|(s, x)| *s += x.as_f64());
                }
                at += k;
            }
        }
        if let Some(progress) = &self.progress {
            progress(self.products.get());
        }
        Ok(hv.into_iter().map(T::of).collect())
    }

    /// One batch's Jᵀ·H_L·J·v added to `out`: J·v from the recorded Jᵀu
    /// (a backward pass to the probe), H_L on a tape of the loss alone, and
    /// Jᵀ back through the network.
    fn ggn_product(
        &self,
        b: &Recorded<T>,
        parts: &GgnParts<T>,
        pieces: &[Tensor<T>],
        out: &mut [f64],
    ) -> Result<(), GradusError> {
        let shape = parts.outputs.shape().to_vec();
        let mut paired: Option<Var<T>> = None;
        for (p, piece) in parts.pulled.iter().zip(pieces) {
            let Some(p) = p.as_ref().filter(|p| p.requires_grad()) else { continue };
            let term = p.mul(&Var::constant(piece.clone())).sum(.., false);
            paired = Some(match paired {
                Some(s) => s.add(&term),
                None => term,
            });
        }
        let retain = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
        let jv = match paired {
            Some(s) => grad(&[&s], None, &[&parts.probe], retain)?.remove(0),
            None => None,
        };
        let Some(jv) = jv else { return Ok(()) };
        let Some(hz) = self.output_curvature(parts, jv.value())? else { return Ok(()) };
        debug_assert_eq!(hz.shape(), &shape[..]);
        // Jᵀ·(H_L J v) back through the network.
        let refs: Vec<&Var<T>> = b.leaves.iter().collect();
        let mut at = 0;
        for (g, leaf) in grad(&[&parts.outputs], Some(&[hz]), &refs, retain)?.into_iter().zip(&b.leaves) {
            let k = leaf.value().numel();
            if let Some(g) = g {
                out[at..at + k].iter_mut().zip(g.value().contiguous().to_vec()).for_each(|(s, x)| *s += x.as_f64());
            }
            at += k;
        }
        Ok(())
    }

    /// The matrix in the outputs times J·v: the loss's Hessian there (the
    /// Gauss–Newton matrix), or each row's outer product of its loss
    /// gradient (the Fishers: the data's labels or the drawn ones), on a
    /// tape of the loss alone; `None` where it is zero.
    fn output_curvature(&self, parts: &GgnParts<T>, jv: &Tensor<T>) -> Result<Option<Tensor<T>>, GradusError> {
        let loss = self.loss.expect("a Gauss–Newton or Fisher operator keeps its loss");
        let small = Tape::new();
        let z = small.leaf(parts.outputs.value().clone());
        let l = loss.loss(&z, &parts.targets)?.mul_scalar(T::of(parts.share));
        let hessian = self.kind == Curvature::Ggn;
        let opts = GradOptions { create_graph: hessian, allow_unused: true, ..Default::default() };
        let Some(gz) = grad(&[&l], None, &[&z], opts)?.remove(0) else { return Ok(None) };
        if hessian {
            if !gz.requires_grad() {
                return Ok(None); // a loss linear in the outputs has no curvature
            }
            let dot = gz.mul(&Var::constant(jv.clone())).sum(.., false);
            let once = GradOptions { allow_unused: true, ..Default::default() };
            return Ok(grad(&[&dot], None, &[&z], once)?.remove(0).map(|h| h.value().contiguous()));
        }
        // The batch's loss is share·(mean over its rows of each row's
        // loss ℓᵣ), so its gradient in row r is share/rows·∇ℓᵣ, and
        // (1/R)·∇ℓᵣ∇ℓᵣᵀ over all R = rows/share rows of the data is
        // rows/share times its outer product.
        let g = gz.value().contiguous().to_vec();
        let width = *jv.shape().last().unwrap_or(&1);
        let rows = g.len() / width.max(1);
        let scale = T::of(rows as f64 / parts.share);
        let jv = jv.contiguous().to_vec();
        let mut out = vec![T::zero(); g.len()];
        for r in 0..rows {
            let (gr, vr) = (&g[r * width..(r + 1) * width], &jv[r * width..(r + 1) * width]);
            let s = gr.iter().zip(vr).fold(T::zero(), |s, (&a, &b)| s + a * b) * scale;
            out[r * width..(r + 1) * width].iter_mut().zip(gr).for_each(|(o, &a)| *o = a * s);
        }
        Ok(Some(Tensor::from_vec(out, parts.outputs.shape()).expect("the outputs' shape")))
    }

    /// A unit Gaussian vector of the operator's dimension from `seed`.
    pub fn random_direction(&self, seed: u64) -> Vec<T> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..self.dimension()).map(|_| T::of(StandardNormal.sample(&mut rng))).collect()
    }

    /// The largest eigenvalues by Lanczos from a Gaussian start drawn from
    /// `seed`.
    ///
    /// # Errors
    /// A backward pass's error.
    pub fn top_eigenvalues(&self, options: &LanczosOptions, seed: u64) -> Result<Ritz<T>, GradusError> {
        self.top_eigenvalues_from(&self.random_direction(seed), options)
    }

    /// The largest eigenvalues by Lanczos from `start` (a previous
    /// eigenvector makes tracking λ_max during training cheap).
    ///
    /// # Errors
    /// A backward pass's error.
    pub fn top_eigenvalues_from(&self, start: &[T], options: &LanczosOptions) -> Result<Ritz<T>, GradusError> {
        lanczos(start, options, |v| self.apply(v))
    }

    /// Hutchinson's trace estimate from `probes` Rademacher vectors drawn
    /// from `seed`.
    ///
    /// # Errors
    /// A backward pass's error.
    pub fn trace(&self, probes: usize, seed: u64) -> Result<TraceEstimate, GradusError> {
        let mut rng = StdRng::seed_from_u64(seed);
        hutchinson(self.dimension(), probes.max(1), &mut rng, |v| self.apply(v))
    }

    /// The spectral density by stochastic Lanczos quadrature (Ghorbani et
    /// al. 2019): `probes` Rademacher starts drawn from `seed`, `steps`
    /// Lanczos steps each, smoothed on `bins` points with PyHessian's
    /// kernel (variance 1e-5 × the spectrum's width; see
    /// [`density`]).
    ///
    /// # Errors
    /// A backward pass's error.
    pub fn density(&self, probes: usize, steps: usize, bins: usize, seed: u64) -> Result<Density, GradusError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut quadratures = Vec::new();
        for _ in 0..probes.max(1) {
            let start = rademacher::<T>(self.dimension(), &mut rng);
            quadratures.push(lanczos_quadrature(&start, steps, |v| self.apply(v))?);
        }
        Ok(density(&quadratures, bins, 1e-5))
    }
}

/// Hutchinson's estimate u ⊙ (Hu) of the diagonal of the Hessian of
/// `loss(model(x), y)` with respect to each of `params` (in their order; a
/// parameter listed twice gets an estimate each time), with u a unit
/// Gaussian vector drawn from `seed`: unbiased, E[u ⊙ Hu] = diag H
/// (Sophia-H's estimator). One forward pass and a double backward in the
/// model's current mode; batch norm's running statistics are put back as
/// they were, so the pass does not count as a batch.
///
/// ```
/// use gradus::hessian::hutchinson_diagonal;
/// use gradus::prelude::*;
/// use gradus::tensor::{BatchTargets, Tensor};
/// let model = gradus::models::ModelSpec::parse("seq(linear(1, 1, bias=false))").unwrap().build::<f64>(0);
/// let x = Var::constant(Tensor::from_vec(vec![3.0], &[1, 1]).unwrap());
/// let y = BatchTargets::Values(Tensor::from_vec(vec![1.0], &[1, 1]).unwrap());
/// let mse = gradus::loss::Regression::Mse(gradus::loss::Reduction::Mean);
/// let params = model.named_parameters();
/// // (wx − y)² has second derivative 2x² = 18 in w; the estimate is u²·18.
/// let d = hutchinson_diagonal(&model, &mse, &x, &y, &params, 7).unwrap();
/// assert!(d[0][0] > 0.0);
/// ```
///
/// # Errors
/// Loss errors or a failed backward pass.
pub fn hutchinson_diagonal<T: Float>(
    model: &dyn Module<T>,
    loss: &dyn Loss<T>,
    x: &Var<T>,
    y: &gradus_tensor::BatchTargets<T>,
    params: &[(String, &Param<T>)],
    seed: u64,
) -> Result<Vec<Vec<T>>, GradusError> {
    crate::averaging::keeping_buffers(model, || {
        let tape = Tape::new();
        let leaves: Vec<Var<T>> = params.iter().map(|(_, p)| p.var(&tape)).collect();
        let value = loss.loss(&model.forward(&tape, x), y)?;
        let refs: Vec<&Var<T>> = leaves.iter().collect();
        let opts = GradOptions { create_graph: true, allow_unused: true, ..Default::default() };
        let gradient = grad(&[&value], None, &refs, opts)?;
        let mut u = unit_gaussian::<T>(params.iter().map(|(_, p)| p.numel()).sum(), seed).into_iter();
        let probes: Vec<Tensor<T>> = params
            .iter()
            .map(|(_, p)| {
                let piece = u.by_ref().take(p.numel()).collect();
                Tensor::from_vec(piece, &p.shape()).expect("the parameter's shape")
            })
            .collect();
        let mut gu: Option<Var<T>> = None;
        for (g, u) in gradient.iter().zip(&probes) {
            if let Some(g) = g.as_ref().filter(|g| g.requires_grad()) {
                let term = g.mul(&Var::constant(u.clone())).sum(.., false);
                gu = Some(match gu {
                    Some(s) => s.add(&term),
                    None => term,
                });
            }
        }
        let hu = match gu {
            Some(gu) => grad(&[&gu], None, &refs, GradOptions { allow_unused: true, ..Default::default() })?,
            None => vec![None; params.len()],
        };
        Ok::<_, GradusError>(
            hu.into_iter()
                .zip(&probes)
                .map(|(h, u)| match h {
                    Some(h) => h.value().contiguous().to_vec().iter().zip(u.to_vec()).map(|(&h, u)| h * u).collect(),
                    None => vec![T::zero(); u.numel()],
                })
                .collect(),
        )
    })
}

/// `n` independent standard normal values from `seed` (the probes of
/// [`hutchinson_diagonal`], and of `gradus trace`'s Sophia).
pub fn unit_gaussian<T: Float>(n: usize, seed: u64) -> Vec<T> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| T::of(StandardNormal.sample(&mut rng))).collect()
}

/// Labels drawn from the softmax of each row of `logits` (the last axis
/// the classes), as class targets of the rows' shape.
pub(crate) fn sample_labels<T: Float>(logits: &Tensor<T>, rng: &mut StdRng) -> gradus_tensor::BatchTargets<T> {
    use rand::Rng;
    let shape = logits.shape().to_vec();
    let width = *shape.last().unwrap_or(&1);
    let values = logits.contiguous().to_vec();
    let labels: Vec<usize> = values
        .chunks(width.max(1))
        .map(|row| {
            let top = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.as_f64()));
            let weights: Vec<f64> = row.iter().map(|v| (v.as_f64() - top).exp()).collect();
            let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
            for (k, w) in weights.iter().enumerate() {
                if u < *w {
                    return k;
                }
                u -= w;
            }
            width - 1
        })
        .collect();
    let rows = &shape[..shape.len().saturating_sub(1)];
    gradus_tensor::BatchTargets::Classes(Tensor::from_vec(labels, rows).expect("one label per row"))
}
