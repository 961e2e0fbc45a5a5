//! Adafactor (Shazeer & Stern, 2018, "Adafactor: Adaptive Learning Rates
//! with Sublinear Memory Cost"), as `torch.optim.Adafactor`: the second
//! moment of a matrix kept as one row and one column average.

use crate::error::{Result, check, check_common};
use crate::platform::{Float, filled_vec};
use crate::rule::{State, UpdateRule, lerp};

/// The hyper-parameters of [`Adafactor`], PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdafactorConfig {
    /// Learning rate η (1e-2): the largest relative step, ρₜ = min(η, 1/√t).
    pub lr: f64,
    /// c (−0.8): the second moment's weight at step t is 1 − β₂ₜ = t^c.
    pub beta2_decay: f64,
    /// (ε₁, ε₂) = (none, 1e-3): ε₁ floors the second moment (its square
    /// does) and the rows' mean, `None` for the float type's epsilon; ε₂
    /// floors the parameter's RMS in the step size.
    pub eps: (Option<f64>, f64),
    /// d (1.0): the update's RMS is clipped to d.
    pub d: f64,
    /// λ (0), decoupled: θ ← θ(1 − ηλ).
    pub weight_decay: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
}

impl Default for AdafactorConfig {
    fn default() -> Self {
        Self { lr: 1e-2, beta2_decay: -0.8, eps: (None, 1e-3), d: 1.0, weight_decay: 0.0, maximize: false }
    }
}

/// Adafactor as `torch.optim.Adafactor`, operation for operation. At step
/// t, with ρₜ = min(η, t^−½) and α = max(ε₂, RMS(θ))·ρₜ:
/// θ ← θ(1 − ηλ); the second moment v ← lerp(v, g², t^c), where a tensor of
/// two or more dimensions keeps only its rows' means R ← lerp(R, mean_j g²,
/// t^c) and columns' C ← lerp(C, mean_i g², t^c) over its last two axes
/// and v̂ = R Cᵀ / max(ε₁, mean R); u = g/√max(v̂, ε₁²);
/// θ ← θ − α/max(1, RMS(u)/d)·u. A matrix of m × n keeps m + n numbers of
/// state instead of Adam's 2mn: PyTorch's names `row_var` and `col_var`
/// (`variance` for a vector).
///
/// ```
/// use gradus_optim::{Adafactor, AdafactorConfig, Optimizer};
/// let mut opt = Optimizer::<f64>::new(Adafactor::new(AdafactorConfig::default()).unwrap());
/// let mut w = vec![1.0; 6];
/// opt.update_shaped(0, &[2, 3], &mut w, &[0.5; 6]).unwrap();
/// // The first step moves each element by α = RMS(θ)·min(η, 1) = 0.01.
/// assert!(w.iter().all(|&x| (x - 0.99).abs() < 1e-12));
/// assert_eq!(opt.state(0).unwrap().slots.iter().map(Vec::len).collect::<Vec<_>>(), [2, 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adafactor {
    c: AdafactorConfig,
}

impl Adafactor {
    /// Validates `config` (PyTorch's checks).
    ///
    /// # Errors
    /// A negative rate, weight decay or ε, a positive `beta2_decay`, or
    /// d < 1.
    pub fn new(config: AdafactorConfig) -> Result<Self> {
        let c = config;
        check_common("adafactor", c.lr, c.weight_decay, c.eps.1)?;
        if let Some(eps1) = c.eps.0 {
            check(eps1 >= 0.0, "adafactor", "eps", || format!("ε₁ must be >= 0, got {eps1}"))?;
        }
        check(c.beta2_decay <= 0.0, "adafactor", "beta2_decay", || format!("must be <= 0, got {}", c.beta2_decay))?;
        check(c.d >= 1.0, "adafactor", "d", || format!("must be >= 1, got {}", c.d))?;
        Ok(Self { c })
    }
}

/// A shape's factored view: (leading batch, rows, columns) for two or more
/// dimensions, `None` for a vector or a scalar.
fn factored(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match shape {
        [lead @ .., rows, cols] => Some((lead.iter().product(), *rows, *cols)),
        _ => None,
    }
}

/// ‖x‖₂ as `torch.linalg.vector_norm` sums it over fewer elements than a
/// vector register holds: each square added in one fused multiply-add (on
/// longer rows PyTorch's lanes sum in another order, within an ulp).
#[inline(always)]
fn norm<T: Float>(x: &[T]) -> T {
    x.iter().fold(T::zero(), |s, &v| v.mul_add(v, s)).sqrt()
}

impl<T: Float> UpdateRule<T> for Adafactor {
    fn name(&self) -> &'static str {
        "adafactor"
    }

    fn default_lr(&self) -> f64 {
        self.c.lr
    }

    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        if factored(shape).is_some() { &["row_var", "col_var"] } else { &["variance"] }
    }

    fn init(&self, _lr: f64, shape: &[usize]) -> State<T> {
        let slots = match factored(shape) {
            Some((lead, rows, cols)) => vec![filled_vec(lead * rows, T::zero()), filled_vec(lead * cols, T::zero())],
            None => vec![filled_vec(shape.iter().product(), T::zero())],
        };
        State { shape: shape.to_vec(), step: 0, slots, scalars: Vec::new() }
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        // Compiled with FMA where the CPU has it: the norms' and the last
        // step's fused multiply-adds are then instructions, not libm calls.
        crate::platform::with_avx2(
            #[inline(always)]
            || self.step(lr, param, grad, state),
        );
    }
}

impl Adafactor {
    #[inline(always)]
    fn step<T: Float>(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        let c = self.c;
        let n = param.len();
        assert_eq!(grad.len(), n, "gradient and parameter lengths differ");
        state.step += 1;
        let t = state.step as f64;
        let weight = T::of(t.powf(c.beta2_decay));
        let rho = lr.min(1.0 / t.powf(0.5));
        let alpha = c.eps.1.max(norm(param).as_f64() / (n as f64).powf(0.5)) * rho;
        let eps1 = c.eps.0.unwrap_or(T::epsilon().as_f64());
        // ε₁² squared in f64, as PyTorch squares the Python float.
        let (floor, eps1) = (T::of(eps1 * eps1), T::of(eps1));
        if c.weight_decay != 0.0 {
            let decay = T::of(1.0 - lr * c.weight_decay);
            param.iter_mut().for_each(|p| *p *= decay);
        }
        // u = g (negated when maximising), then its second-moment estimate,
        // then u = g/√max(v̂, ε₁²) in place.
        let mut u = crate::platform::pooled_vec::<T>(n);
        if c.maximize {
            u.iter_mut().zip(grad).for_each(|(u, &g)| *u = -g);
        } else {
            u.copy_from_slice(grad);
        }
        let mut estimate = crate::platform::pooled_vec::<T>(n);
        match factored(&state.shape) {
            Some((lead, rows, cols)) => {
                let [row_var, col_var] = state.slots_mut::<2>();
                let mut col_squares = crate::platform::pooled_vec::<T>(cols);
                for b in 0..lead {
                    let block = &u[b * rows * cols..(b + 1) * rows * cols];
                    let r = &mut row_var[b * rows..(b + 1) * rows];
                    // Means of g² along rows and down columns as torch
                    // takes them: ‖·‖², then divided by the count.
                    col_squares.iter_mut().for_each(|s| *s = T::zero());
                    for (i, r) in r.iter_mut().enumerate() {
                        let row = &block[i * cols..(i + 1) * cols];
                        let m = norm(row);
                        *r = lerp(*r, m * m / T::of(cols as f64), weight);
                        for (s, &g) in col_squares.iter_mut().zip(row) {
                            *s = g.mul_add(g, *s);
                        }
                    }
                    let col = &mut col_var[b * cols..(b + 1) * cols];
                    for (cv, &s) in col.iter_mut().zip(&col_squares) {
                        let m = s.sqrt();
                        *cv = lerp(*cv, m * m / T::of(rows as f64), weight);
                    }
                    let mean = r.iter().fold(T::zero(), |s, &x| s + x) / T::of(rows as f64);
                    let mean = if mean < eps1 { eps1 } else { mean };
                    let out = &mut estimate[b * rows * cols..(b + 1) * rows * cols];
                    for (&ri, out) in r.iter().zip(out.chunks_exact_mut(cols)) {
                        out.iter_mut().zip(col.iter()).for_each(|(o, &cj)| *o = ri * cj / mean);
                    }
                }
                crate::platform::recycle(col_squares);
            }
            None => {
                let [variance] = state.slots_mut::<1>();
                for ((v, e), &g) in variance.iter_mut().zip(estimate.iter_mut()).zip(&u) {
                    *v = lerp(*v, g * g, weight);
                    *e = *v;
                }
            }
        }
        for (u, &v) in u.iter_mut().zip(&estimate) {
            let v = if v < floor { floor } else { v };
            *u = T::one() / v.sqrt() * *u;
        }
        crate::platform::recycle(estimate);
        let denom = 1.0f64.max(norm(&u).as_f64() / ((n as f64).powf(0.5) * c.d));
        let step = T::of(-alpha / denom);
        // `add_(u, alpha=…)`: one fused multiply-add, as ATen's vector kernel.
        for (p, &u) in param.iter_mut().zip(&u) {
            *p = step.mul_add(u, *p);
        }
        crate::platform::recycle(u);
    }
}
