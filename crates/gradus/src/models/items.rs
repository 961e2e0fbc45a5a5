//! The table of `seq(...)` items: one [`Entry`] per item name (its keys and
//! its parser), and the [`Layer`] each parser returns (how to build it and
//! how many values it stores). The accepted names, the unknown-item
//! message and the coverage test all read the table.

use super::{activation, attention, conv, nest, norm, pool, sequence};
use gradus_nn::Module;
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::any::{Any, TypeId};
use std::fmt::Debug;
use std::sync::Arc;

/// One parsed item: builds its module and counts what it stores.
pub(crate) trait Layer: Debug + Send + Sync {
    /// The module in f32, its weights drawn from `rng`.
    fn build_f32(&self, rng: &mut StdRng) -> Box<dyn Module<f32>>;
    /// The module in f64.
    fn build_f64(&self, rng: &mut StdRng) -> Box<dyn Module<f64>>;
    /// The values it stores (parameters and buffers), counted from the
    /// spec without building it, in f64 (any count a spec can write).
    fn stored(&self) -> f64 {
        0.0
    }
    /// Whether a model starting with this item takes flattened examples.
    fn flat_input(&self) -> bool {
        false
    }
}

/// `build_f32` and `build_f64` from the item's generic
/// `fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>>`.
macro_rules! builds {
    () => {
        fn build_f32(&self, rng: &mut rand::rngs::StdRng) -> Box<dyn gradus_nn::Module<f32>> {
            self.make::<f32>(rng)
        }
        fn build_f64(&self, rng: &mut rand::rngs::StdRng) -> Box<dyn gradus_nn::Module<f64>> {
            self.make::<f64>(rng)
        }
    };
}
pub(crate) use builds;

/// `layer`'s module in the element type `T`.
pub(crate) fn build<T: Float>(layer: &dyn Layer, rng: &mut StdRng) -> Box<dyn Module<T>> {
    let built: Box<dyn Any> = if TypeId::of::<T>() == TypeId::of::<f32>() {
        Box::new(layer.build_f32(rng))
    } else {
        Box::new(layer.build_f64(rng))
    };
    *built.downcast::<Box<dyn Module<T>>>().unwrap_or_else(|_| panic!("Float is f32 or f64"))
}

/// An item whose module holds no parameters and is the same in both
/// element types: a copy of the module itself.
#[derive(Debug)]
pub(crate) struct Stateless<M>(pub M);

impl<M> Layer for Stateless<M>
where
    M: Module<f32> + Module<f64> + Clone + Debug + Send + Sync + 'static,
{
    fn build_f32(&self, _rng: &mut StdRng) -> Box<dyn Module<f32>> {
        Box::new(self.0.clone())
    }
    fn build_f64(&self, _rng: &mut StdRng) -> Box<dyn Module<f64>> {
        Box::new(self.0.clone())
    }
}

/// `Ok(Arc::new(Stateless(module)))`.
pub(crate) fn stateless<M>(module: M) -> Result<Arc<dyn Layer>, SpecError>
where
    M: Module<f32> + Module<f64> + Clone + Debug + Send + Sync + 'static,
{
    Ok(Arc::new(Stateless(module)))
}

/// What an item's parser returns.
pub(crate) type Parsed = Result<Arc<dyn Layer>, SpecError>;

/// A parser: the spec and its keyed arguments, checked against the keys.
pub(crate) type Parse = fn(&Spec, Args) -> Parsed;

/// An item as written, and parsed.
pub(crate) type Named = (String, Arc<dyn Layer>);

/// How an item takes its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Takes {
    /// Positional arguments take the keys in order.
    Keys,
    /// Positional arguments are the parser's to read (the items of `seq`
    /// and `res`, the dimensions of `reshape`); only `keys` by name.
    Positional,
}

/// One item of the table.
pub(crate) struct Entry {
    /// The name in a spec.
    pub name: &'static str,
    /// Its keys, in PyTorch's argument order.
    pub keys: &'static [&'static str],
    /// Whether positional arguments are keys or items.
    pub takes: Takes,
    /// The parser: the spec and its keyed arguments, checked against `keys`.
    pub parse: Parse,
}

impl Entry {
    /// An entry whose positional arguments take its keys in order.
    pub const fn new(name: &'static str, keys: &'static [&'static str], parse: Parse) -> Self {
        Self { name, keys, takes: Takes::Keys, parse }
    }
}

/// Every entry, family by family.
pub(crate) fn entries() -> impl Iterator<Item = &'static Entry> {
    [
        conv::ENTRIES,
        pool::ENTRIES,
        norm::ENTRIES,
        activation::ENTRIES,
        nest::ENTRIES,
        sequence::ENTRIES,
        attention::ENTRIES,
    ]
    .into_iter()
    .flatten()
}

/// The item names `seq(...)` accepts, in the table's order.
pub fn item_names() -> Vec<&'static str> {
    entries().map(|e| e.name).collect()
}

/// The item `spec` names, parsed by its entry.
///
/// # Errors
/// An unknown name (listing the accepted ones), or what the item's parser
/// finds wrong.
pub(crate) fn parse_item(spec: &Spec) -> Parsed {
    let Some(entry) = entries().find(|e| e.name == spec.name) else {
        return Err(spec.error(format!("unknown item `{}`; accepted: {}", spec.name, item_names().join(", "))));
    };
    let args = match entry.takes {
        Takes::Keys => spec.args(entry.keys)?,
        Takes::Positional => {
            let keyed = Spec {
                name: spec.name.clone(),
                args: spec.args.iter().filter(|(k, _)| k.is_some()).cloned().collect(),
            };
            keyed.args(entry.keys)?
        }
    };
    (entry.parse)(spec, args)
}

/// The positional arguments of `spec` as items: nested specs or bare
/// words (`relu`).
pub(crate) fn positional_items(spec: &Spec) -> Result<Vec<Named>, SpecError> {
    let mut items = Vec::new();
    for (key, value) in &spec.args {
        if key.is_some() {
            continue;
        }
        items.push(item_of(spec, value)?);
    }
    Ok(items)
}

/// A value that is an item (a nested spec or a bare word), parsed.
pub(crate) fn item_of(spec: &Spec, value: &Value) -> Result<Named, SpecError> {
    let item = match value {
        Value::Spec(s) => s.clone(),
        Value::Word(w) => Spec { name: w.clone(), args: Vec::new() },
        other => {
            return Err(spec.error(format!("items are layers such as linear(784, 10) or relu, got `{other}`")));
        }
    };
    Ok((item.to_string(), parse_item(&item)?))
}
