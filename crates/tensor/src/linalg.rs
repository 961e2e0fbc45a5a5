//! Dense linear algebra through faer: solve, Cholesky, and the symmetric
//! eigendecomposition (for Newton's method and Hessian analysis).

use crate::error::{Result, TensorError};
use crate::simd_state::after_faer;
use crate::{Float, Tensor};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};

fn square<T: Float>(op: &'static str, a: &Tensor<T>) -> Result<(Tensor<T>, usize)> {
    if a.rank() != 2 || a.shape()[0] != a.shape()[1] {
        return Err(TensorError::InvalidArgument {
            op,
            reason: format!("needs a square matrix, got shape {:?}", a.shape()),
        });
    }
    Ok((a.contiguous(), a.shape()[0]))
}

fn view<T: Float>(t: &Tensor<T>, rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(t.as_slice().expect("contiguous"), rows, cols)
}

fn to_tensor<T: Float>(m: MatRef<'_, T>, shape: &[usize]) -> Tensor<T> {
    let (rows, cols) = (m.nrows(), m.ncols());
    let mut data = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            data.push(m[(i, j)]);
        }
    }
    Tensor::from_parts(data, shape)
}

impl<T: Float> Tensor<T> {
    /// Solves `self · x = b` for a square `self` by LU with partial
    /// pivoting; `b` is a vector `[n]` or a matrix `[n, k]`. Never inverts.
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] if `self` is not square or `b` does
    /// not have `n` rows; [`TensorError::Singular`] if a pivot is zero or the
    /// solution is not finite.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let h = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, 4.0], &[2, 2]).unwrap();
    /// let g = Tensor::from_vec(vec![2.0f64, 2.0], &[2]).unwrap();
    /// assert_eq!(h.solve(&g).unwrap().to_vec(), vec![1.0, 0.5]);
    /// ```
    pub fn solve(&self, b: &Self) -> Result<Self> {
        let op = "solve";
        let (a, n) = square(op, self)?;
        let vector = b.rank() == 1;
        if !(b.rank() == 1 || b.rank() == 2) || b.shape()[0] != n {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: self.shape().to_vec(),
                rhs: b.shape().to_vec(),
                reason: format!("right-hand side needs shape [{n}] or [{n}, k]"),
            });
        }
        let k = if vector { 1 } else { b.shape()[1] };
        let b = b.contiguous();
        let lu = view(&a, n, n).partial_piv_lu();
        if let Some(pivot) = (0..n).find(|&i| lu.U()[(i, i)] == T::zero()) {
            return Err(TensorError::Singular { op, pivot });
        }
        let x: Mat<T> = lu.solve(view(&b, n, k));
        after_faer(faer::get_global_parallelism());
        let x = to_tensor(x.as_ref(), b.shape());
        if x.to_vec().iter().any(|v| !v.is_finite()) {
            return Err(TensorError::Singular { op, pivot: n.saturating_sub(1) });
        }
        Ok(x)
    }

    /// The lower-triangular Cholesky factor L with `self = L Lᵀ`, reading
    /// the lower triangle of a symmetric `self`.
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] if not square;
    /// [`TensorError::NotPositiveDefinite`] if it is not positive definite.
    pub fn cholesky(&self) -> Result<Self> {
        let op = "cholesky";
        let (a, n) = square(op, self)?;
        let llt = view(&a, n, n).llt(Side::Lower);
        after_faer(faer::get_global_parallelism());
        let llt = llt.map_err(|_| TensorError::NotPositiveDefinite { op })?;
        Ok(to_tensor(llt.L(), &[n, n]))
    }

    /// Eigenvalues (ascending) and eigenvectors (the columns of the second
    /// tensor) of a symmetric `self`, reading its lower triangle, as
    /// `torch.linalg.eigh`.
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] if not square;
    /// [`TensorError::NoConvergence`] if the iteration fails (e.g. NaN input).
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// // The Hessian of x₁² − x₂²: a saddle.
    /// let h = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, -2.0], &[2, 2]).unwrap();
    /// let (values, _) = h.eigh().unwrap();
    /// assert_eq!(values.to_vec(), vec![-2.0, 2.0]);
    /// ```
    pub fn eigh(&self) -> Result<(Self, Self)> {
        let op = "eigh";
        let (a, n) = square(op, self)?;
        if a.to_vec().iter().any(|v| !v.is_finite()) {
            return Err(TensorError::NoConvergence { op });
        }
        let evd = view(&a, n, n).self_adjoint_eigen(Side::Lower);
        after_faer(faer::get_global_parallelism());
        let evd = evd.map_err(|_| TensorError::NoConvergence { op })?;
        let values: Vec<T> = (0..n).map(|i| evd.S()[i]).collect();
        Ok((Tensor::from_parts(values, &[n]), to_tensor(evd.U(), &[n, n])))
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn cholesky_reconstructs_and_rejects_indefinite() {
        let a = Tensor::from_vec(vec![4.0f64, 2.0, 2.0, 3.0], &[2, 2]).unwrap();
        let l = a.cholesky().unwrap();
        let back = l.matmul(&l.t()).to_vec();
        for (x, y) in back.iter().zip(a.to_vec()) {
            assert!((x - y).abs() < 1e-12);
        }
        assert_eq!(l.get(&[0, 1]), 0.0);
        let saddle = Tensor::from_vec(vec![2.0f64, 0.0, 0.0, -2.0], &[2, 2]).unwrap();
        assert_eq!(saddle.cholesky().unwrap_err().to_string(), "cholesky: matrix is not positive definite");
    }

    #[test]
    fn solve_reports_singular_and_bad_shapes() {
        let a = Tensor::from_vec(vec![1.0f64, 2.0, 2.0, 4.0], &[2, 2]).unwrap();
        let b = Tensor::from_vec(vec![1.0f64, 1.0], &[2]).unwrap();
        assert!(matches!(a.solve(&b), Err(crate::TensorError::Singular { .. })));
        assert!(a.solve(&Tensor::ones(&[3])).is_err());
        assert!(Tensor::<f64>::ones(&[2, 3]).solve(&b).is_err());
    }

    #[test]
    fn eigh_diagonalises() {
        let a = Tensor::from_vec(vec![2.0f64, 1.0, 1.0, 2.0], &[2, 2]).unwrap();
        let (w, v) = a.eigh().unwrap();
        assert!((w.get(&[0]) - 1.0).abs() < 1e-12 && (w.get(&[1]) - 3.0).abs() < 1e-12);
        let av = a.matmul(&v);
        let vw = &v * &w;
        for (x, y) in av.to_vec().iter().zip(vw.to_vec()) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
