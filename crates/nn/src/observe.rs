//! Observation of a forward pass (PyTorch's forward hooks): every
//! descendant's output, by its dotted name, found from the modules'
//! [`Module::children`] declarations.
//!
//! A call to [`Module::forward_observed`] names every descendant from the
//! declarations, then runs the plain forward pass with an observation
//! scope open on this thread; each child called through its
//! `Box<dyn Module>` reports its output to the innermost scope, which
//! recognises it by address and type (zero-sized layers share an address:
//! those of one type take their names in declaration order). The observer
//! is called once the pass is over, in the order the outputs were made.

use crate::Module;
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

/// Sees every module's output during [`Module::forward_observed`], with
/// its dotted name (`1` for the second layer of a
/// [`Sequential`](crate::Sequential), `0.1` one level down).
pub struct Observer<'f, T: Float> {
    f: &'f mut Observe<'f, T>,
}

/// What an [`Observer`] calls: `(name, module, output)`.
pub type Observe<'f, T> = dyn FnMut(&str, &dyn Module<T>, &Var<T>) + 'f;

impl<'f, T: Float> Observer<'f, T> {
    /// An observer calling `f(name, module, output)` for each module's
    /// output, inner modules before the containers holding them.
    pub fn new(f: &'f mut Observe<'f, T>) -> Self {
        Self { f }
    }
}

type Key = (usize, &'static str);

struct Scope<T: Float> {
    names: HashMap<Key, VecDeque<String>>,
    seen: Vec<(String, Var<T>)>,
}

thread_local! {
    static SCOPES: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    static OPEN: Cell<usize> = const { Cell::new(0) };
}

fn key<T: Float, M: Module<T> + ?Sized>(m: &M) -> Key {
    (std::ptr::from_ref(m).cast::<()>() as usize, m.type_key())
}

fn descendants<'a, T: Float>(
    children: Vec<(String, &'a dyn Module<T>)>,
    prefix: &str,
    out: &mut Vec<(String, &'a dyn Module<T>)>,
) {
    for (name, child) in children {
        let full = format!("{prefix}{name}");
        descendants(child.children(), &format!("{full}."), out);
        out.push((full, child));
    }
}

/// Closes the innermost scope when dropped (also on a panic).
struct Close;

impl Drop for Close {
    fn drop(&mut self) {
        SCOPES.with(|s| s.borrow_mut().pop());
        OPEN.with(|o| o.set(o.get() - 1));
    }
}

/// `m.forward(tape, x)` with every descendant's output shown to `observer`.
pub(crate) fn run<T: Float, M: Module<T> + ?Sized>(
    m: &M,
    tape: &Tape<T>,
    x: &Var<T>,
    observer: &mut Observer<'_, T>,
) -> Var<T> {
    let mut all = Vec::new();
    descendants(m.children(), "", &mut all);
    let mut names: HashMap<Key, VecDeque<String>> = HashMap::new();
    // Modules sharing a key take their names in declaration order.
    for (name, child) in &all {
        names.entry(key(*child)).or_default().push_back(name.clone());
    }
    let scope: Box<dyn Any> = Box::new(Scope::<T> { names, seen: Vec::new() });
    SCOPES.with(|s| s.borrow_mut().push(scope));
    OPEN.with(|o| o.set(o.get() + 1));
    let close = Close;
    let y = m.forward(tape, x);
    let seen = SCOPES.with(|s| {
        s.borrow_mut().last_mut().and_then(|b| b.downcast_mut::<Scope<T>>()).map(|sc| std::mem::take(&mut sc.seen))
    });
    drop(close);
    for (name, out) in seen.unwrap_or_default() {
        if let Some((_, module)) = all.iter().find(|(n, _)| *n == name) {
            (observer.f)(&name, *module, &out);
        }
    }
    y
}

/// Shows `y`, the output of `m`, to the innermost open scope, if any.
pub(crate) fn report<T: Float, M: Module<T> + ?Sized>(m: &M, y: &Var<T>) {
    if OPEN.with(Cell::get) == 0 {
        return;
    }
    SCOPES.with(|s| {
        let mut s = s.borrow_mut();
        let Some(scope) = s.last_mut().and_then(|b| b.downcast_mut::<Scope<T>>()) else { return };
        if let Some(name) = scope.names.get_mut(&key(m)).and_then(VecDeque::pop_front) {
            scope.seen.push((name, y.clone()));
        }
    });
}
