//! Muon (Jordan et al., 2024, "Muon: An optimizer for hidden layers in
//! neural networks"), as `torch.optim.Muon`: the momentum of a matrix,
//! orthogonalised by a Newton–Schulz iteration; every other tensor to a
//! fallback optimiser.

use crate::error::{Result, check, check_common};
use crate::platform::{Float, Mat, matmul_into, pooled_vec, recycle};
use crate::rule::{State, UpdateRule, lerp};

/// How [`Muon`] scales the rate by a matrix's shape A × B (PyTorch's
/// `adjust_lr_fn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustLr {
    /// √max(1, A/B), Keller Jordan's (PyTorch's default, `none` or `original`).
    Original,
    /// 0.2·√max(A, B), Moonshot's, which makes the update's RMS AdamW's.
    MatchRmsAdamw,
    /// √(A/B), Bernstein's.
    SpectralUnclamped,
}

impl AdjustLr {
    /// The factor for a matrix of `rows` × `cols`.
    fn factor(self, rows: usize, cols: usize) -> f64 {
        let (a, b) = (rows as f64, cols as f64);
        match self {
            AdjustLr::Original => 1.0f64.max(a / b).sqrt(),
            AdjustLr::MatchRmsAdamw => 0.2 * a.max(b).sqrt(),
            AdjustLr::SpectralUnclamped => (a / b).sqrt(),
        }
    }
}

/// The hyper-parameters of [`Muon`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuonConfig {
    /// Learning rate η (1e-3).
    pub lr: f64,
    /// λ (0.1), decoupled: θ ← θ(1 − ηλ).
    pub weight_decay: f64,
    /// μ (0.95).
    pub momentum: f64,
    /// Orthogonalise g + μ(B − g)… (lerp(g, B, μ)) instead of B (true).
    pub nesterov: bool,
    /// (a, b, c) of the quintic X ← aX + (bA + cA²)X, A = XXᵀ:
    /// (3.4445, −4.7750, 2.0315).
    pub ns_coefficients: (f64, f64, f64),
    /// The floor of the Frobenius norm the iteration's input is divided by (1e-7).
    pub eps: f64,
    /// Newton–Schulz iterations (5; fewer than 100).
    pub ns_steps: usize,
    /// The rate's scaling by the matrix's shape.
    pub adjust_lr_fn: AdjustLr,
}

impl Default for MuonConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr_fn: AdjustLr::Original,
        }
    }
}

/// Muon as `torch.optim.Muon` for a matrix (a parameter of two
/// dimensions): B ← lerp(B, g, 1 − μ); O = NS(lerp(g, B, μ)) (or NS(B)
/// without Nesterov); θ ← θ(1 − ηλ); θ ← θ − η·adjust(A, B)·O, where NS
/// divides by the Frobenius norm and runs the quintic Newton–Schulz
/// iteration on the wide orientation. It moves a matrix along the
/// orthogonal factor of its momentum, so every singular direction at about
/// the same speed. PyTorch runs the iteration in bfloat16; here it runs in
/// the parameter's own type (f32 or f64), so the path equals PyTorch's
/// with that one cast removed (the reference data are made so).
///
/// Any other tensor — a bias, a norm's scale, a convolution's kernel —
/// is updated by the `fallback` optimiser (PyTorch's Muon refuses them;
/// its documentation advises AdamW for them), which keeps its own state,
/// slot names and rate (a schedule scales that rate as it scales Muon's). The Muon authors also advise the fallback for a
/// network's first and last layers: a trainer does that by putting those
/// in a parameter group of the fallback.
///
/// ```
/// use gradus_optim::{Adam, AdamConfig, Muon, MuonConfig, Optimizer};
/// let muon = Muon::new(MuonConfig { weight_decay: 0.0, ..Default::default() }, Box::new(Adam::adamw(AdamConfig::default()).unwrap())).unwrap();
/// let mut opt = Optimizer::<f64>::new(muon);
/// let mut w = vec![0.0; 4];
/// opt.update_shaped(0, &[2, 2], &mut w, &[3.0, 0.0, 0.0, 0.3]).unwrap();
/// // A gradient ten times weaker along one direction: both move by about η.
/// assert!(w[0] < -7e-4 && w[3] < -7e-4 && w[1] == 0.0 && w[2] == 0.0, "{w:?}");
/// ```
#[derive(Debug)]
pub struct Muon<T: Float> {
    c: MuonConfig,
    fallback: Box<dyn UpdateRule<T>>,
}

impl<T: Float> Muon<T> {
    /// Validates `config` (PyTorch's checks); `fallback` takes every tensor
    /// that is not a matrix.
    ///
    /// # Errors
    /// A negative rate, weight decay, momentum or ε, or 100 iterations or more.
    pub fn new(config: MuonConfig, fallback: Box<dyn UpdateRule<T>>) -> Result<Self> {
        let c = config;
        check_common("muon", c.lr, c.weight_decay, c.eps)?;
        check(c.momentum >= 0.0, "muon", "momentum", || format!("must be >= 0, got {}", c.momentum))?;
        check(c.ns_steps < 100, "muon", "ns_steps", || format!("must be below 100, got {}", c.ns_steps))?;
        check(fallback.curvature_request().is_none(), "muon", "fallback", || {
            format!("must not need curvature estimates; {} does", fallback.name())
        })?;
        check(fallback.sharpness_aware().is_none(), "muon", "fallback", || {
            "must not be sam: put sam around muon instead".to_string()
        })?;
        check(!fallback.couples(), "muon", "fallback", || {
            format!("must update each tensor on its own; {} couples a group's tensors", fallback.name())
        })?;
        Ok(Self { c, fallback })
    }

    /// The optimiser of the tensors that are not matrices.
    pub fn fallback(&self) -> &dyn UpdateRule<T> {
        &*self.fallback
    }

    /// The fallback's rate when Muon's is `lr`: its own rate, scaled as a
    /// schedule scales Muon's.
    fn fallback_lr(&self, lr: f64) -> f64 {
        let own = self.fallback.default_lr();
        if lr == self.c.lr || self.c.lr == 0.0 { own } else { lr / self.c.lr * own }
    }
}

/// Whether Muon's own update applies: a matrix.
fn is_matrix(shape: &[usize]) -> bool {
    shape.len() == 2
}

/// The Newton–Schulz orthogonalisation of the `rows × cols` matrix `g`, as
/// PyTorch's `_zeropower_via_newtonschulz` (in `T` instead of bfloat16).
fn newton_schulz<T: Float>(g: &[T], rows: usize, cols: usize, c: &MuonConfig, out: &mut [T]) {
    // The wide orientation: X is m × n with m ≤ n, so XXᵀ is the small one.
    let tall = rows > cols;
    let (m, n) = if tall { (cols, rows) } else { (rows, cols) };
    let mut x = pooled_vec::<T>(m * n);
    if tall {
        x.iter_mut().enumerate().for_each(|(k, x)| *x = g[(k % n) * cols + k / n]);
    } else {
        x.copy_from_slice(g);
    }
    let norm = x.iter().fold(T::zero(), |s, &v| s + v * v).sqrt();
    let eps = T::of(c.eps);
    let norm = if norm < eps { eps } else { norm };
    x.iter_mut().for_each(|v| *v /= norm);
    let (a, b, cc) = (T::of(c.ns_coefficients.0), T::of(c.ns_coefficients.1), T::of(c.ns_coefficients.2));
    let (mut gram, mut square, mut next) = (pooled_vec::<T>(m * m), pooled_vec::<T>(m * m), pooled_vec::<T>(m * n));
    for _ in 0..c.ns_steps {
        matmul_into(&mut gram, Mat::new(&x, m, n), Mat::new(&x, m, n).t(), false);
        // addmm(A, A, A, beta=b, alpha=c) = b·A + c·(A·A), into `square`
        matmul_into(&mut square, Mat::new(&gram, m, m), Mat::new(&gram, m, m), false);
        for (s, &q) in square.iter_mut().zip(&gram) {
            *s = cc * *s + b * q;
        }
        // addmm(X, B, X, beta=a) = a·X + B·X
        matmul_into(&mut next, Mat::new(&square, m, m), Mat::new(&x, m, n), false);
        for (v, &w) in x.iter_mut().zip(&next) {
            *v = w + a * *v;
        }
    }
    if tall {
        out.iter_mut().enumerate().for_each(|(k, o)| *o = x[(k % cols) * n + k / cols]);
    } else {
        out.copy_from_slice(&x);
    }
    [x, gram, square, next].into_iter().for_each(recycle);
}

impl<T: Float> UpdateRule<T> for Muon<T> {
    fn name(&self) -> &'static str {
        "muon"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        if is_matrix(shape) { &["momentum_buffer"] } else { self.fallback.slots(shape) }
    }

    fn scalars(&self, shape: &[usize]) -> &'static [&'static str] {
        if is_matrix(shape) { &[] } else { self.fallback.scalars(shape) }
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        if is_matrix(shape) {
            let len = shape.iter().product();
            State {
                shape: shape.to_vec(),
                step: 0,
                slots: vec![crate::platform::filled_vec(len, T::zero())],
                scalars: vec![],
            }
        } else {
            self.fallback.init(self.fallback_lr(lr), shape)
        }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let &[rows, cols] = &state.shape[..] else {
            return self.fallback.update(self.fallback_lr(lr), param, grad, state);
        };
        let c = self.c;
        state.step += 1;
        let [buf] = state.slots_mut::<1>();
        let (mu, one_mu) = (T::of(c.momentum), T::of(1.0 - c.momentum));
        buf.iter_mut().zip(grad).for_each(|(b, &g)| *b = lerp(*b, g, one_mu));
        let mut direction = pooled_vec::<T>(buf.len());
        if c.nesterov {
            direction.iter_mut().zip(grad).zip(buf.iter()).for_each(|((d, &g), &b)| *d = lerp(g, b, mu));
        } else {
            direction.copy_from_slice(buf);
        }
        let mut o = pooled_vec::<T>(buf.len());
        newton_schulz(&direction, rows, cols, &c, &mut o);
        recycle(direction);
        let adjusted = T::of(-(lr * c.adjust_lr_fn.factor(rows, cols)));
        let decay = T::of(1.0 - lr * c.weight_decay);
        for (p, &o) in param.iter_mut().zip(&o) {
            *p *= decay;
            // `add_(o, alpha=…)`: one fused multiply-add, as ATen's vector kernel.
            *p = adjusted.mul_add(o, *p);
        }
        recycle(o);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.c.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.c.momentum = momentum;
        true
    }
}
