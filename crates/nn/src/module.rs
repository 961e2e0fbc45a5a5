//! The `Module` trait, the visitor over named parameters and buffers, and
//! closures as modules.

use crate::{Buffer, Param, Watch};
use gradus_autodiff::{Gradients, Tape, Var};
use gradus_tensor::{Float, Tensor};

/// A piece of a network: a forward pass on a tape, and the parameters and
/// buffers it owns, reached by name through [`Module::visit`].
///
/// The tape is explicit: make one per step, run `forward`, take the loss's
/// `backward`, then read each parameter's gradient ([`Module::gradients`]).
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Linear, Module, Relu, Sequential};
/// use gradus_tensor::Tensor;
/// use rand::{SeedableRng, rngs::StdRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let model = Sequential::<f64>::new().append(Linear::new(3, 4, &mut rng)).append(Relu).append(Linear::new(4, 2, &mut rng));
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.num_parameters(), 3 * 4 + 4 + 4 * 2 + 2);
/// let tape = Tape::new();
/// let y = model.forward(&tape, &Var::constant(Tensor::ones(&[5, 3])));
/// assert_eq!(y.shape(), &[5, 2]);
/// let grads = y.sum(.., false).backward().unwrap();
/// assert_eq!(model.gradients(&tape, &grads).len(), 4);
/// ```
pub trait Module<T: Float> {
    /// The forward pass of `x` on `tape` (where parameters become leaves).
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T>;

    /// Shows every parameter and buffer (and child module) to `v`. The
    /// default: none.
    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        let _ = v;
    }

    /// [`Module::forward`], showing each sub-module's output to `observer`
    /// under its dotted name (a forward hook, as PyTorch's
    /// `register_forward_hook`). Containers override it to pass the
    /// observer on through [`Observer::child`]; the default is `forward`.
    fn forward_observed(&self, tape: &Tape<T>, x: &Var<T>, observer: &mut Observer<'_, T>) -> Var<T> {
        let _ = observer;
        self.forward(tape, x)
    }

    /// The shape of the output for an input of shape `input`, so a model
    /// can be checked against its data before any step: `Some(Ok(shape))`,
    /// `Some(Err(message))` naming the shape the module needs, or `None`
    /// (the default) when the module cannot tell without running.
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let _ = input;
        None
    }
    /// What the activation diagnostics look for in this module's output
    /// (dead units after ReLU, saturation after sigmoid and tanh); `None`,
    /// the default, for modules they ignore.
    fn watch(&self) -> Option<Watch> {
        None
    }

    /// Switches training (`true`) or evaluation mode; layers that behave
    /// differently (Dropout, BatchNorm) override it, containers pass it on.
    fn set_training(&self, training: bool) {
        let _ = training;
    }

    /// Whether the module is in training mode: `Some(mode)` for layers that
    /// behave differently in the two (and containers holding one, which
    /// report the first), `None` (the default) for the rest. Code that
    /// switches modes for a while (evaluation) restores this afterwards.
    fn training(&self) -> Option<bool> {
        None
    }

    /// Training mode.
    fn train(&self) {
        self.set_training(true);
    }

    /// Evaluation mode.
    fn eval(&self) {
        self.set_training(false);
    }

    /// Every parameter with its dotted name (`0.weight`), in visiting order.
    fn named_parameters(&self) -> Vec<(String, &Param<T>)> {
        let mut out = Vec::new();
        self.visit(&mut Visitor::new(&mut |name, slot| {
            if let Slot::Param(p) = slot {
                out.push((name.to_string(), p));
            }
        }));
        out
    }

    /// Every buffer with its dotted name (`1.running_mean`).
    fn named_buffers(&self) -> Vec<(String, &Buffer<T>)> {
        let mut out = Vec::new();
        self.visit(&mut Visitor::new(&mut |name, slot| {
            if let Slot::Buffer(b) = slot {
                out.push((name.to_string(), b));
            }
        }));
        out
    }

    /// The number of scalar parameters, frozen ones included.
    fn num_parameters(&self) -> usize {
        self.named_parameters().iter().map(|(_, p)| p.numel()).sum()
    }

    /// The number of scalar parameters that are not frozen.
    fn num_trainable_parameters(&self) -> usize {
        self.named_parameters().iter().filter(|(_, p)| !p.is_frozen()).map(|(_, p)| p.numel()).sum()
    }

    /// Each parameter that received a gradient in the backward pass over
    /// `tape`, with its name and gradient.
    fn gradients(&self, tape: &Tape<T>, grads: &Gradients<T>) -> Vec<(String, &Param<T>, Tensor<T>)> {
        self.named_parameters().into_iter().filter_map(|(name, p)| Some((name, p, p.grad(tape, grads)?))).collect()
    }

    /// Every trainable parameter as a variable on `tape` with its name (for
    /// penalties such as L2 over the weights).
    fn parameter_vars(&self, tape: &Tape<T>) -> Vec<(String, Var<T>)> {
        self.named_parameters().into_iter().filter(|(_, p)| !p.is_frozen()).map(|(n, p)| (n, p.var(tape))).collect()
    }
}

/// `Module::output_shape` for a module whose output has its input's shape.
macro_rules! same_shape {
    () => {
        fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
            Some(Ok(input.to_vec()))
        }
    };
}
pub(crate) use same_shape;

/// What a [`Visitor`] is shown.
#[derive(Debug)]
pub enum Slot<'a, T: Float> {
    /// A trainable parameter.
    Param(&'a Param<T>),
    /// A saved, untrained tensor.
    Buffer(&'a Buffer<T>),
    /// A saved integer (Dropout's seed and mask count): what a resumed run
    /// needs to draw the same random numbers.
    Counter(&'a std::cell::Cell<u64>),
}

/// Walks a module tree, building dotted names (`0.weight`) as it goes.
pub struct Visitor<'a, 'f, T: Float> {
    prefix: String,
    f: &'f mut dyn FnMut(&str, Slot<'a, T>),
}

impl<'a, 'f, T: Float> Visitor<'a, 'f, T> {
    /// A visitor calling `f` with each full name and slot.
    pub fn new(f: &'f mut dyn FnMut(&str, Slot<'a, T>)) -> Self {
        Self { prefix: String::new(), f }
    }

    /// Shows a parameter named `name` under the current prefix.
    pub fn param(&mut self, name: &str, p: &'a Param<T>) {
        self.emit(name, Slot::Param(p));
    }

    /// Shows a buffer named `name` under the current prefix.
    pub fn buffer(&mut self, name: &str, b: &'a Buffer<T>) {
        self.emit(name, Slot::Buffer(b));
    }

    /// Shows a counter named `name` under the current prefix.
    pub fn counter(&mut self, name: &str, c: &'a std::cell::Cell<u64>) {
        self.emit(name, Slot::Counter(c));
    }

    /// Visits a child module under `name.`.
    pub fn child(&mut self, name: &str, m: &'a dyn Module<T>) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        self.prefix.push('.');
        m.visit(self);
        self.prefix.truncate(len);
    }

    fn emit(&mut self, name: &str, slot: Slot<'a, T>) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        (self.f)(&self.prefix, slot);
        self.prefix.truncate(len);
    }
}

/// Sees every module's output during [`Module::forward_observed`], with
/// its dotted name (`1` for the second layer of a
/// [`Sequential`](crate::Sequential), `0.1` one level down).
pub struct Observer<'f, T: Float> {
    prefix: String,
    f: &'f mut Observe<'f, T>,
}

/// What an [`Observer`] calls: `(name, module, output)`.
pub type Observe<'f, T> = dyn FnMut(&str, &dyn Module<T>, &Var<T>) + 'f;

impl<'f, T: Float> Observer<'f, T> {
    /// An observer calling `f(name, module, output)` after each module's
    /// forward pass, inner modules before the containers holding them.
    pub fn new(f: &'f mut Observe<'f, T>) -> Self {
        Self { prefix: String::new(), f }
    }

    /// Runs the child module `m` named `name` on `x` (observing its own
    /// children), shows its output, and returns it.
    pub fn child(&mut self, name: &str, m: &dyn Module<T>, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        let named = self.prefix.len();
        self.prefix.push('.');
        let y = m.forward_observed(tape, x, self);
        self.prefix.truncate(named);
        (self.f)(&self.prefix, m, &y);
        self.prefix.truncate(len);
        y
    }
}

/// A closure as a parameter-free module, for the odd reshape or custom
/// activation inside a [`Sequential`](crate::Sequential).
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Lambda, Module};
/// use gradus_tensor::Tensor;
/// let half = Lambda::new(|x: &Var<f64>| x.mul_scalar(0.5));
/// let y = half.forward(&Tape::new(), &Var::constant(Tensor::scalar(4.0)));
/// assert_eq!(y.item(), 2.0);
/// ```
pub struct Lambda<F>(F);

impl<F> Lambda<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

impl<T: Float, F: Fn(&Var<T>) -> Var<T>> Module<T> for Lambda<F> {
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        (self.0)(x)
    }
}

impl<T: Float, M: Module<T> + ?Sized> Module<T> for Box<M> {
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        (**self).forward(tape, x)
    }
    fn forward_observed(&self, tape: &Tape<T>, x: &Var<T>, observer: &mut Observer<'_, T>) -> Var<T> {
        (**self).forward_observed(tape, x, observer)
    }
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        (**self).output_shape(input)
    }
    fn watch(&self) -> Option<Watch> {
        (**self).watch()
    }
    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        (**self).visit(v);
    }
    fn set_training(&self, training: bool) {
        (**self).set_training(training);
    }
    fn training(&self) -> Option<bool> {
        (**self).training()
    }
}
