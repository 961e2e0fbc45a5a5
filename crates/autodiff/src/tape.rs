//! The tape: an append-only list of recorded operations, each with its
//! inputs and its backward rule, and the thread-local recording switches
//! (`no_grad`, anomaly mode).
//!
//! The tape is append-only, so creation order is a topological order: a
//! backward pass walks node ids downwards.

use crate::Var;
use gradus_tensor::{Float, Tensor};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A backward rule: given the op's inputs and output as variables and the
/// gradient of the output, the gradient of each input (`None` where the op
/// is not differentiable in that input). Written with differentiable ops, so
/// running it while recording gives higher-order derivatives.
pub(crate) type BackwardFn<T> = Box<dyn Fn(&[Var<T>], &Var<T>, &Var<T>) -> InputGrads<T>>;

/// The gradients a backward rule returns, one per input (inline for up to
/// two inputs: no allocation per op).
pub type InputGrads<T> = smallvec::SmallVec<[Option<Var<T>>; 2]>;

/// The inputs of a recorded op (inline for up to two).
pub(crate) type Inputs<T> = smallvec::SmallVec<[Input<T>; 2]>;

/// An input of a recorded op: another node, or a constant value (boxed:
/// constants are rare and a tensor is large, and nodes are moved often).
pub(crate) enum Input<T: Float> {
    Node(usize),
    Constant(Box<Tensor<T>>),
}

pub(crate) struct Node<T: Float> {
    pub(crate) op: &'static str,
    pub(crate) value: Tensor<T>,
    pub(crate) inputs: Inputs<T>,
    /// `None` for leaves, and for ops whose graph was released.
    pub(crate) backward: Option<BackwardFn<T>>,
    pub(crate) released: bool,
}

/// A tape of recorded operations: a cheap handle (an `Rc`) shared by the
/// variables recorded on it; the tape is freed when the last handle and
/// variable are dropped. Make one per forward pass.
///
/// # Examples
/// ```
/// use gradus_autodiff::Tape;
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let x = tape.leaf(Tensor::scalar(3.0f64));
/// let y = &x * &x;
/// let grads = y.backward().unwrap();
/// assert_eq!(grads.get(&x).unwrap().item(), 6.0);
/// ```
#[derive(Clone)]
pub struct Tape<T: Float>(pub(crate) Rc<TapeInner<T>>);

pub(crate) struct TapeInner<T: Float> {
    pub(crate) id: usize,
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
    /// The first non-finite forward value seen in anomaly mode.
    pub(crate) anomaly: RefCell<Option<crate::AutodiffError>>,
    /// Leaves made by [`Tape::keyed_leaf`]: (key, node). A network has tens
    /// of parameters, so a linear scan beats hashing.
    pub(crate) keyed: RefCell<Vec<(u64, usize)>>,
    /// The tapped ops, once [`Tape::start_taps`] is called.
    pub(crate) taps: RefCell<Option<Vec<crate::taps::TapRecord<T>>>>,
}

/// Nodes reserved by a new tape: a small graph records without regrowing.
const INITIAL_NODES: usize = 32;

/// The largest node list kept for reuse after its tape is dropped.
const MAX_SPARE_NODES: usize = 4096;

static NEXT_TAPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static NO_GRAD_DEPTH: Cell<usize> = const { Cell::new(0) };
    static ANOMALY: Cell<bool> = const { Cell::new(false) };
    /// The emptied node list of the last tape dropped on this thread, reused
    /// by the next new tape: a training loop makes one tape per step, and
    /// recycling spares it a multi-kilobyte allocation each time.
    static SPARE_NODES: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// An empty node list, recycled from a dropped tape when one of this element
/// type is available.
fn fresh_nodes<T: Float>() -> Vec<Node<T>> {
    let spare = SPARE_NODES.with(|s| s.borrow_mut().take());
    match spare.map(|b| b.downcast::<Vec<Node<T>>>()) {
        Some(Ok(nodes)) => *nodes,
        _ => Vec::with_capacity(INITIAL_NODES),
    }
}

impl<T: Float> Drop for TapeInner<T> {
    fn drop(&mut self) {
        let mut nodes = std::mem::take(self.nodes.get_mut());
        if nodes.capacity() > MAX_SPARE_NODES {
            return; // a rare huge graph: give its memory back
        }
        nodes.clear();
        // `try_with`: during thread teardown the slot may already be gone.
        let _ = SPARE_NODES.try_with(|s| *s.borrow_mut() = Some(Box::new(nodes)));
    }
}

impl<T: Float> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Tape<T> {
    /// A new, empty tape.
    pub fn new() -> Self {
        Self(Rc::new(TapeInner {
            id: NEXT_TAPE.fetch_add(1, Ordering::Relaxed),
            nodes: RefCell::new(fresh_nodes()),
            anomaly: RefCell::new(None),
            keyed: RefCell::new(Vec::new()),
            taps: RefCell::new(None),
        }))
    }

    /// A leaf variable that requires gradients (a parameter, or an input to
    /// differentiate by).
    pub fn leaf(&self, value: Tensor<T>) -> Var<T> {
        let node = Node { op: "leaf", value: value.clone(), inputs: Inputs::new(), backward: None, released: false };
        let id = self.0.push(node);
        Var::tracked(value, Rc::clone(&self.0), id)
    }

    /// The leaf standing for `key` on this tape, made from `value()` the
    /// first time the key is asked for and the same leaf afterwards, so that
    /// gradients from every use add up. This is how a parameter that lives
    /// outside the tape (in a layer) joins each forward pass.
    ///
    /// # Examples
    /// ```
    /// use gradus_autodiff::Tape;
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let a = tape.keyed_leaf(7, || Tensor::scalar(3.0f64));
    /// let b = tape.keyed_leaf(7, || unreachable!("made once"));
    /// let grads = (&a * &b).backward().unwrap();
    /// assert_eq!(grads.get(&a).unwrap().item(), 6.0); // d(w²)/dw
    /// assert_eq!(tape.keyed(7).unwrap().id(), a.id());
    /// ```
    pub fn keyed_leaf(&self, key: u64, value: impl FnOnce() -> Tensor<T>) -> Var<T> {
        if let Some(var) = self.keyed(key) {
            return var;
        }
        let var = self.leaf(value());
        let (_, id) = var.node.as_ref().expect("a leaf is recorded");
        self.0.keyed.borrow_mut().push((key, *id));
        var
    }

    /// Makes `var` (recorded on this tape) the variable [`Tape::keyed_leaf`]
    /// returns for `key`: a parameter then enters the forward pass as that
    /// variable, e.g. an input of a gradient check or a Hessian over the
    /// parameters.
    ///
    /// # Errors
    /// [`AutodiffError::NotTracked`](crate::AutodiffError::NotTracked) if
    /// `var` is a constant, [`AutodiffError::DifferentTapes`](crate::AutodiffError::DifferentTapes)
    /// if it is on another tape.
    pub fn bind_key(&self, key: u64, var: &Var<T>) -> crate::Result<()> {
        let (tape, id) =
            var.node.as_ref().ok_or_else(|| crate::AutodiffError::NotTracked { what: format!("bind_key({key})") })?;
        if !Rc::ptr_eq(tape, &self.0) {
            return Err(crate::AutodiffError::DifferentTapes { what: "bind_key" });
        }
        let mut keyed = self.0.keyed.borrow_mut();
        keyed.retain(|(k, _)| *k != key);
        keyed.push((key, *id));
        Ok(())
    }

    /// The leaf made for `key` by [`Tape::keyed_leaf`], if any.
    pub fn keyed(&self, key: u64) -> Option<Var<T>> {
        let id = self.0.keyed.borrow().iter().find(|(k, _)| *k == key)?.1;
        let value = self.0.nodes.borrow()[id].value.clone();
        Some(Var::tracked(value, Rc::clone(&self.0), id))
    }

    /// The number of recorded nodes (leaves and operations).
    pub fn len(&self) -> usize {
        self.0.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Float> TapeInner<T> {
    pub(crate) fn push(&self, node: Node<T>) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        nodes.len() - 1
    }
}

/// Whether operations are being recorded on this thread.
pub fn is_recording() -> bool {
    NO_GRAD_DEPTH.with(|d| d.get() == 0)
}

/// Runs `f` without recording: every variable it creates is a constant, as
/// inside `torch.no_grad()`. Nests.
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, no_grad};
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let x = tape.leaf(Tensor::scalar(2.0f32));
/// let y = no_grad(|| &x * &x);
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            NO_GRAD_DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    NO_GRAD_DEPTH.with(|d| d.set(d.get() + 1));
    let _restore = Restore;
    f()
}

/// Runs `f` with recording switched back on inside a `no_grad` scope (how
/// `create_graph` records a backward pass).
pub(crate) fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    let saved = NO_GRAD_DEPTH.with(|d| d.replace(0));
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            NO_GRAD_DEPTH.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(saved);
    f()
}

/// Switches anomaly mode on this thread: when on, an op whose forward value
/// or backward gradient holds NaN or Inf is reported by `backward`/`grad`
/// with its name and input shapes. Costs a scan of every value.
pub fn set_anomaly_mode(on: bool) {
    ANOMALY.with(|a| a.set(on));
}

/// Whether anomaly mode is on for this thread.
pub fn anomaly_mode() -> bool {
    ANOMALY.with(Cell::get)
}
