//! Taps: what a layer's weight saw and what came back to it. While a tape
//! is tapping ([`Tape::start_taps`]), every `linear` and `conv2d` op keeps
//! its input and adds a zero leaf (the probe) to its output, so a backward
//! pass to the probes gives ∂L/∂(pre-activation) of each such layer. The
//! weight's gradient is a sum over rows (positions) of products of the two;
//! the terms of that sum, the rows' outer products, are what per-example
//! gradients and Kronecker-factored curvature are made of.

use crate::{Tape, Var, VarId};
use gradus_tensor::{ConvGeometry, Float, Tensor};

/// The op a [`Tap`] was made by, with what its weight's gradient needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TapKind {
    /// `x.linear(W, b)`: the input is `[R, in]` (a sequence's positions
    /// are rows), the output `[R, out]`.
    Linear,
    /// `x.conv2d(W, b, …)` with this geometry and kernel: the input is
    /// `[N, C_in, H, W]` (padded already when the padding mode is not
    /// zeros), the output `[N, C_out, H_out, W_out]`.
    Conv2d {
        /// Stride, padding, dilation and groups.
        geometry: ConvGeometry,
        /// (kH, kW).
        kernel: [usize; 2],
    },
}

/// One tapped op: its kind, the weight and bias variables it was given,
/// its input's value and the probe added to its output (the gradient with
/// respect to the probe is the gradient with respect to the output).
#[derive(Clone, Debug)]
pub struct Tap<T: Float> {
    /// The op.
    pub kind: TapKind,
    /// The weight's variable (a parameter's keyed leaf).
    pub weight: Option<VarId>,
    /// The bias's variable, if the op had one.
    pub bias: Option<VarId>,
    /// The op's input.
    pub input: Tensor<T>,
    /// The zero leaf added to the op's output.
    pub probe: Var<T>,
}

impl<T: Float> Tape<T> {
    /// From now on, every `linear` (of a matrix input) and `conv2d` op
    /// recorded on this tape is tapped: [`Tape::taps`] lists them.
    ///
    /// ```
    /// use gradus_autodiff::{Tape, TapKind, grad, GradOptions};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// tape.start_taps();
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2]).unwrap();
    /// let w = tape.leaf(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
    /// let y = gradus_autodiff::Var::constant(x).linear(&w, None);
    /// let loss = (&y * &y).sum(.., false); // y = 11, ∂L/∂y = 22
    /// let taps = tape.taps();
    /// assert_eq!((taps.len(), taps[0].kind), (1, TapKind::Linear));
    /// let d = grad(&[&loss], None, &[&taps[0].probe], GradOptions::default()).unwrap();
    /// assert_eq!(d[0].as_ref().unwrap().value().to_vec(), vec![22.0]);
    /// ```
    pub fn start_taps(&self) {
        self.0.taps.borrow_mut().get_or_insert_with(Vec::new);
    }

    /// The taps recorded so far, in recording order (empty unless
    /// [`Tape::start_taps`] was called).
    pub fn taps(&self) -> Vec<Tap<T>> {
        let taps = self.0.taps.borrow();
        let nodes = self.0.nodes.borrow();
        let probe = |id: usize| Var::tracked(nodes[id].value.clone(), std::rc::Rc::clone(&self.0), id);
        let taps = taps.iter().flatten();
        taps.map(|t| Tap {
            kind: t.kind,
            weight: t.weight,
            bias: t.bias,
            input: t.input.clone(),
            probe: probe(t.probe),
        })
        .collect()
    }
}

/// A tap as the tape keeps it: the probe as a node id, since a tape holds
/// no variable of its own (no reference cycle).
pub(crate) struct TapRecord<T: Float> {
    kind: TapKind,
    weight: Option<VarId>,
    bias: Option<VarId>,
    input: Tensor<T>,
    probe: usize,
}

/// `output` with a zero probe added, and the tap recorded, if `output`'s
/// tape is tapping; `output` itself otherwise.
pub(crate) fn tap<T: Float>(
    kind: TapKind,
    input: &Var<T>,
    weight: &Var<T>,
    bias: Option<&Var<T>>,
    output: Var<T>,
) -> Var<T> {
    let Some((tape, _)) = output.node.as_ref() else { return output };
    if tape.taps.borrow().is_none() {
        return output;
    }
    let tape = Tape(std::rc::Rc::clone(tape));
    let probe = tape.leaf(Tensor::zeros(output.shape()));
    let tapped = &output + &probe;
    let (_, probe) = probe.node.as_ref().expect("a leaf is recorded");
    let (weight, bias) = (weight.id(), bias.and_then(Var::id));
    let record = TapRecord { kind, weight, bias, input: input.value.clone(), probe: *probe };
    tape.0.taps.borrow_mut().as_mut().expect("tapping").push(record);
    tapped
}
