//! `Var<T>`: a tensor value that may be recorded on a tape, and `record`,
//! the one function every differentiable op goes through.

use crate::AutodiffError;
use crate::tape::{BackwardFn, Input, InputGrads, Inputs, Node, TapeInner, anomaly_mode, is_recording};
use gradus_tensor::{Float, Tensor};
use std::fmt;
use std::rc::Rc;

/// A tensor that may be recorded on a [`Tape`](crate::Tape): a leaf that requires
/// gradients, the result of recorded operations, or a constant.
///
/// Operations on variables mirror those of [`Tensor`] and record themselves
/// when any input requires gradients (and recording is on; see
/// [`no_grad`](crate::no_grad)). Cloning is cheap (the value is shared).
pub struct Var<T: Float> {
    pub(crate) value: Tensor<T>,
    pub(crate) node: Option<(Rc<TapeInner<T>>, usize)>,
}

impl<T: Float> Clone for Var<T> {
    fn clone(&self) -> Self {
        Self { value: self.value.clone(), node: self.node.clone() }
    }
}

/// Identifies a recorded variable: its tape and its node on it. Gradients
/// are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId {
    pub(crate) tape: usize,
    pub(crate) node: usize,
}

impl<T: Float> Var<T> {
    /// A constant: never receives a gradient.
    pub fn constant(value: Tensor<T>) -> Self {
        Self { value, node: None }
    }

    pub(crate) fn tracked(value: Tensor<T>, tape: Rc<TapeInner<T>>, id: usize) -> Self {
        Self { value, node: Some((tape, id)) }
    }

    /// The value.
    #[inline]
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }

    /// The value, consuming the variable.
    pub fn into_value(self) -> Tensor<T> {
        self.value
    }

    /// The shape of the value.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// The rank of the value.
    pub fn rank(&self) -> usize {
        self.value.rank()
    }

    /// Whether gradients flow to or through this variable.
    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }

    /// The id gradients are keyed by; `None` for constants.
    pub fn id(&self) -> Option<VarId> {
        self.node.as_ref().map(|(tape, node)| VarId { tape: tape.id, node: *node })
    }

    /// The tape this variable is recorded on.
    pub fn tape(&self) -> Option<crate::Tape<T>> {
        self.node.as_ref().map(|(tape, _)| crate::Tape(Rc::clone(tape)))
    }

    /// The same value as a constant, cut from the graph (`torch.Tensor.detach`).
    pub fn detach(&self) -> Self {
        Self::constant(self.value.clone())
    }

    /// The value of a one-element variable.
    ///
    /// # Panics
    /// If it has more than one element.
    #[track_caller]
    pub fn item(&self) -> T {
        self.value.item()
    }
}

impl<T: Float> From<Tensor<T>> for Var<T> {
    fn from(value: Tensor<T>) -> Self {
        Var::constant(value)
    }
}

impl<T: Float> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some((tape, id)) => {
                let op = tape.nodes.borrow()[*id].op;
                write!(f, "Var(node {id} `{op}`, {:?})", self.value)
            }
            None => write!(f, "Var(constant, {:?})", self.value),
        }
    }
}

impl<T: Float> Var<T> {
    /// Records a custom operation (as `torch.autograd.Function`): `value`
    /// computed from `inputs` outside the tape, and `backward`, which maps
    /// (inputs, output, output gradient) to one gradient per input (`None`
    /// where not differentiable). Write the rule with `Var` operations and
    /// second derivatives work through it too. Fused losses use this.
    ///
    /// # Examples
    /// ```
    /// use gradus_autodiff::{Tape, Var};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::scalar(3.0f64));
    /// // x³ with its rule 3x²·g.
    /// let cube = Var::custom("cube", x.value().powi(3), &[&x], |x, _, g| {
    ///     vec![Some(g * &x[0].square().mul_scalar(3.0))].into()
    /// });
    /// assert_eq!(cube.backward().unwrap().get(&x).unwrap().item(), 27.0);
    /// ```
    pub fn custom(
        op: &'static str,
        value: Tensor<T>,
        inputs: &[&Var<T>],
        backward: impl Fn(&[Var<T>], &Var<T>, &Var<T>) -> InputGrads<T> + 'static,
    ) -> Var<T> {
        record(op, value, inputs, backward)
    }
}

/// Records an op producing `value` from `inputs` with its backward rule.
/// The result is a constant when no input requires gradients or recording
/// is off; then the rule is dropped unused.
pub(crate) fn record<T: Float>(
    op: &'static str,
    value: Tensor<T>,
    inputs: &[&Var<T>],
    backward: impl Fn(&[Var<T>], &Var<T>, &Var<T>) -> InputGrads<T> + 'static,
) -> Var<T> {
    if !is_recording() {
        return Var::constant(value);
    }
    let Some(tape) = inputs.iter().find_map(|v| v.node.as_ref().map(|(t, _)| Rc::clone(t))) else {
        return Var::constant(value);
    };
    let recorded: Inputs<T> = inputs
        .iter()
        .map(|v| match &v.node {
            Some((t, id)) => {
                assert!(Rc::ptr_eq(t, &tape), "{op}: {}", AutodiffError::DifferentTapes { what: op });
                Input::Node(*id)
            }
            None => Input::Constant(Box::new(v.value.clone())),
        })
        .collect();
    if anomaly_mode() && tape.anomaly.borrow().is_none() && !all_finite(&value) {
        let shapes = inputs.iter().map(|v| v.shape().to_vec()).collect();
        *tape.anomaly.borrow_mut() = Some(AutodiffError::Anomaly { phase: "forward", op, shapes });
    }
    let backward: BackwardFn<T> = Box::new(backward);
    let id = tape.push(Node { op, value: value.clone(), inputs: recorded, backward: Some(backward), released: false });
    Var::tracked(value, tape, id)
}

pub(crate) fn all_finite<T: Float>(t: &Tensor<T>) -> bool {
    t.to_vec().iter().all(|x| x.is_finite())
}
