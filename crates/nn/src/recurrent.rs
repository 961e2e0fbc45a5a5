//! Recurrent layers: [`Recurrent`] runs PyTorch's `nn.LSTM` or `nn.GRU`
//! (`batch_first=True`) over `[N, T, input]`; gradients of gradients work.
//!
//! Per layer and direction, the input projection of every time step is one
//! product (`[N·T, input] × [input, G·H]`, G = 4 gates for the LSTM, 3 for
//! the GRU); the recurrence is one op, [`Var::recurrent`], whose forward
//! and backward passes are plain loops (and whose recorded backward pass,
//! for second derivatives, is written in differentiable ops). The gates
//! follow torch's order and form:
//!
//! - LSTM: i, f, g, o = σ, σ, tanh, σ of the four chunks;
//!   c′ = f·c + i·g, h′ = o·tanh(c′).
//! - GRU: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n);
//!   h′ = (h − n)·z + n.
//!
//! The initial state is zero. A bidirectional layer runs a second set of
//! weights (`…_reverse`) from the last step back and concatenates the two
//! outputs; layers after the first take the previous output, with dropout
//! between layers in training as torch.

use crate::{Dropout, Init, Module, Param, Visitor};
pub use gradus_autodiff::CellKind;
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;
use rand::Rng;

/// One layer and direction's weights: `weight_ih` `[G·H, in]`,
/// `weight_hh` `[G·H, H]`, and the two biases `[G·H]`.
#[derive(Debug)]
struct Weights<T: Float> {
    suffix: String,
    w_ih: Param<T>,
    w_hh: Param<T>,
    biases: Option<(Param<T>, Param<T>)>,
}

/// A multi-layer LSTM or GRU over `[N, T, input_size]`, returning the
/// whole output sequence `[N, T, H]` (`2H` when bidirectional), as
/// PyTorch's `nn.LSTM` / `nn.GRU` with `batch_first=True` and a zero
/// initial state. Parameters are named as torch's (`weight_ih_l0`,
/// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `…_reverse`) and drawn as
/// torch draws them, U[±1/√H].
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{CellKind, Module, Recurrent};
/// use gradus_tensor::Tensor;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// let lstm = Recurrent::<f64>::new(CellKind::Lstm, 3, 5, 2, true, true, 0.0, &mut rng);
/// let y = lstm.forward(&Tape::new(), &Var::constant(Tensor::ones(&[4, 7, 3])));
/// assert_eq!(y.shape(), [4, 7, 10]);
/// assert_eq!(lstm.named_parameters()[4].0, "weight_ih_l0_reverse");
/// ```
#[derive(Debug)]
pub struct Recurrent<T: Float> {
    kind: CellKind,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    /// Layer by layer, forward then reverse.
    weights: Vec<Weights<T>>,
    /// Between layers, in training (none for one layer or p = 0).
    dropout: Option<Dropout>,
}

impl<T: Float> Recurrent<T> {
    /// A `kind` layer stack of `num_layers` layers from `input_size` to
    /// `hidden_size` units, with biases when `bias`, both directions when
    /// `bidirectional`, and dropout `dropout` on each layer's output but
    /// the last in training.
    ///
    /// # Panics
    /// If a size or `num_layers` is 0, or `dropout` is not in [0, 1].
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        kind: CellKind,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        bias: bool,
        bidirectional: bool,
        dropout: f64,
        rng: &mut R,
    ) -> Self {
        assert!(
            input_size > 0 && hidden_size > 0 && num_layers > 0,
            "{}: input_size, hidden_size and num_layers must be positive, got {input_size}, {hidden_size}, {num_layers}",
            kind.name()
        );
        let g = kind.gates() * hidden_size;
        let bound = 1.0 / (hidden_size as f64).sqrt();
        let init = Init::Uniform { low: -bound, high: bound };
        let dirs = if bidirectional { 2 } else { 1 };
        let mut weights = Vec::new();
        for layer in 0..num_layers {
            let width = if layer == 0 { input_size } else { hidden_size * dirs };
            for dir in 0..dirs {
                // torch draws every tensor in declaration order, all from one uniform.
                let w_ih = Param::new(init.tensor(&[g, width], rng));
                let w_hh = Param::new(init.tensor(&[g, hidden_size], rng));
                let biases = bias.then(|| (Param::new(init.tensor(&[g], rng)), Param::new(init.tensor(&[g], rng))));
                let suffix = format!("l{layer}{}", if dir == 1 { "_reverse" } else { "" });
                weights.push(Weights { suffix, w_ih, w_hh, biases });
            }
        }
        let dropout = (dropout > 0.0 && num_layers > 1).then(|| Dropout::new(dropout, rng));
        Self { kind, input_size, hidden_size, num_layers, bidirectional, weights, dropout }
    }

    /// The cell.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// Features of each output step: H, or 2H when bidirectional.
    pub fn output_size(&self) -> usize {
        self.hidden_size * if self.bidirectional { 2 } else { 1 }
    }

    fn shape_error(&self, input: &[usize]) -> Option<String> {
        let ok = input.len() == 3 && input[2] == self.input_size && input[1] > 0;
        (!ok).then(|| {
            format!(
                "{}({}, {}) needs a sequence [N, T, {}] (T > 0; images need reshape to rows first), got {input:?}",
                self.kind.name(),
                self.input_size,
                self.hidden_size,
                self.input_size
            )
        })
    }

    /// One direction of one layer over `x` `[N, T, in]`.
    fn run(&self, tape: &Tape<T>, w: &Weights<T>, x: &Var<T>, reverse: bool) -> Var<T> {
        let (n, steps, width) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let g = self.kind.gates() * self.hidden_size;
        let (w_ih, w_hh) = (w.w_ih.var(tape), w.w_hh.var(tape));
        let (b_ih, b_hh) = match &w.biases {
            Some((a, b)) => (Some(a.var(tape)), Some(b.var(tape))),
            None => (None, None),
        };
        // Every step's input projection as one product, time-major (the
        // input is the narrower tensor to reorder), then the recurrence as
        // one op (gradus_autodiff's `Var::recurrent`), its time-major
        // output seen batch-major again.
        let flat = x.permute(&[1, 0, 2]).reshape(&[(steps * n) as isize, width as isize]);
        let projected = flat.linear(&w_ih, b_ih.as_ref()).reshape(&[steps as isize, n as isize, g as isize]);
        projected.recurrent(self.kind, &w_hh, b_hh.as_ref(), reverse).permute(&[1, 0, 2])
    }
}

impl<T: Float> Module<T> for Recurrent<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(e) = self.shape_error(x.shape()) {
            panic!("{e}");
        }
        let dirs = if self.bidirectional { 2 } else { 1 };
        let mut input = x.clone();
        for layer in 0..self.num_layers {
            if layer > 0
                && let Some(d) = &self.dropout
            {
                input = Module::<T>::forward(d, tape, &input);
            }
            let runs: Vec<Var<T>> =
                (0..dirs).map(|dir| self.run(tape, &self.weights[layer * dirs + dir], &input, dir == 1)).collect();
            input = if dirs == 1 { runs[0].clone() } else { Var::concat(&runs, -1) };
        }
        input
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(match self.shape_error(input) {
            Some(e) => Err(e),
            None => Ok(vec![input[0], input[1], self.output_size()]),
        })
    }

    fn multiply_adds(&self, output: &[usize]) -> f64 {
        // Per example (`output` is [T, H]): every parameter once a step,
        // as torchinfo counts a recurrent layer.
        let per_step: usize = self
            .weights
            .iter()
            .map(|w| w.w_ih.numel() + w.w_hh.numel() + w.biases.as_ref().map_or(0, |(a, b)| a.numel() + b.numel()))
            .sum();
        output.first().map_or(0.0, |&t| (t * per_step) as f64)
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        for w in &self.weights {
            v.param(&format!("weight_ih_{}", w.suffix), &w.w_ih);
            v.param(&format!("weight_hh_{}", w.suffix), &w.w_hh);
            if let Some((b_ih, b_hh)) = &w.biases {
                v.param(&format!("bias_ih_{}", w.suffix), b_ih);
                v.param(&format!("bias_hh_{}", w.suffix), b_hh);
            }
        }
        if let Some(d) = &self.dropout {
            v.child("dropout", d);
        }
    }

    fn set_mode(&self, training: bool) {
        if let Some(d) = &self.dropout {
            Module::<T>::set_mode(d, training);
        }
    }

    fn mode(&self) -> Option<bool> {
        self.dropout.as_ref().and_then(Module::<T>::mode)
    }

    fn type_key(&self) -> &'static str {
        self.kind.name()
    }
}
