//! `BatchNorm1d` and `BatchNorm2d`: batch normalisation per channel, over
//! the batch and the length (1d) or the plane (2d).

use crate::{Buffer, Module, Param, Visitor};
use gradus_autodiff::{Across, Tape, Var, no_grad};
use gradus_tensor::{Float, Tensor};
use std::cell::Cell;
use std::rc::Rc;

/// Batch normalisation (Ioffe & Szegedy 2015) on inputs
/// `[batch, C]` or `[batch, C, L]`, as PyTorch's `nn.BatchNorm1d`:
///
/// - training: y = γ (x − μ_B)/√(σ²_B + ε) + β with the batch's mean and
///   biased variance, and the running statistics updated as
///   `running = (1 − momentum)·running + momentum·batch`, the running
///   variance from the *unbiased* batch variance (n/(n − 1)·σ²_B);
///   `momentum: None` makes them cumulative averages (1/batches seen);
/// - evaluation: the running statistics in place of the batch's.
///
/// Buffers `running_mean`, `running_var` and `num_batches_tracked` (a count,
/// stored in the element type) are saved with the parameters `weight` (γ)
/// and `bias` (β).
#[derive(Debug)]
pub struct BatchNorm1d<T: Float> {
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
    running_mean: Option<Buffer<T>>,
    running_var: Option<Buffer<T>>,
    num_batches_tracked: Option<Buffer<T>>,
    eps: f64,
    momentum: Option<f64>,
    training: Cell<bool>,
    /// In a statistics pass ([`Module::set_own_stats_pass`]): cumulative
    /// averages whatever the momentum.
    stats_pass: Cell<bool>,
}

impl<T: Float> BatchNorm1d<T> {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking running
    /// statistics.
    pub fn new(num_features: usize) -> Self {
        Self::with_options(num_features, 1e-5, Some(0.1), true, true)
    }

    /// Every option of `nn.BatchNorm1d`.
    ///
    /// # Panics
    /// If `num_features` is 0, `eps` is not positive, or `momentum` is outside [0, 1].
    #[track_caller]
    pub fn with_options(num_features: usize, eps: f64, momentum: Option<f64>, affine: bool, track: bool) -> Self {
        assert!(num_features > 0, "BatchNorm1d: num_features must be positive");
        assert!(eps > 0.0, "BatchNorm1d: eps must be positive, got {eps}");
        if let Some(m) = momentum {
            assert!((0.0..=1.0).contains(&m), "BatchNorm1d: momentum must be in [0, 1], got {m}");
        }
        let c = [num_features];
        Self {
            weight: affine.then(|| Param::new(Tensor::ones(&c))),
            bias: affine.then(|| Param::new(Tensor::zeros(&c))),
            running_mean: track.then(|| Buffer::new(Tensor::zeros(&c))),
            running_var: track.then(|| Buffer::new(Tensor::ones(&c))),
            num_batches_tracked: track.then(|| Buffer::new(Tensor::scalar(T::zero()))),
            eps,
            momentum,
            training: Cell::new(true),
            stats_pass: Cell::new(false),
        }
    }

    /// The running mean, when tracked.
    pub fn running_mean(&self) -> Option<Tensor<T>> {
        self.running_mean.as_ref().map(Buffer::value)
    }

    /// The running variance, when tracked.
    pub fn running_var(&self) -> Option<Tensor<T>> {
        self.running_var.as_ref().map(Buffer::value)
    }

    pub(crate) fn num_features(&self) -> usize {
        self.running_mean
            .as_ref()
            .map(|b| b.shape()[0])
            .or_else(|| self.weight.as_ref().map(|w| w.shape()[0]))
            .unwrap_or(0)
    }

    fn update_running(&self, mean: &Tensor<T>, var: &Tensor<T>, n: usize) {
        let (Some(rm), Some(rv), Some(count)) = (&self.running_mean, &self.running_var, &self.num_batches_tracked)
        else {
            return;
        };
        let seen = count.value().item() + T::one();
        count.set(Tensor::scalar(seen));
        let momentum = if self.stats_pass.get() { None } else { self.momentum };
        let m = T::of(momentum.unwrap_or(1.0 / seen.as_f64()));
        let unbiased = var * T::of(n as f64 / (n as f64 - 1.0));
        rm.set(&(&rm.value() * (T::one() - m)) + &(mean * m));
        rv.set(&(&rv.value() * (T::one() - m)) + &(&unbiased * m));
    }
}

impl<T: Float> BatchNorm1d<T> {
    /// Training with local statistics: [`Var::batch_norm`]'s fused passes
    /// on `[N, C, L]` (`[N, C]` as L = 1), and the running averages.
    #[track_caller]
    fn forward_fused(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let shape = x.shape().to_vec();
        let (n, c) = (shape[0], shape[1]);
        let l = shape.get(2).copied().unwrap_or(1);
        if let Err(e) = self.values_per_channel("BatchNorm1d", &shape) {
            panic!("{e}");
        }
        let x3 = x.reshape(&[n as isize, c as isize, l as isize]);
        let (w, b) = (self.weight.as_ref().map(|w| w.var(tape)), self.bias.as_ref().map(|b| b.var(tape)));
        let (y, mean, var) = x3.batch_norm(w.as_ref(), b.as_ref(), self.eps);
        if self.training.get() {
            no_grad(|| self.update_running(&mean, &var, n * l));
        }
        y.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }
}

impl<T: Float> BatchNorm1d<T> {
    /// Training in a data-parallel run: the full batch's statistics, sums
    /// over this shard summed over the replicas (their backward sums the
    /// gradients back the same way), in differentiable ops.
    #[track_caller]
    fn forward_synchronised(&self, tape: &Tape<T>, x: &Var<T>, group: &Rc<dyn Across>) -> Var<T> {
        let c = self.num_features();
        let (per_channel, axes) = Self::per_channel(x.rank(), c);
        let mut n = [(x.value().numel() / c) as f64];
        group.sum(&mut n);
        let n = n[0] as usize;
        assert!(
            n > 1,
            "BatchNorm1d({c}) in training needs more than one value per channel over the replicas' batch, got {n} (input {:?} here)",
            x.shape()
        );
        let per = T::one() / T::of(n as f64);
        let mean = x.sum(axes.clone(), true).sum_across(group).mul_scalar(per);
        let var = x.sub(&mean).square().sum(axes, true).sum_across(group).mul_scalar(per);
        no_grad(|| self.update_running(&mean.value().reshape(&[c as isize]), &var.value().reshape(&[c as isize]), n));
        let x_hat = &(x - &mean) / &var.add_scalar(T::of(self.eps)).sqrt();
        match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => &(&x_hat * &w.var(tape).reshape(&per_channel)) + &b.var(tape).reshape(&per_channel),
            _ => x_hat,
        }
    }

    /// Evaluation with the running statistics: one scale and one shift per
    /// channel, x·s + t.
    fn forward_eval(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let (per_channel, _) = Self::per_channel(x.rank(), self.num_features());
        let rm = self.running_mean.as_ref().expect("tracked").value().reshape(&per_channel);
        let rv = self.running_var.as_ref().expect("tracked").value().reshape(&per_channel);
        let invstd = Var::constant((&rv + T::of(self.eps)).sqrt().recip());
        match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => {
                let scale = w.var(tape).reshape(&per_channel).mul(&invstd);
                let shift = b.var(tape).reshape(&per_channel).sub(&Var::constant(rm).mul(&scale));
                x.mul(&scale).add(&shift)
            }
            _ => x.mul(&invstd).sub(&Var::constant(rm).mul(&invstd)),
        }
    }

    /// `input` itself, or in training with batch statistics an error when
    /// they would be over one value per channel (or none): PyTorch's
    /// "Expected more than 1 value per channel when training".
    fn values_per_channel(&self, layer: &str, input: &[usize]) -> Result<Vec<usize>, String> {
        let values = input[0] * input[2..].iter().product::<usize>();
        if self.training.get() && values <= 1 && crate::shard::group().is_none() {
            let c = self.num_features();
            return Err(format!(
                "{layer}({c}) in training needs more than one value per channel (batch × positions), got input {input:?}"
            ));
        }
        Ok(input.to_vec())
    }

    /// The shape per-channel tensors broadcast as (`[C]` against `[N, C]`,
    /// `[C, 1]` against `[N, C, L]`) and the axes a channel's statistics
    /// sum over.
    fn per_channel(rank: usize, c: usize) -> (Vec<isize>, Vec<isize>) {
        if rank == 2 { (vec![c as isize], vec![0]) } else { (vec![c as isize, 1], vec![0, 2]) }
    }
}

impl<T: Float> Module<T> for BatchNorm1d<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let c = self.num_features();
        assert!(
            matches!(x.rank(), 2 | 3) && x.shape()[1] == c,
            "BatchNorm1d({c}): expected input [batch, {c}] or [batch, {c}, length], got {:?}",
            x.shape()
        );
        if !self.training.get() && self.running_mean.is_some() {
            return self.forward_eval(tape, x);
        }
        // Batch statistics: training, or evaluation without running ones.
        match crate::shard::group().filter(|_| self.training.get()) {
            Some(group) => self.forward_synchronised(tape, x, &group),
            None => self.forward_fused(tape, x),
        }
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            v.param("weight", w);
            v.param("bias", b);
        }
        if let (Some(m), Some(var), Some(n)) = (&self.running_mean, &self.running_var, &self.num_batches_tracked) {
            v.buffer("running_mean", m);
            v.buffer("running_var", var);
            v.buffer("num_batches_tracked", n);
        }
    }

    fn set_mode(&self, training: bool) {
        self.training.set(training);
    }

    fn mode(&self) -> Option<bool> {
        Some(self.training.get())
    }

    fn set_own_stats_pass(&self, on: bool) {
        self.stats_pass.set(on);
        if on {
            let reset = |b: &Option<Buffer<T>>, v: T| {
                if let Some(b) = b {
                    b.set(Tensor::full(&b.shape(), v));
                }
            };
            reset(&self.running_mean, T::zero());
            reset(&self.running_var, T::one());
            reset(&self.num_batches_tracked, T::zero());
        }
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let c = self.num_features();
        Some(match input {
            [_, ch] | [_, ch, _] if *ch == c => self.values_per_channel("BatchNorm1d", input),
            _ => Err(format!("BatchNorm1d({c}) needs [N, {c}] or [N, {c}, L], got {input:?}")),
        })
    }
}

/// Batch normalisation of images `[N, C, H, W]` per channel, over the batch
/// and the plane, as PyTorch's `nn.BatchNorm2d`: the statistics, options,
/// parameters and buffers of [`BatchNorm1d`] (whose `[N, C, L]` form it
/// runs on the flattened plane).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{BatchNorm2d, Module};
/// use gradus_tensor::Tensor;
///
/// let bn = BatchNorm2d::<f64>::new(3);
/// let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 2, 2]).unwrap();
/// let y = bn.forward(&Tape::new(), &Var::constant(x));
/// let per_channel = y.value().mean([0, 2, 3], false).to_vec();
/// assert!(per_channel.iter().all(|m| m.abs() < 1e-12));
/// let names: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
/// ```
#[derive(Debug)]
pub struct BatchNorm2d<T: Float>(BatchNorm1d<T>);

impl<T: Float> BatchNorm2d<T> {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking running
    /// statistics.
    pub fn new(num_features: usize) -> Self {
        Self(BatchNorm1d::new(num_features))
    }

    /// Every option of `nn.BatchNorm2d`.
    ///
    /// # Panics
    /// As [`BatchNorm1d::with_options`].
    #[track_caller]
    pub fn with_options(num_features: usize, eps: f64, momentum: Option<f64>, affine: bool, track: bool) -> Self {
        Self(BatchNorm1d::with_options(num_features, eps, momentum, affine, track))
    }

    /// The running mean, when tracked.
    pub fn running_mean(&self) -> Option<Tensor<T>> {
        self.0.running_mean()
    }

    /// The running variance, when tracked.
    pub fn running_var(&self) -> Option<Tensor<T>> {
        self.0.running_var()
    }
}

impl<T: Float> Module<T> for BatchNorm2d<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        let s = x.shape();
        let flat = x.reshape(&[s[0] as isize, s[1] as isize, (s[2] * s[3]) as isize]);
        self.0.forward(tape, &flat).reshape(&s.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        self.0.visit(v);
    }

    fn set_mode(&self, training: bool) {
        self.0.set_mode(training);
    }

    fn mode(&self) -> Option<bool> {
        self.0.mode()
    }

    fn set_own_stats_pass(&self, on: bool) {
        self.0.set_own_stats_pass(on);
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let c = self.0.num_features();
        Some(match input {
            [_, ch, _, _] if *ch == c => self.0.values_per_channel("BatchNorm2d", input),
            _ => Err(format!("BatchNorm2d({c}) needs [N, {c}, H, W], got {input:?}")),
        })
    }
}
