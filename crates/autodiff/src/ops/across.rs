//! `sum_across`: the element-wise sum of a value over replicas of one
//! computation (the processes of a data-parallel run), as a differentiable
//! op. The replicas are behind the [`Across`] trait, so this crate knows
//! nothing of how they talk.
//!
//! Every replica computes `y = Σ_r x_r` and backpropagates its own loss
//! `L_r`; the gradient of the total loss `Σ_r L_r` with respect to `x_r` is
//! `Σ_r' ∂L_r'/∂y`, the same sum applied to the incoming gradients. The sum
//! is linear and its own adjoint, so the rule is the op itself and
//! derivatives of every order follow.

use crate::Var;
use gradus_tensor::{Float, Tensor};
use std::fmt;
use std::rc::Rc;

/// A group of replicas that can sum values element-wise among themselves:
/// every replica passes its values and receives the sum over all of them.
/// Every replica must call it at the same point of its computation.
pub trait Across: fmt::Debug {
    /// Replaces `values` with their element-wise sum over the replicas.
    fn sum(&self, values: &mut [f64]);
}

/// `k` replicas that all hold the same values: the sum is `k` times the
/// value. `Copies(1)` is one process on its own; larger `k` stands in for a
/// group in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copies(pub usize);

impl Across for Copies {
    fn sum(&self, values: &mut [f64]) {
        let k = self.0 as f64;
        values.iter_mut().for_each(|v| *v *= k);
    }
}

fn summed<T: Float>(group: &dyn Across, x: &Tensor<T>) -> Tensor<T> {
    let mut values: Vec<f64> = x.contiguous().to_vec().into_iter().map(Float::as_f64).collect();
    group.sum(&mut values);
    Tensor::from_vec(values.into_iter().map(T::of).collect(), x.shape()).expect("same length as x")
}

impl<T: Float> Var<T> {
    /// The element-wise sum of this value over the replicas of `group`
    /// (summed in f64), differentiable: its backward sums the incoming
    /// gradients over the group.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use gradus_autodiff::{Across, Copies, Tape};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap());
    /// let group: Rc<dyn Across> = Rc::new(Copies(3));
    /// let y = x.sum_across(&group);
    /// assert_eq!(y.value().to_vec(), vec![3.0, 6.0]);
    /// let g = y.sum(.., false).backward().unwrap();
    /// assert_eq!(g.get(&x).unwrap().to_vec(), vec![3.0, 3.0]);
    /// ```
    pub fn sum_across(&self, group: &Rc<dyn Across>) -> Var<T> {
        let value = summed(&**group, self.value());
        let group = Rc::clone(group);
        crate::var::record("sum_across", value, &[self], move |_, _, g| smallvec::smallvec![Some(g.sum_across(&group))])
    }
}
