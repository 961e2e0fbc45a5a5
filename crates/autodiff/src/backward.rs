//! The backward pass: `grad` (like `torch.autograd.grad`) and
//! `Var::backward`, both on one walk down the tape.

use crate::tape::{Input, TapeInner, anomaly_mode, enable_grad, no_grad};
use crate::var::all_finite;
use crate::{AutodiffError, Result, Var, VarId};
use gradus_tensor::{Float, Tensor};
use std::fmt;
use std::rc::Rc;

/// Options of [`grad`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GradOptions {
    /// Record the backward pass, so the gradients can be differentiated
    /// again (implies `retain_graph`).
    pub create_graph: bool,
    /// Keep the graph for another backward pass.
    pub retain_graph: bool,
    /// Return `None` for inputs the outputs do not depend on, instead of an
    /// error.
    pub allow_unused: bool,
}

/// Gradients of one backward pass, keyed by leaf.
#[derive(Clone, Debug)]
pub struct Gradients<T: Float> {
    tape: usize,
    /// Indexed by node id; `Some` only for leaves the output depends on.
    grads: Vec<Option<Tensor<T>>>,
}

impl<T: Float> Gradients<T> {
    /// The gradient of `var`, if it is a leaf the output depends on.
    pub fn get(&self, var: &Var<T>) -> Option<&Tensor<T>> {
        self.get_id(var.id()?)
    }

    /// The gradient of the variable with id `id`.
    pub fn get_id(&self, id: VarId) -> Option<&Tensor<T>> {
        if id.tape != self.tape {
            return None;
        }
        self.grads.get(id.node)?.as_ref()
    }

    /// Takes the gradient of `var` out (moving, not copying).
    pub fn remove(&mut self, var: &Var<T>) -> Option<Tensor<T>> {
        let id = var.id()?;
        if id.tape != self.tape {
            return None;
        }
        self.grads.get_mut(id.node)?.take()
    }

    /// The number of leaves with a gradient.
    pub fn len(&self) -> usize {
        self.grads.iter().flatten().count()
    }

    /// Whether no leaf received a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tape and node of `var`; `what` names it in the error (formatted only
/// on failure: this runs on every backward pass).
fn tape_of<T: Float>(what: impl fmt::Display, var: &Var<T>) -> Result<(&Rc<TapeInner<T>>, usize)> {
    var.node.as_ref().map(|(t, id)| (t, *id)).ok_or_else(|| AutodiffError::NotTracked { what: what.to_string() })
}

/// Walks the tape from the seeded nodes down to `stop_at`, returning the
/// accumulated gradient of every leaf and of every node in `keep`. (The
/// gradient of any other node is moved into its backward rule, not copied.)
fn run<T: Float>(
    tape: &Rc<TapeInner<T>>,
    seeds: Seeds<T>,
    stop_at: usize,
    keep: &[usize],
    create_graph: bool,
    retain_graph: bool,
    mut on_leaf: Option<LeafHook<'_, T>>,
) -> Result<Vec<Option<Var<T>>>> {
    if let Some(err) = tape.anomaly.borrow().clone() {
        return Err(err);
    }
    let top = seeds.iter().map(|(id, _)| *id).max().unwrap_or(0);
    let mut grads: Vec<Option<Var<T>>> = vec![None; top + 1];
    // Where a value is used more than once its gradients add up. With
    // create_graph the sum is recorded on the tape; otherwise every gradient
    // is a constant (rules run under no_grad) and the sum goes into the
    // existing buffer in place (copied first only if it is shared).
    let accumulate = |slot: &mut Option<Var<T>>, g: Var<T>| {
        *slot = Some(match slot.take() {
            None => g,
            Some(existing) if create_graph => enable_grad(|| &existing + &g),
            Some(existing) => Var::constant(add_in_place(existing.into_value(), g.into_value())),
        });
    };
    for (id, seed) in seeds {
        accumulate(&mut grads[id], seed);
    }
    for id in (stop_at..=top).rev() {
        if grads[id].is_none() {
            continue;
        }
        let (op, backward, inputs, output) = {
            let mut nodes = tape.nodes.borrow_mut();
            let node = &mut nodes[id];
            if node.released {
                return Err(AutodiffError::GraphReleased { op: node.op });
            }
            let Some(backward) = node.backward.take() else {
                // A leaf: every node that uses it has a higher id and has
                // been walked, so its gradient is final.
                if let (Some(hook), Some(g)) = (on_leaf.as_deref_mut(), &grads[id])
                    && node.op == "leaf"
                {
                    hook(VarId { tape: tape.id, node: id }, g.value());
                }
                continue;
            };
            let output = Var::tracked(node.value.clone(), Rc::clone(tape), id);
            let ids = std::mem::take(&mut node.inputs);
            let inputs: smallvec::SmallVec<[Var<T>; 2]> = ids
                .iter()
                .map(|input| match input {
                    Input::Node(j) => Var::tracked(nodes[*j].value.clone(), Rc::clone(tape), *j),
                    Input::Constant(t) => Var::constant((**t).clone()),
                })
                .collect();
            nodes[id].inputs = ids;
            (nodes[id].op, backward, inputs, output)
        };
        let g = if keep.contains(&id) { grads[id].clone() } else { grads[id].take() }.expect("checked above");
        let input_grads = if create_graph {
            enable_grad(|| backward(&inputs, &output, &g))
        } else {
            no_grad(|| backward(&inputs, &output, &g))
        };
        {
            let mut nodes = tape.nodes.borrow_mut();
            if retain_graph || create_graph {
                nodes[id].backward = Some(backward);
            } else {
                nodes[id].released = true;
                nodes[id].inputs.clear();
            }
        }
        for (input, grad) in inputs.iter().zip(input_grads) {
            let (Some((_, j)), Some(grad)) = (&input.node, grad) else { continue };
            assert!(
                grad.value().has_shape(input.shape()),
                "backward of `{op}` returned a gradient of shape {:?} for an input of shape {:?}",
                grad.shape(),
                input.shape()
            );
            if anomaly_mode() && !all_finite(grad.value()) {
                let shapes = inputs.iter().map(|v| v.shape().to_vec()).collect();
                return Err(AutodiffError::Anomaly { phase: "backward", op, shapes });
            }
            if *j >= stop_at {
                accumulate(&mut grads[*j], grad);
            }
        }
    }
    Ok(grads)
}

/// `a + b`, written into the buffer of whichever is its only owner (a copy
/// only when both are shared).
fn add_in_place<T: Float>(a: Tensor<T>, b: Tensor<T>) -> Tensor<T> {
    debug_assert_eq!(a.shape(), b.shape(), "accumulated gradients have their value's shape");
    let (mut acc, g) = if !a.owns_data() && b.owns_data() { (b, a) } else { (a, b) };
    let g = g.contiguous();
    let g = g.as_slice().expect("made contiguous");
    for (a, b) in acc.data_mut().iter_mut().zip(g) {
        *a += *b;
    }
    acc
}

/// What [`Var::backward_hooked`] calls as each leaf's gradient is final.
type LeafHook<'h, T> = &'h mut dyn FnMut(VarId, &Tensor<T>);

/// The starting gradients of a backward pass, by node (inline for one output).
type Seeds<T> = smallvec::SmallVec<[(usize, Var<T>); 1]>;

/// Seeds for `outputs`: the given gradients, or 1 for one-element outputs.
fn seeds<T: Float>(outputs: &[&Var<T>], grad_outputs: Option<&[Tensor<T>]>) -> Result<Seeds<T>> {
    outputs
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let (_, id) = tape_of(format_args!("output {i}"), out)?;
            let seed = match grad_outputs {
                Some(gs) => {
                    let g = gs.get(i).ok_or(AutodiffError::GradShape {
                        index: i,
                        expected: out.shape().to_vec(),
                        got: vec![],
                    })?;
                    if g.shape() != out.shape() {
                        return Err(AutodiffError::GradShape {
                            index: i,
                            expected: out.shape().to_vec(),
                            got: g.shape().to_vec(),
                        });
                    }
                    g.clone()
                }
                None if out.value.numel() == 1 => Tensor::ones(out.shape()),
                None => return Err(AutodiffError::NotScalar { shape: out.shape().to_vec() }),
            };
            Ok((id, Var::constant(seed)))
        })
        .collect()
}

/// The gradients of `outputs` (weighted by `grad_outputs`, default 1 for
/// one-element outputs) with respect to `inputs`, as `torch.autograd.grad`.
/// With `create_graph` the results are recorded variables that can be
/// differentiated again: this is how Hessians are built.
///
/// # Errors
/// If an output or input is not recorded, outputs and inputs are on different
/// tapes, an output is not scalar without a `grad_output`, the graph was
/// released, an input is unused (without `allow_unused`), or anomaly mode
/// found a non-finite value.
///
/// # Examples
/// ```
/// use gradus_autodiff::{GradOptions, Tape, grad};
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let x = tape.leaf(Tensor::scalar(3.0f64));
/// let y = &x * &x * &x; // x³
/// let opts = GradOptions { create_graph: true, ..Default::default() };
/// let dy = grad(&[&y], None, &[&x], opts).unwrap()[0].clone().unwrap(); // 3x² = 27
/// let d2y = grad(&[&dy], None, &[&x], opts).unwrap()[0].clone().unwrap(); // 6x = 18
/// assert_eq!((dy.item(), d2y.item()), (27.0, 18.0));
/// ```
pub fn grad<T: Float>(
    outputs: &[&Var<T>],
    grad_outputs: Option<&[Tensor<T>]>,
    inputs: &[&Var<T>],
    options: GradOptions,
) -> Result<Vec<Option<Var<T>>>> {
    let first = outputs.first().ok_or(AutodiffError::NotTracked { what: "grad: no outputs".into() })?;
    let (tape, _) = tape_of("output 0", first)?;
    let mut input_ids = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let (t, id) = tape_of(format_args!("input {i}"), input)?;
        if !Rc::ptr_eq(t, tape) {
            return Err(AutodiffError::DifferentTapes { what: "grad" });
        }
        input_ids.push(id);
    }
    for out in outputs {
        if !Rc::ptr_eq(tape_of("output", out)?.0, tape) {
            return Err(AutodiffError::DifferentTapes { what: "grad" });
        }
    }
    let stop_at = input_ids.iter().copied().min().unwrap_or(0);
    let seeds = seeds(outputs, grad_outputs)?;
    let grads = run(tape, seeds, stop_at, &input_ids, options.create_graph, options.retain_graph, None)?;
    input_ids
        .iter()
        .enumerate()
        .map(|(i, &id)| match grads.get(id).cloned().flatten() {
            Some(g) => Ok(Some(g)),
            None if options.allow_unused => Ok(None),
            None => Err(AutodiffError::Unused { index: i }),
        })
        .collect()
}

impl<T: Float> Var<T> {
    /// Backpropagates from this one-element output and returns the gradient
    /// of every leaf it depends on. The graph is released afterwards.
    ///
    /// # Errors
    /// If this variable is not recorded or has more than one element, the
    /// graph was released by an earlier pass, or anomaly mode found a
    /// non-finite value.
    pub fn backward(&self) -> Result<Gradients<T>> {
        self.backward_with(None, false)
    }

    /// [`Var::backward`] with an explicit output gradient (for non-scalar
    /// outputs) and the choice to keep the graph for another pass.
    ///
    /// # Errors
    /// As [`Var::backward`], and if `grad_output`'s shape differs from the output's.
    pub fn backward_with(&self, grad_output: Option<Tensor<T>>, retain_graph: bool) -> Result<Gradients<T>> {
        self.backward_run(grad_output, retain_graph, None)
    }

    /// [`Var::backward`], calling `on_leaf(id, gradient)` for each leaf as
    /// soon as its gradient is final, while the walk goes on below it
    /// (leaves in descending id order: the parameters used last come
    /// first). PyTorch's post-accumulate-grad hooks; a data-parallel
    /// trainer starts reducing gradients there while backward continues.
    ///
    /// ```
    /// use gradus_autodiff::{Tape, Var};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let (a, b) = (tape.leaf(Tensor::scalar(2.0f64)), tape.leaf(Tensor::scalar(3.0)));
    /// let y = &(&a * &b) + &a; // dy/da = b + 1, dy/db = a
    /// let mut order = Vec::new();
    /// let grads = y.backward_hooked(&mut |id, g| order.push((id, g.item()))).unwrap();
    /// assert_eq!(order, vec![(b.id().unwrap(), 2.0), (a.id().unwrap(), 4.0)]);
    /// assert_eq!(grads.get(&a).unwrap().item(), 4.0);
    /// ```
    ///
    /// # Errors
    /// As [`Var::backward`].
    pub fn backward_hooked(&self, on_leaf: &mut dyn FnMut(VarId, &Tensor<T>)) -> Result<Gradients<T>> {
        self.backward_run(None, false, Some(on_leaf))
    }

    fn backward_run(
        &self,
        grad_output: Option<Tensor<T>>,
        retain_graph: bool,
        on_leaf: Option<LeafHook<'_, T>>,
    ) -> Result<Gradients<T>> {
        let (tape, _) = tape_of("the output of backward", self)?;
        let seeds = seeds(&[self], grad_output.as_ref().map(std::slice::from_ref))?;
        let grads = run(tape, seeds, 0, &[], false, retain_graph, on_leaf)?;
        let nodes = tape.nodes.borrow();
        let leaves = grads
            .into_iter()
            .enumerate()
            .map(|(id, g)| g.filter(|_| nodes[id].op == "leaf").map(Var::into_value))
            .collect();
        Ok(Gradients { tape: tape.id, grads: leaves })
    }
}
