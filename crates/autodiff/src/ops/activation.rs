//! The activations as differentiable ops. Most are
//! composed from `where`, `sigmoid`, `tanh`, `erf` and `softplus`, so their
//! higher derivatives come from those rules; each is written so that no
//! branch overflows at ±1000 (f64) or ±80 (f32), since a masked-out branch
//! that is infinite would still poison its gradient with 0·∞.

use super::through_output;
use crate::Var;
use crate::var::record;
use gradus_tensor::{Cost, Float, Tensor};

impl<T: Float> Var<T> {
    /// max(0, z); gradient 1 for z > 0, 0 otherwise (0 at z = 0, as PyTorch).
    /// NaN stays NaN, as in PyTorch: a model whose weights went NaN must
    /// not look healthy behind its rectifiers.
    ///
    /// One pass forward; backward, the gradient where the output is not
    /// ≤ 0 (PyTorch's `threshold_backward`), in one pass over the gradient
    /// and the output.
    pub fn relu(&self) -> Self {
        let value = self.value.map_with(Cost::Cheap, |z| if z <= T::zero() { T::zero() } else { z });
        record("relu", value, &[self], |_, out, g| {
            let pass = |g: T, y: T| if y <= T::zero() { T::zero() } else { g };
            smallvec::smallvec![Some(through_output(g, out, pass, || {
                let keep = out.value.map_with(Cost::Cheap, |y| y > T::zero() || y.is_nan());
                Var::select(&keep, g, &Var::constant(Tensor::zeros(&[])))
            }))]
        })
    }

    /// z for z > 0, `slope`·z otherwise.
    pub fn leaky_relu(&self, slope: T) -> Self {
        Var::select(&self.value.gt_scalar(T::zero()), self, &self.mul_scalar(slope))
    }

    /// The generalised rectifier max(0, z) + α·min(0, z), with `alpha` a
    /// variable that may require gradients (PReLU; α = −1 is |z|, α = 0.01
    /// leaky ReLU). `alpha` broadcasts against `self`.
    #[track_caller]
    pub fn prelu(&self, alpha: &Self) -> Self {
        Var::select(&self.value.gt_scalar(T::zero()), self, &self.mul(alpha))
    }

    /// Swish z·σ(βz), with `beta` a variable that may require gradients.
    #[track_caller]
    pub fn swish(&self, beta: &Self) -> Self {
        self.mul(&self.mul(beta).sigmoid())
    }

    /// SiLU z·σ(z) (swish with β = 1).
    pub fn silu(&self) -> Self {
        self.mul(&self.sigmoid())
    }

    /// softplus (1/β)·ln(1 + e^{βz}), linear where βz > `threshold`, as
    /// `torch.nn.functional.softplus`; its derivative is σ(βz).
    pub fn softplus(&self, beta: T, threshold: T) -> Self {
        let smooth = self.value.map(move |z| beta * z).softplus();
        let value =
            self.value.zip_map(&smooth, "softplus", move |z, s| if beta * z > threshold { z } else { s / beta });
        record("softplus", value, &[self], move |x, _, g| {
            let slope = x[0].mul_scalar(beta).sigmoid();
            let linear = x[0].value.map(move |z| if beta * z > threshold { T::one() } else { T::zero() });
            let linear = linear.gt_scalar(T::zero());
            let one = Var::constant(Tensor::ones(&[]));
            smallvec::smallvec![Some(g.mul(&Var::select(&linear, &one, &slope)))]
        })
    }

    /// Mish z·tanh(softplus(z)).
    pub fn mish(&self) -> Self {
        self.mul(&self.softplus(T::one(), T::of(20.0)).tanh())
    }

    /// GELU, exact: z·Φ(z) = ½z(1 + erf(z/√2)).
    pub fn gelu(&self) -> Self {
        let cdf = self.mul_scalar(T::of(std::f64::consts::FRAC_1_SQRT_2)).erf().add_scalar(T::one());
        self.mul(&cdf).mul_scalar(T::of(0.5))
    }

    /// GELU, tanh approximation: ½z(1 + tanh(√(2/π)(z + 0.044715 z³))).
    pub fn gelu_tanh(&self) -> Self {
        let k = T::of((2.0 / std::f64::consts::PI).sqrt());
        let inner = self.add(&self.powi(3).mul_scalar(T::of(0.044715))).mul_scalar(k);
        self.mul(&inner.tanh().add_scalar(T::one())).mul_scalar(T::of(0.5))
    }

    /// ELU: z for z > 0, α(eᶻ − 1) otherwise; the derivative at 0 is α, as
    /// PyTorch. The exponential is taken of z where z ≤ 0 and of 0 elsewhere,
    /// so the unused branch stays finite.
    pub fn elu(&self, alpha: T) -> Self {
        let positive = self.value.gt_scalar(T::zero());
        let zero = Var::constant(Tensor::zeros(&[]));
        let negative = Var::select(&positive, &zero, self).expm1().mul_scalar(alpha);
        Var::select(&positive, self, &negative)
    }

    /// SELU: λ·ELU(z, α) with Klambauer et al.'s α ≈ 1.6733, λ ≈ 1.0507.
    pub fn selu(&self) -> Self {
        const ALPHA: f64 = 1.673_263_242_354_377_3;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        self.elu(T::of(ALPHA)).mul_scalar(T::of(SCALE))
    }

    /// log σ(z) = −softplus(−z), stable for large |z|.
    pub fn logsigmoid(&self) -> Self {
        self.neg().softplus(T::one(), T::infinity()).neg()
    }

    /// Clamps into [min, max] (`torch.nn.Hardtanh`); unlike `clamp`, the
    /// gradient passes only strictly inside (min < z < max), as PyTorch.
    pub fn hardtanh(&self, min: T, max: T) -> Self {
        record("hardtanh", self.value.clamp(min, max), &[self], move |x, _, g| {
            let inside = x[0].value.map(|v| if v > min && v < max { T::one() } else { T::zero() });
            smallvec::smallvec![Some(g.mul(&Var::constant(inside)))]
        })
    }
}
