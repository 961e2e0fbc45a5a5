//! Items that hold items: `seq` (a nested `nn.Sequential`), `res` (a
//! residual block) and `repeat` (copies of one item, each initialised on
//! its own).

use super::args::{err, positive, required};
use super::items::{Entry, Layer, Takes, build, item_of, positional_items};
use gradus_nn::{Module, Residual, Sequential};
use gradus_spec::{Args, Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::rngs::StdRng;
use std::sync::Arc;

pub(super) const ENTRIES: &[Entry] = &[
    Entry { name: "seq", keys: &[], takes: Takes::Positional, parse: parse_seq },
    Entry { name: "res", keys: &["shortcut"], takes: Takes::Positional, parse: parse_res },
    Entry::new("repeat", &["n", "item"], parse_repeat),
];

/// Items in order, as one `Sequential`.
pub(crate) struct SeqItem {
    pub items: Vec<(String, Arc<dyn Layer>)>,
}

/// The items without their spelling, so that specs that differ only in
/// keys or positions print (and compare) the same.
impl std::fmt::Debug for SeqItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.items.iter().map(|(_, l)| l)).finish()
    }
}

impl SeqItem {
    pub(crate) fn sequential<T: Float>(&self, rng: &mut StdRng) -> Sequential<T> {
        let mut net = Sequential::new();
        for (_, item) in &self.items {
            net.push(build::<T>(item.as_ref(), rng));
        }
        net
    }

    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        Box::new(self.sequential::<T>(rng))
    }
}

impl Layer for SeqItem {
    super::items::builds!();
    fn stored(&self) -> f64 {
        self.items.iter().map(|(_, i)| i.stored()).sum()
    }
    fn flat_input(&self) -> bool {
        self.items.first().is_some_and(|(_, i)| i.flat_input())
    }
}

/// The items of a `seq(...)`: at least one.
pub(crate) fn parse_items(spec: &Spec) -> Result<SeqItem, SpecError> {
    let items = positional_items(spec)?;
    if items.is_empty() {
        return Err(err(spec, "needs at least one item"));
    }
    Ok(SeqItem { items })
}

fn parse_seq(spec: &Spec, _: Args) -> Result<Arc<dyn Layer>, SpecError> {
    Ok(Arc::new(parse_items(spec)?))
}

#[derive(Debug)]
struct ResItem {
    body: SeqItem,
    shortcut: Option<SeqItem>,
}

impl ResItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        let body = self.body.sequential::<T>(rng);
        match &self.shortcut {
            None => Box::new(Residual::new(body)),
            Some(s) => Box::new(Residual::with_shortcut(body, s.sequential::<T>(rng))),
        }
    }
}

impl Layer for ResItem {
    super::items::builds!();
    fn stored(&self) -> f64 {
        self.body.stored() + self.shortcut.as_ref().map_or(0.0, SeqItem::stored)
    }
    fn flat_input(&self) -> bool {
        self.body.flat_input()
    }
}

fn parse_res(spec: &Spec, a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    let body = parse_items(spec)?;
    let shortcut = match a.get("shortcut") {
        None => None,
        Some(Value::Spec(s)) if s.name == "seq" => Some(parse_items(s)?),
        Some(v) => Some(SeqItem { items: vec![item_of(spec, v)?] }),
    };
    Ok(Arc::new(ResItem { body, shortcut }))
}

#[derive(Debug)]
struct RepeatItem {
    n: usize,
    item: Arc<dyn Layer>,
}

impl RepeatItem {
    fn make<T: Float>(&self, rng: &mut StdRng) -> Box<dyn Module<T>> {
        let mut net = Sequential::new();
        for _ in 0..self.n {
            net.push(build::<T>(self.item.as_ref(), rng));
        }
        Box::new(net)
    }
}

impl Layer for RepeatItem {
    super::items::builds!();
    fn stored(&self) -> f64 {
        self.n as f64 * self.item.stored()
    }
    fn flat_input(&self) -> bool {
        self.item.flat_input()
    }
}

fn parse_repeat(spec: &Spec, mut a: Args) -> Result<Arc<dyn Layer>, SpecError> {
    required(&a, spec, "n")?;
    let n =
        positive(&mut a, spec, "n").map_err(|_| err(spec, "`n` must be a positive integer (the number of copies)"))?;
    if n > 100_000 {
        return Err(err(spec, format!("`n` = {n} copies is more than the 100000 accepted")));
    }
    required(&a, spec, "item")?;
    let (_, item) = item_of(spec, a.get("item").expect("required"))?;
    Ok(Arc::new(RepeatItem { n, item }))
}
