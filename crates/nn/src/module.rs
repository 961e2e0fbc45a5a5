//! The `Module` trait, the visitor over named parameters and buffers, and
//! closures as modules.

use crate::{Buffer, Observer, Param, Watch};
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

    /// The modules this one holds, each with its name, in the order
    /// PyTorch registers them (`body`, `shortcut`; `0`, `1`, … in a
    /// [`Sequential`](crate::Sequential)). A leaf layer holds none (the
    /// default).
    ///
    /// This one declaration is the whole container contract: parameters,
    /// buffers and their state-dict names ([`Visitor::module`]), training
    /// mode ([`Module::set_training`], [`Module::training`]) and observation
    /// ([`Module::forward_observed`]) reach every child from it, so a
    /// container cannot forget one.
    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        Vec::new()
    }

    /// Shows this module's *own* parameters, buffers and counters to `v`
    /// (its children's are shown from [`Module::children`]). The default:
    /// none.
    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        let _ = v;
    }

    /// [`Module::forward`], showing every descendant's output to `observer`
    /// under its dotted name (PyTorch's forward hooks), inner modules before
    /// the containers holding them. Children are found from
    /// [`Module::children`]; an output is seen when the container calls the
    /// child through its `Box<dyn Module>` (as [`Sequential`](crate::Sequential)
    /// and every built-in container hold them). Not meant to be overridden.
    fn forward_observed(&self, tape: &Tape<T>, x: &Var<T>, observer: &mut Observer<'_, T>) -> Var<T> {
        crate::observe::run(self, tape, x, observer)
    }

    /// The shape of the output for an input of shape `input`, so a model
    /// can be checked against its data before any step: `Some(Ok(shape))`,
    /// `Some(Err(message))` naming the shape the module needs, or `None`
    /// (the default) when the module cannot tell without running.
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let _ = input;
        None
    }
    /// Multiply-adds of one example's pass through this module's *own*
    /// parameters, given its output shape per example (`[C, H, W]`),
    /// counted as torchinfo counts them: every own parameter once (a
    /// linear layer's weight and bias, a norm's scale), and once per output
    /// position for a convolution, which overrides this. Containers own
    /// none; their children count theirs.
    fn multiply_adds(&self, output: &[usize]) -> f64 {
        let _ = output;
        own_parameters(self) as f64
    }

    /// What the activation diagnostics look for in this module's output
    /// (dead units after ReLU, saturation after sigmoid and tanh); `None`,
    /// the default, for modules they ignore.
    fn watch(&self) -> Option<Watch> {
        None
    }

    /// Switches this module's *own* mode: layers that behave differently in
    /// training and evaluation (Dropout, BatchNorm) override it. Call
    /// [`Module::set_training`], which reaches the children too.
    fn set_mode(&self, training: bool) {
        let _ = training;
    }

    /// This module's own mode: `Some(training)` for layers that have one,
    /// `None` (the default) for the rest.
    fn mode(&self) -> Option<bool> {
        None
    }

    /// Switches training (`true`) or evaluation mode of this module and of
    /// every descendant (PyTorch's `module.train(mode)`). Not meant to be
    /// overridden: a layer overrides [`Module::set_mode`].
    fn set_training(&self, training: bool) {
        self.set_mode(training);
        for (_, child) in self.children() {
            child.set_training(training);
        }
    }

    /// Whether the module is in training mode: its own mode, else the first
    /// descendant's that has one, else `None` (nothing in it behaves
    /// differently). Code that switches modes for a while (evaluation)
    /// restores this afterwards.
    fn training(&self) -> Option<bool> {
        self.mode().or_else(|| self.children().into_iter().find_map(|(_, c)| c.training()))
    }

    /// Whether the forward pass can run on a sequence's new positions alone
    /// once [`Module::set_cache`] is on, giving what the whole sequence
    /// would give at those positions: layers acting on each position
    /// (linear, norms over the last axis, activations, dropout) and layers
    /// that keep what earlier positions left (attention's keys and values,
    /// the position table's offset). A container is when all its children
    /// are; a leaf layer is not unless it says so.
    fn incremental(&self) -> bool {
        let children = self.children();
        !children.is_empty() && children.iter().all(|(_, c)| c.incremental())
    }

    /// The tokens the model takes, `0..limit`, when its input is integer
    /// tokens (it starts with an [`Embedding`](crate::Embedding)): checked
    /// against the data before training. A container answers for its first
    /// child.
    fn token_limit(&self) -> Option<usize> {
        self.children().first().and_then(|(_, c)| c.token_limit())
    }

    /// Turns this module's *own* cache of earlier positions on (empty) or
    /// off; layers that keep one override it. Call [`Module::set_cache`].
    fn set_own_cache(&self, on: bool) {
        let _ = on;
    }

    /// Turns the cache of earlier positions on (emptied) or off in this
    /// module and every descendant: with it on, each forward pass takes
    /// the positions after those already seen (generation with a
    /// key/value cache). Not meant to be overridden.
    fn set_cache(&self, on: bool) {
        self.set_own_cache(on);
        for (_, child) in self.children() {
            child.set_cache(on);
        }
    }

    /// Starts (`true`) or ends (`false`) a pass that recomputes this
    /// module's *own* running statistics, if it keeps any (batch norm):
    /// started, they are reset (mean 0, variance 1, count 0) and then kept
    /// as cumulative averages of the training-mode batches that follow;
    /// ended, its momentum applies again. The default: nothing to do.
    fn set_own_stats_pass(&self, on: bool) {
        let _ = on;
    }

    /// [`Module::set_own_stats_pass`] in this module and every descendant
    /// (what `torch.optim.swa_utils.update_bn` does to batch norm around
    /// its pass over the data). Not meant to be overridden.
    fn set_stats_pass(&self, on: bool) {
        self.set_own_stats_pass(on);
        for (_, child) in self.children() {
            child.set_stats_pass(on);
        }
    }

    /// A key telling this module's type apart from others at the same
    /// address (zero-sized layers share one): the type's name. Not meant
    /// to be overridden.
    fn type_key(&self) -> &'static str {
        std::any::type_name::<Self>()
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
        Visitor::new(&mut |name, slot| {
            if let Slot::Param(p) = slot {
                out.push((name.to_string(), p));
            }
        })
        .module(self);
        out
    }

    /// Every buffer with its dotted name (`1.running_mean`).
    fn named_buffers(&self) -> Vec<(String, &Buffer<T>)> {
        let mut out = Vec::new();
        Visitor::new(&mut |name, slot| {
            if let Slot::Buffer(b) = slot {
                out.push((name.to_string(), b));
            }
        })
        .module(self);
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

/// The number of scalar parameters `m` holds itself (not its children's).
pub fn own_parameters<T: Float, M: Module<T> + ?Sized>(m: &M) -> usize {
    let mut n = 0;
    m.visit(&mut Visitor::new(&mut |_, slot| {
        if let Slot::Param(p) = slot {
            n += p.numel();
        }
    }));
    n
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

/// `Module::incremental` for a layer that acts on each position alone.
macro_rules! position_wise {
    () => {
        fn incremental(&self) -> bool {
            true
        }
    };
}
pub(crate) use position_wise;

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

    /// Visits `m` under the current prefix: its own slots, then each of its
    /// [`Module::children`] under `name.`, recursively.
    pub fn module<M: Module<T> + ?Sized>(&mut self, m: &'a M) {
        m.visit(self);
        for (name, child) in m.children() {
            self.child(&name, child);
        }
    }

    /// Visits a child module under `name.`.
    pub fn child(&mut self, name: &str, m: &'a dyn Module<T>) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        self.prefix.push('.');
        self.module(m);
        self.prefix.truncate(len);
    }

    fn emit(&mut self, name: &str, slot: Slot<'a, T>) {
        let len = self.prefix.len();
        self.prefix.push_str(name);
        (self.f)(&self.prefix, slot);
        self.prefix.truncate(len);
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
        let y = (**self).forward(tape, x);
        crate::observe::report(&**self, &y);
        y
    }
    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        (**self).children()
    }
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        (**self).output_shape(input)
    }
    fn watch(&self) -> Option<Watch> {
        (**self).watch()
    }
    fn multiply_adds(&self, output: &[usize]) -> f64 {
        (**self).multiply_adds(output)
    }
    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        (**self).visit(v);
    }
    fn set_mode(&self, training: bool) {
        (**self).set_mode(training);
    }
    fn mode(&self) -> Option<bool> {
        (**self).mode()
    }
    fn set_own_stats_pass(&self, on: bool) {
        (**self).set_own_stats_pass(on);
    }
    fn type_key(&self) -> &'static str {
        (**self).type_key()
    }
}
