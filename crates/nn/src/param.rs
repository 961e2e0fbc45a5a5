//! `Param` (a trainable tensor owned by a layer) and `Buffer` (a tensor a
//! layer keeps but does not train, such as BatchNorm's running statistics).
//!
//! Both live outside any tape. A forward pass asks a parameter for its leaf
//! on the current tape ([`Param::var`]); the optimiser later replaces the
//! value ([`Param::set`]). Interior mutability lets a whole model be shared
//! (`&model`) by the forward pass, the optimiser and a checkpoint writer.

use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_PARAM: AtomicU64 = AtomicU64::new(0);

/// Identifies a parameter for the whole run: optimiser state and gradients
/// are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub u64);

impl fmt::Display for ParamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "param#{}", self.0)
    }
}

/// A trainable tensor.
///
/// # Examples
/// ```
/// use gradus_autodiff::Tape;
/// use gradus_nn::Param;
/// use gradus_tensor::Tensor;
/// let w = Param::new(Tensor::scalar(3.0f64));
/// let tape = Tape::new();
/// let v = w.var(&tape);
/// let grads = (&v * &v).backward().unwrap();
/// assert_eq!(w.grad(&tape, &grads).unwrap().item(), 6.0);
/// w.freeze(true);
/// assert!(!w.var(&Tape::new()).requires_grad());
/// ```
pub struct Param<T: Float> {
    id: ParamId,
    value: RefCell<Tensor<T>>,
    frozen: Cell<bool>,
}

impl<T: Float> Param<T> {
    /// A new parameter with a fresh id.
    pub fn new(value: Tensor<T>) -> Self {
        Self {
            id: ParamId(NEXT_PARAM.fetch_add(1, Ordering::Relaxed)),
            value: RefCell::new(value),
            frozen: Cell::new(false),
        }
    }

    /// Its id.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value (a cheap shared handle).
    pub fn value(&self) -> Tensor<T> {
        self.value.borrow().clone()
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, Tensor<T>> {
        self.value.borrow()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.value.borrow().shape().to_vec()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.value.borrow().numel()
    }

    /// Replaces the value.
    ///
    /// # Panics
    /// If the new value's shape differs: a parameter keeps its shape.
    #[track_caller]
    pub fn set(&self, value: Tensor<T>) {
        let mut slot = self.value.borrow_mut();
        assert_eq!(value.shape(), slot.shape(), "Param::set: {} has shape {:?}", self.id, slot.shape());
        *slot = value;
    }

    /// Updates the value in place (copy-on-write if it is shared).
    pub fn update(&self, f: impl FnOnce(&mut [T])) {
        f(&mut self.data_mut());
    }

    /// Borrows the elements for writing in place (copy-on-write if the value
    /// is shared), in row-major order; the shape stays. To update several
    /// parameters at once, as an optimiser's step does.
    ///
    /// # Panics
    /// If the value is borrowed already.
    pub fn data_mut(&self) -> RefMut<'_, [T]> {
        RefMut::map(self.value.borrow_mut(), |t| t.data_mut())
    }

    /// Freezes (`true`) or unfreezes the parameter: a frozen parameter
    /// enters forward passes as a constant and receives no gradient.
    pub fn freeze(&self, frozen: bool) {
        self.frozen.set(frozen);
    }

    /// Whether it is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.get()
    }

    /// The parameter in a forward pass on `tape`: the same leaf however
    /// often it is used on that tape (gradients add up), or a constant when
    /// frozen.
    pub fn var(&self, tape: &Tape<T>) -> Var<T> {
        if self.is_frozen() {
            return Var::constant(self.value());
        }
        tape.keyed_leaf(self.id.0, || self.value())
    }

    /// Makes `var` stand for this parameter in forward passes on `tape` (a
    /// functional call: gradients and Hessians with respect to `var`).
    ///
    /// # Errors
    /// If `var` is not recorded on `tape`.
    pub fn bind(&self, tape: &Tape<T>, var: &Var<T>) -> gradus_autodiff::Result<()> {
        tape.bind_key(self.id.0, var)
    }

    /// The id of its leaf on `tape`, if a forward pass there used it (the
    /// key under which a backward pass over `tape` keeps its gradient).
    pub fn leaf_id(&self, tape: &Tape<T>) -> Option<gradus_autodiff::VarId> {
        tape.keyed(self.id.0)?.id()
    }

    /// Its gradient from a backward pass over `tape`, if it took part.
    pub fn grad(&self, tape: &Tape<T>, grads: &gradus_autodiff::Gradients<T>) -> Option<Tensor<T>> {
        grads.get_id(self.leaf_id(tape)?).cloned()
    }
}

impl<T: Float> fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({}, shape {:?}{})", self.id, self.shape(), if self.is_frozen() { ", frozen" } else { "" })
    }
}

/// A tensor a layer keeps and saves but does not train (running statistics).
pub struct Buffer<T: Float>(RefCell<Tensor<T>>);

impl<T: Float> Buffer<T> {
    /// A buffer holding `value`.
    pub fn new(value: Tensor<T>) -> Self {
        Self(RefCell::new(value))
    }

    /// The current value (a cheap shared handle).
    pub fn value(&self) -> Tensor<T> {
        self.0.borrow().clone()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.0.borrow().shape().to_vec()
    }

    /// Replaces the value.
    ///
    /// # Panics
    /// If the new value's shape differs.
    #[track_caller]
    pub fn set(&self, value: Tensor<T>) {
        let mut slot = self.0.borrow_mut();
        assert_eq!(value.shape(), slot.shape(), "Buffer::set: buffer has shape {:?}", slot.shape());
        *slot = value;
    }
}

impl<T: Float> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buffer(shape {:?})", self.shape())
    }
}
