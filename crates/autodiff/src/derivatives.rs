//! Whole derivatives from the tape: `jacobian`, `hessian`, and `hvp` (a
//! Hessian-vector product without forming H), all built on [`grad`] with
//! `create_graph`.

use crate::{AutodiffError, GradOptions, Result, Tape, Var, grad};
use gradus_tensor::{Float, Tensor};

/// The Jacobian of `f` at `x`, flattened to `[m, n]` (m output elements, n
/// input elements), one vector–Jacobian product per row.
///
/// # Errors
/// If the backward passes fail.
///
/// # Examples
/// ```
/// use gradus_autodiff::jacobian;
/// use gradus_tensor::Tensor;
/// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
/// let j = jacobian(|v| v.square(), &x).unwrap(); // diag(2x)
/// assert_eq!(j.to_vec(), vec![2.0, 0.0, 0.0, 4.0]);
/// ```
pub fn jacobian<T: Float>(f: impl Fn(&Var<T>) -> Var<T>, x: &Tensor<T>) -> Result<Tensor<T>> {
    let tape = Tape::new();
    let v = tape.leaf(x.clone());
    let out = f(&v);
    Ok(vjp_rows(&out.flatten(), &[&v])?.remove(0))
}

/// The Jacobian of `out` with respect to each of `inputs`, one `[m, n_k]`
/// matrix per input (m output elements, n_k input elements), by one
/// vector–Jacobian product per output element; zeros where `out` does not
/// depend on an input.
pub(crate) fn vjp_rows<T: Float>(out: &Var<T>, inputs: &[&Var<T>]) -> Result<Vec<Tensor<T>>> {
    let m = out.value().numel();
    let mut rows: Vec<Vec<T>> = inputs.iter().map(|v| vec![T::zero(); m * v.value().numel()]).collect();
    let opts = GradOptions { retain_graph: true, allow_unused: true, ..Default::default() };
    for i in 0..m {
        if !out.requires_grad() {
            break;
        }
        let mut seed = vec![T::zero(); m];
        seed[i] = T::one();
        let seed = Tensor::from_vec(seed, out.shape()).expect("same length");
        for (k, g) in grad(&[out], Some(&[seed]), inputs, opts)?.into_iter().enumerate() {
            if let Some(g) = g {
                let n = inputs[k].value().numel();
                rows[k][i * n..(i + 1) * n].copy_from_slice(&g.value().to_vec());
            }
        }
    }
    rows.into_iter().zip(inputs).map(|(r, v)| Ok(Tensor::from_vec(r, &[m, v.value().numel()])?)).collect()
}

/// The gradient of a scalar `f` at `x`, recorded so it can be
/// differentiated again, and the tape and leaf it was taken on.
fn recorded_gradient<T: Float>(f: &impl Fn(&Var<T>) -> Var<T>, x: &Tensor<T>) -> Result<(Var<T>, Var<T>, Var<T>)> {
    let tape = Tape::new();
    let v = tape.leaf(x.clone());
    let y = f(&v);
    if y.value().numel() != 1 {
        return Err(AutodiffError::NotScalar { shape: y.shape().to_vec() });
    }
    let opts = GradOptions { create_graph: true, allow_unused: true, ..Default::default() };
    let g = grad(&[&y], None, &[&v], opts)?.remove(0).unwrap_or_else(|| Var::constant(Tensor::zeros(x.shape())));
    Ok((v, y, g))
}

/// The Hessian of a scalar `f` at `x`, flattened to `[n, n]`, as the
/// Jacobian of the recorded gradient (gradients of gradients).
///
/// # Errors
/// If `f` is not scalar or a backward pass fails.
///
/// # Examples
/// ```
/// use gradus_autodiff::hessian;
/// use gradus_tensor::Tensor;
/// // f = x₁² − x₂²: H = diag(2, −2).
/// let f = |v: &gradus_autodiff::Var<f64>| {
///     let sq = v.square();
///     sq.narrow(0, 0, 1).sub(&sq.narrow(0, 1, 1)).sum(.., false)
/// };
/// let h = hessian(f, &Tensor::zeros(&[2])).unwrap();
/// assert_eq!(h.to_vec(), vec![2.0, 0.0, 0.0, -2.0]);
/// ```
pub fn hessian<T: Float>(f: impl Fn(&Var<T>) -> Var<T>, x: &Tensor<T>) -> Result<Tensor<T>> {
    Ok(gradient_and_hessian(f, x)?.1)
}

/// The gradient and the Hessian (`[n, n]`) of a scalar `f` at `x`, from one
/// recorded gradient.
pub(crate) fn gradient_and_hessian<T: Float>(
    f: impl Fn(&Var<T>) -> Var<T>,
    x: &Tensor<T>,
) -> Result<(Tensor<T>, Tensor<T>)> {
    let (v, _, g) = recorded_gradient(&f, x)?;
    let h = vjp_rows(&g.flatten(), &[&v])?.remove(0);
    Ok((g.into_value(), h))
}

/// The value, gradient and Hessian-vector product H·`direction` of a scalar
/// `f` at `x`, with two backward passes and without forming H (the cost of
/// Newton–CG and of Pearlmutter's trick).
///
/// # Errors
/// If `f` is not scalar, `direction`'s shape differs from `x`'s, or a
/// backward pass fails.
pub fn hvp<T: Float>(
    f: impl Fn(&Var<T>) -> Var<T>,
    x: &Tensor<T>,
    direction: &Tensor<T>,
) -> Result<(T, Tensor<T>, Tensor<T>)> {
    if direction.shape() != x.shape() {
        return Err(AutodiffError::GradShape {
            index: 0,
            expected: x.shape().to_vec(),
            got: direction.shape().to_vec(),
        });
    }
    let (v, y, g) = recorded_gradient(&f, x)?;
    let gv = g.mul(&Var::constant(direction.clone())).sum(.., false);
    let hv = if gv.requires_grad() {
        let opts = GradOptions { allow_unused: true, ..Default::default() };
        grad(&[&gv], None, &[&v], opts)?.remove(0).map_or_else(|| Tensor::zeros(x.shape()), Var::into_value)
    } else {
        Tensor::zeros(x.shape())
    };
    Ok((y.item(), g.into_value(), hv))
}
