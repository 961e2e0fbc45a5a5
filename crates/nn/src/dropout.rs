//! `Dropout` and `Dropout2d`: inverted dropout of elements or of whole
//! channels, with a reproducible mask stream.

use crate::Module;
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{AttentionDropout, Float, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::Cell;

/// Inverted dropout: in training, each element is kept
/// with probability `keep = 1 − p` and scaled by `1/keep`, so the expectation
/// is unchanged and evaluation is the identity. `p` is the probability of
/// dropping, as in PyTorch's `nn.Dropout(p)`.
///
/// The masks are a pure function of the layer's seed and a call counter, so
/// a run is reproducible from its seed and resumable from [`Dropout::state`].
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Dropout, Module};
/// use gradus_tensor::Tensor;
/// use rand::{SeedableRng, rngs::StdRng};
/// let drop = Dropout::new(0.5, &mut StdRng::seed_from_u64(0));
/// let x = Var::constant(Tensor::<f64>::ones(&[1000]));
/// let y = drop.forward(&Tape::new(), &x).into_value().to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// Module::<f64>::eval(&drop);
/// assert_eq!(drop.forward(&Tape::new(), &x).value().to_vec(), vec![1.0; 1000]);
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    seed: Cell<u64>,
    calls: Cell<u64>,
    training: Cell<bool>,
}

impl Dropout {
    /// Drops with probability `p`, its mask stream seeded from `rng`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(p: f64, rng: &mut R) -> Self {
        Self::seeded(p, rng.random())
    }

    /// Drops with probability `p`, masks drawn from `seed`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    #[track_caller]
    pub fn seeded(p: f64, seed: u64) -> Self {
        assert!((0.0..=1.0).contains(&p), "Dropout: p must be in [0, 1], got {p}");
        Self { p, seed: Cell::new(seed), calls: Cell::new(0), training: Cell::new(true) }
    }

    /// Keeps with probability `keep` (the lecture's parameter): `Dropout`
    /// with p = 1 − keep.
    #[track_caller]
    pub fn with_keep<R: Rng + ?Sized>(keep: f64, rng: &mut R) -> Self {
        Self::new(1.0 - keep, rng)
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// (seed, masks drawn so far): everything that decides the next mask.
    pub fn state(&self) -> (u64, u64) {
        (self.seed.get(), self.calls.get())
    }

    /// Restores a [`Dropout::state`].
    pub fn set_state(&self, (seed, calls): (u64, u64)) {
        self.seed.set(seed);
        self.calls.set(calls);
    }

    /// The mask of the next call: 0 or 1/keep per element. Each row (the
    /// first axis; a value of rank 0 or 1 is one row) is drawn from (seed,
    /// call, the row's position in the full batch), so a shard of a batch
    /// gets the rows of the whole batch's mask (see [`crate::in_shard`]).
    fn mask<T: Float>(&self, shape: &[usize]) -> Tensor<T> {
        let n = self.calls.get();
        self.calls.set(n + 1);
        let keep = 1.0 - self.p;
        let scale = T::of(1.0 / keep);
        let (rows, per_row) = match shape.split_first() {
            Some((&rows, rest)) if !rest.is_empty() => (rows, rest.iter().product()),
            _ => (1, shape.iter().product()),
        };
        let (first, seed) = (crate::shard::first_row() as u64, self.seed.get());
        let mut data = vec![T::zero(); rows * per_row];
        let fill = |(r, row): (usize, &mut [T])| {
            let mut rng = StdRng::seed_from_u64(row_seed(seed, n, first + r as u64));
            row.iter_mut().for_each(|v| *v = if rng.random::<f64>() < keep { scale } else { T::zero() });
        };
        // Rows draw from streams of their own, so they can be drawn side
        // by side (attention's [N, heads, T, T] masks are large).
        if per_row > 0 && rows > 1 && data.len() >= PARALLEL_MASK {
            use rayon::prelude::*;
            data.par_chunks_mut(per_row).enumerate().for_each(fill);
            gradus_tensor::note_parallel_work();
        } else if per_row > 0 {
            data.chunks_mut(per_row).enumerate().for_each(fill);
        }
        Tensor::from_vec(data, shape).expect("length is the shape's product")
    }
}

/// Masks of at least this many values are drawn on every thread.
const PARALLEL_MASK: usize = 1 << 15;

/// The seed of one row's mask: (layer seed, call, row) mixed by SplitMix64
/// steps, so neighbouring calls and rows get unrelated streams.
fn row_seed(seed: u64, call: u64, row: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(mix(mix(seed) ^ call) ^ row)
}

impl Dropout {
    /// Dropout on attention weights for this call, drawn inside the
    /// attention kernels ([`AttentionDropout`]): a stream of its own per
    /// call from the layer's seed, rows counted from this shard's first
    /// example (`rows_per_example` query rows each: heads × T). `None`
    /// in evaluation or with p = 0.
    pub(crate) fn attention_dropout(&self, rows_per_example: usize) -> Option<AttentionDropout> {
        if !self.training.get() || self.p == 0.0 {
            return None;
        }
        let n = self.calls.get();
        self.calls.set(n + 1);
        let first_row = (crate::shard::first_row() * rows_per_example) as u64;
        Some(AttentionDropout { p: self.p, seed: row_seed(self.seed.get(), n, u64::MAX), first_row })
    }

    /// `x` times a mask of `mask_shape` (broadcast against `x`), in training.
    fn apply<T: Float>(&self, x: &Var<T>, mask_shape: &[usize]) -> Var<T> {
        match self.training_mask(mask_shape) {
            Some(mask) => x * &Var::constant(mask),
            None => x.clone(),
        }
    }

    /// The mask of 0 and 1/(1 − p) training multiplies into a value of
    /// `shape` (all 0 for p = 1), drawn from the stream; `None` in
    /// evaluation or for p = 0.
    fn training_mask<T: Float>(&self, shape: &[usize]) -> Option<Tensor<T>> {
        if !self.training.get() || self.p == 0.0 {
            return None;
        }
        if self.p == 1.0 {
            return Some(Tensor::zeros(shape));
        }
        Some(self.mask(shape))
    }
}

impl<T: Float> Module<T> for Dropout {
    crate::module::same_shape!();
    crate::module::position_wise!();

    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        self.apply(x, x.shape())
    }

    fn set_mode(&self, training: bool) {
        self.training.set(training);
    }

    fn mode(&self) -> Option<bool> {
        Some(self.training.get())
    }

    fn visit<'a>(&'a self, v: &mut crate::Visitor<'a, '_, T>) {
        v.counter("seed", &self.seed);
        v.counter("calls", &self.calls);
    }
}

/// Channel dropout, as PyTorch's `nn.Dropout2d`: in training, each channel
/// of each example of `[N, C, H, W]` (or `[N, C, L]`) is zeroed with
/// probability `p` as a whole, the others scaled by 1/(1 − p). Masks come
/// from the same seeded stream as [`Dropout`]'s, saved as `seed` and `calls`.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Dropout2d, Module};
/// use gradus_tensor::Tensor;
///
/// let drop = Dropout2d::seeded(0.5, 3);
/// let y = Module::<f64>::forward(&drop, &Tape::new(), &Var::constant(Tensor::ones(&[4, 8, 3, 3])));
/// for plane in y.value().to_vec().chunks(9) {
///     assert!(plane.iter().all(|&v| v == plane[0]) && (plane[0] == 0.0 || plane[0] == 2.0));
/// }
/// ```
#[derive(Debug)]
pub struct Dropout2d(Dropout);

impl Dropout2d {
    /// Drops a channel with probability `p`, masks drawn from `seed`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    #[track_caller]
    pub fn seeded(p: f64, seed: u64) -> Self {
        Self(Dropout::seeded(p, seed))
    }

    /// Drops a channel with probability `p`, its mask stream seeded from `rng`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(p: f64, rng: &mut R) -> Self {
        Self(Dropout::new(p, rng))
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.0.p
    }
}

impl<T: Float> Module<T> for Dropout2d {
    #[track_caller]
    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        if let Some(Err(e)) = Module::<T>::output_shape(self, x.shape()) {
            panic!("{e}");
        }
        let mut mask = vec![1; x.rank()];
        mask[..2].copy_from_slice(&x.shape()[..2]);
        self.0.apply(x, &mask)
    }

    fn set_mode(&self, training: bool) {
        self.0.training.set(training);
    }

    fn mode(&self) -> Option<bool> {
        Some(self.0.training.get())
    }

    fn visit<'a>(&'a self, v: &mut crate::Visitor<'a, '_, T>) {
        Module::<T>::visit(&self.0, v);
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(match input.len() {
            3 | 4 => Ok(input.to_vec()),
            _ => Err(format!("Dropout2d needs [N, C, H, W] or [N, C, L], got {input:?}")),
        })
    }
}
