//! The seam: `UpdateRule`, a per-parameter update with explicit state and
//! the learning rate passed in, and the fused element pass every update
//! runs through.

use crate::platform::Float;
use crate::platform::filled_vec;
use rayon::prelude::*;
use std::fmt;

/// The state of one parameter: its shape, the step count, buffers (moment
/// estimates, accumulators; as long as the parameter for most methods,
/// Adafactor's row and column factors are not) and per-parameter scalars
/// (NAdam's μ product, ASGD's η and μ).
#[derive(Clone, Debug, PartialEq)]
pub struct State<T> {
    /// The parameter's shape (`[len]` for a vector), fixed when the state is
    /// made: methods that treat matrices apart (Adafactor, Muon) read it.
    pub shape: Vec<usize>,
    /// Updates taken.
    pub step: u64,
    /// Buffers, in the order of [`UpdateRule::slots`].
    pub slots: Vec<Vec<T>>,
    /// Scalars, in the order of [`UpdateRule::scalars`].
    pub scalars: Vec<f64>,
}

impl<T> State<T> {
    /// The `N` per-element buffers, in order, for a rule that keeps `N`
    /// (the one check of the slot count an update makes; the driver builds
    /// every state with [`UpdateRule::init`] and restores it by the rule's
    /// slot names, so the count always matches there).
    ///
    /// ```
    /// use gradus_optim::State;
    /// let mut state = State { shape: vec![1], step: 0, slots: vec![vec![1.0f32], vec![2.0]], scalars: vec![] };
    /// let [s, r] = state.slots_mut::<2>();
    /// s[0] += r[0];
    /// assert_eq!(state.slots[0], vec![3.0]);
    /// ```
    ///
    /// # Panics
    /// If the state holds another number of slots: a state made for
    /// another rule.
    #[track_caller]
    pub fn slots_mut<const N: usize>(&mut self) -> [&mut [T]; N] {
        let held = self.slots.len();
        let slots: Option<&mut [Vec<T>; N]> = self.slots.as_mut_slice().try_into().ok();
        let slots = slots.unwrap_or_else(|| panic!("a state of {held} slots given to a rule that keeps {N}"));
        slots.each_mut().map(|v| v.as_mut_slice())
    }
}

/// One parameter of a group that steps together
/// ([`UpdateRule::update_group`]): its values, gradient and state.
#[derive(Debug)]
pub struct Member<'a, T> {
    /// The parameter's values.
    pub param: &'a mut [T],
    /// Its gradient.
    pub grad: &'a [T],
    /// Its state.
    pub state: &'a mut State<T>,
}

/// One optimisation method: how a parameter moves given its gradient, its
/// state and the learning rate. Hyper-parameters other than the rate live
/// in the implementing type and are named as PyTorch names them.
///
/// # Examples
/// ```
/// use gradus_optim::{UpdateRule, Sgd, SgdConfig};
/// let sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).unwrap();
/// let mut theta = vec![1.0f64, -2.0];
/// let mut state = UpdateRule::<f64>::init(&sgd, 0.1, &[2]);
/// sgd.update(0.1, &mut theta, &[0.5, 0.5], &mut state);
/// assert_eq!(theta, vec![0.95, -2.05]);
/// ```
pub trait UpdateRule<T: Float>: Send + Sync + fmt::Debug {
    /// The name in spec strings (`adam`).
    fn name(&self) -> &'static str;

    /// The learning rate it was built with (PyTorch's default unless given).
    fn default_lr(&self) -> f64;

    /// Names of the state buffers of a parameter of this shape (PyTorch's
    /// names where it has them); most methods keep the same ones whatever
    /// the shape.
    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        let _ = shape;
        &[]
    }

    /// Names of the per-parameter scalars of a parameter of this shape.
    fn scalars(&self, shape: &[usize]) -> &'static [&'static str] {
        let _ = shape;
        &[]
    }

    /// The state of a new parameter of this shape; by default one buffer
    /// per slot, as long as the parameter and 0, unless a method says
    /// otherwise (AdaGrad's initial accumulator, Rprop's step sizes,
    /// Adafactor's factors). Its buffers' lengths are the ones a restored
    /// state is checked against.
    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        let _ = lr;
        let len = shape.iter().product();
        let slots = self.slots(shape).iter().map(|_| filled_vec(len, T::zero())).collect();
        State { shape: shape.to_vec(), step: 0, slots, scalars: Vec::new() }
    }

    /// One update of `param` from `grad` with learning rate `lr`.
    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>);

    /// Whether a step couples the parameters of a group (Prodigy's step
    /// size comes from sums over all of them): the driver then updates a
    /// group's parameters together through [`UpdateRule::update_group`].
    fn couples(&self) -> bool {
        false
    }

    /// One step of every member of a group, in the order given (the
    /// parameters' order). By default each on its own; a method that
    /// [`couples`](UpdateRule::couples) its parameters overrides it.
    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        for m in members {
            self.update(lr, m.param, m.grad, m.state);
        }
    }

    /// The weights to evaluate and save instead of `param`, if the method
    /// takes its gradients elsewhere than where it should be judged
    /// (schedule-free methods: gradients at y, evaluation at x); `None`
    /// when the parameter itself is (every other method, and before the
    /// first step).
    fn eval_params(&self, param: &[T], state: &State<T>) -> Option<Vec<T>> {
        let _ = (param, state);
        None
    }

    /// Whether the gradient a step uses is to be taken at a perturbed
    /// point (SAM's θ + e, [`Perturbation`](crate::Perturbation)): the
    /// trainer and `gradus trace` then evaluate twice a step.
    fn sharpness_aware(&self) -> Option<crate::Perturbation> {
        None
    }

    /// One step of every member with the batch's curvature at hand, for a
    /// method whose [`curvature_request`](UpdateRule::curvature_request)
    /// [`solves`](crate::CurvatureKind::solves) (Hessian-free): the driver
    /// calls this instead of [`update`](UpdateRule::update) for them, with
    /// every parameter of the model as one group. By default the group's
    /// ordinary step.
    ///
    /// # Errors
    /// What the oracle could not do, as a message.
    fn update_solving(
        &self,
        lr: f64,
        members: &mut [Member<'_, T>],
        oracle: &mut dyn crate::CurvatureOracle<T>,
    ) -> std::result::Result<(), String> {
        let _ = oracle;
        self.update_group(lr, members);
        Ok(())
    }

    /// The curvature the method wants measured, and every how many steps
    /// ([`UpdateRule::observe_curvature`] before the steps at step counts
    /// 0, k, 2k, …), if it uses any (Sophia: the Hessian's diagonal;
    /// K-FAC: Kronecker factors).
    fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        None
    }

    /// Takes a curvature estimate at the parameter into the state, before
    /// the step it belongs to. By default nothing: the method uses none.
    fn observe_curvature(&self, state: &mut State<T>, estimate: crate::Estimate<'_, T>) {
        let _ = (state, estimate);
    }

    /// The momentum a cyclical schedule may drive (SGD's `momentum`,
    /// Adam's β₁), if the method has one.
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// Sets that momentum; `false` if the method has none.
    fn set_momentum(&mut self, momentum: f64) -> bool {
        let _ = momentum;
        false
    }
}

/// `names` as a list that lives as long as the program, one per distinct
/// list: the slot names of a wrapper (Lookahead: its inner method's and
/// `slow`), which `UpdateRule::slots` returns as `'static`.
pub(crate) fn intern_slots(names: Vec<&'static str>) -> &'static [&'static str] {
    static SEEN: std::sync::Mutex<Vec<&'static [&'static str]>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = seen.iter().find(|s| ***s == names[..]) {
        return known;
    }
    let leaked: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    seen.push(leaked);
    leaked
}

/// A boxed method is a method (what [`parse`](crate::parse) returns can go
/// wherever a concrete one can, a parameter group included).
impl<T: Float> UpdateRule<T> for Box<dyn UpdateRule<T>> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn default_lr(&self) -> f64 {
        (**self).default_lr()
    }

    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        (**self).slots(shape)
    }

    fn scalars(&self, shape: &[usize]) -> &'static [&'static str] {
        (**self).scalars(shape)
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        (**self).init(lr, shape)
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        (**self).update(lr, param, grad, state);
    }

    fn eval_params(&self, param: &[T], state: &State<T>) -> Option<Vec<T>> {
        (**self).eval_params(param, state)
    }

    fn couples(&self) -> bool {
        (**self).couples()
    }

    fn sharpness_aware(&self) -> Option<crate::Perturbation> {
        (**self).sharpness_aware()
    }

    fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        (**self).curvature_request()
    }

    fn update_solving(
        &self,
        lr: f64,
        members: &mut [Member<'_, T>],
        oracle: &mut dyn crate::CurvatureOracle<T>,
    ) -> std::result::Result<(), String> {
        (**self).update_solving(lr, members, oracle)
    }

    fn observe_curvature(&self, state: &mut State<T>, estimate: crate::Estimate<'_, T>) {
        (**self).observe_curvature(state, estimate);
    }

    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        (**self).update_group(lr, members);
    }

    fn momentum(&self) -> Option<f64> {
        (**self).momentum()
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        (**self).set_momentum(momentum)
    }
}

/// Below this many elements an update runs on one thread.
pub const PARALLEL_MIN: usize = 1 << 16;
/// Below this many elements an update also runs on one thread unless the
/// pool's workers are awake from other parallel work
/// (gradus-tensor's `workers_awake`): waking a sleeping one costs more than
/// splitting saves. Measured on a 784-256-128-10 MLP (a 200 k-element first
/// weight), alternating processes, 2 threads: splitting always made the
/// batch-32 step 18% slower, never splitting made the batch-128 step (whose
/// backward leaves the workers awake) 6–8% slower.
pub const PARALLEL_MIN_COLD: usize = 1 << 19;

/// Whether `len` elements of updates are worth splitting across the pool's
/// threads: [`PARALLEL_MIN`] at least, and [`PARALLEL_MIN_COLD`] unless the
/// workers are awake.
pub(crate) fn split_pays(len: usize) -> bool {
    len >= PARALLEL_MIN
        && rayon::current_num_threads() > 1
        && (len >= PARALLEL_MIN_COLD || crate::platform::workers_awake())
}

/// Bytes of parameter, gradient and state above which an update sweeps with
/// the AVX2 copy even where the AVX-512 one pays ([`fused`]): on a Zen 5,
/// Adam's pass over f32 took 0.53–0.58× the AVX2 copy's time up to 1 M
/// elements (16 MB of its four arrays, in the 32 MB L3), the same at 4 M,
/// and 1.02× at 10 M, where memory bounds it.
#[cfg(target_arch = "x86_64")]
const WIDE_SWEEP_MAX_BYTES: usize = 16 << 20;

#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: used only to hand disjoint chunks of exclusively borrowed slices
// to rayon tasks (see `fused`).
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above; each task touches only its own range.
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// The fused element pass: `f(θᵢ, gᵢ, [slotᵢ…])` for every element, in one
/// sweep, split across threads above [`PARALLEL_MIN`] elements. No
/// temporary tensor is made.
///
/// # Panics
/// If the slices differ in length.
pub(crate) fn fused<T: Float, const N: usize>(
    param: &mut [T],
    grad: &[T],
    slots: [&mut [T]; N],
    f: impl Fn(&mut T, T, [&mut T; N]) + Sync,
) {
    let len = param.len();
    assert_eq!(grad.len(), len, "gradient and parameter lengths differ");
    assert!(slots.iter().all(|s| s.len() == len), "state and parameter lengths differ");
    // The copy of the sweep, chosen once for every chunk: AVX-512 only
    // where it pays and the whole parameter's arrays fit in cache (beyond,
    // memory bounds the pass).
    #[cfg(target_arch = "x86_64")]
    let (wide, avx2) = {
        use crate::platform::{SimdLevel, simd_level};
        let in_cache = len.saturating_mul(N + 2).saturating_mul(std::mem::size_of::<T>()) <= WIDE_SWEEP_MAX_BYTES;
        (in_cache && simd_level() >= SimdLevel::Avx512 && wide_sweep_pays(), simd_level() >= SimdLevel::Avx2)
    };
    let run = |p: &mut [T], g: &[T], s: [&mut [T]; N]| {
        #[cfg(target_arch = "x86_64")]
        {
            if wide {
                // SAFETY: `wide` holds only where the CPU has AVX-512F, AVX2 and FMA.
                return unsafe { sweep_avx512(p, g, s, &f) };
            }
            if avx2 {
                // SAFETY: `avx2` holds only where the CPU has AVX2 and FMA.
                return unsafe { sweep_avx2(p, g, s, &f) };
            }
        }
        sweep(p, g, s, &f);
    };
    if !split_pays(len) {
        run(param, grad, slots);
        return;
    }
    let chunk = len.div_ceil(rayon::current_num_threads() * 4).max(PARALLEL_MIN / 4);
    let ptrs: [SendPtr<T>; N] = slots.map(|s| SendPtr(s.as_mut_ptr()));
    param.par_chunks_mut(chunk).zip(grad.par_chunks(chunk)).enumerate().for_each(|(k, (p, g))| {
        let start = k * chunk;
        // SAFETY: every slot has `len` elements and is exclusively borrowed
        // for this call; chunk k covers [start, start + p.len()), disjoint
        // from every other task's range.
        let s = ptrs.map(|ptr| unsafe { std::slice::from_raw_parts_mut(ptr.0.add(start), p.len()) });
        run(p, g, s);
    });
    crate::platform::note_parallel_work();
}

/// `f` over every element of one chunk.
#[inline(always)]
fn sweep<T: Float, const N: usize>(p: &mut [T], g: &[T], mut s: [&mut [T]; N], f: &impl Fn(&mut T, T, [&mut T; N])) {
    let n = p.len();
    let g = &g[..n];
    for x in s.iter_mut() {
        *x = &mut std::mem::take(x)[..n];
    }
    for i in 0..n {
        f(&mut p[i], g[i], s.each_mut().map(|x| &mut x[i]));
    }
}

/// [`sweep`] compiled for AVX2 and FMA: the same IEEE operations in the
/// same order (Rust never fuses a multiply and an add on its own, and a
/// `mul_add` rounds once either way: an instruction here, libm's `fma` in
/// the portable copy), so the same bits,
/// on 8 lanes of f32 instead of SSE's 4. It matters for the cache-resident
/// parameters of small networks, where Adam's divide and square root, not
/// memory, bound the update (35% → 22% of an MLP step at batch 32).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sweep_avx2<T: Float, const N: usize>(p: &mut [T], g: &[T], s: [&mut [T]; N], f: &impl Fn(&mut T, T, [&mut T; N])) {
    sweep(p, g, s, f);
}

/// [`sweep`] compiled for AVX-512: the same operations on 16 lanes of f32,
/// so the same bits. It runs where [`wide_sweep_pays`] says so.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
fn sweep_avx512<T: Float, const N: usize>(p: &mut [T], g: &[T], s: [&mut [T]; N], f: &impl Fn(&mut T, T, [&mut T; N])) {
    sweep(p, g, s, f);
}

/// Whether [`sweep_avx512`] beats [`sweep_avx2`] on this CPU, timed once per
/// process on the first call: Adam's pass over 4096 f32 (a division, a
/// square root and a second division an element), each copy's best of 15
/// alternating runs, AVX-512 chosen when it is at least 10% faster. Whether
/// 512-bit division and square root are faster than 256-bit ones depends
/// on the core, not on the instruction set: on a Zen 5, whose vector units
/// are 512 bits wide, the AVX-512 copy took 0.23 ns an element of an MLP's
/// Adam update against 0.37; on a Zen 4, which splits 512-bit operations
/// into two 256-bit halves, it was slower. Both copies give the same bits,
/// so the choice changes only the speed.
#[cfg(target_arch = "x86_64")]
fn wide_sweep_pays() -> bool {
    static PAYS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PAYS.get_or_init(|| {
        if crate::platform::simd_level() < crate::platform::SimdLevel::Avx512 {
            return false;
        }
        const LEN: usize = 4096;
        let g: Vec<f32> = (0..LEN).map(|i| ((i % 97) as f32 - 48.0) * 1e-3).collect();
        let (mut p, mut s, mut r) = (vec![0.5f32; LEN], vec![0.0f32; LEN], vec![0.0f32; LEN]);
        let adam = |p: &mut f32, g: f32, [s, r]: [&mut f32; 2]| {
            *s = lerp(*s, g, 0.1);
            *r = addcmul(0.999 * *r, 0.001, g, g);
            *p += -1e-3 * *s / (r.sqrt() / 0.0447 + 1e-8);
        };
        let mut best = [std::time::Duration::MAX; 2];
        for _ in 0..15 {
            for (wide, best) in best.iter_mut().enumerate() {
                let start = std::time::Instant::now();
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked above.
                unsafe {
                    if wide == 1 {
                        sweep_avx512(&mut p, &g, [&mut s, &mut r], &adam);
                    } else {
                        sweep_avx2(&mut p, &g, [&mut s, &mut r], &adam);
                    }
                }
                *best = (*best).min(start.elapsed());
            }
        }
        best[1].as_secs_f64() * 1.1 <= best[0].as_secs_f64()
    })
}

/// The gradient as the update sees it: negated when maximising, plus
/// `weight_decay`·θ (L2, PyTorch's coupled form).
#[inline(always)]
pub(crate) fn effective_grad<T: Float>(g: T, theta: T, maximize: bool, weight_decay: T) -> T {
    let g = if maximize { -g } else { g };
    if weight_decay != T::zero() { g + weight_decay * theta } else { g }
}

/// `s + w·(e − s)` exactly as `torch.lerp` computes it on x86-64 (from the
/// other end when w ≥ ½, in one fused multiply-add: its vector kernel's
/// `fmadd`, which its scalar kernel's compiled form matches), so moment
/// estimates (and weight averages) round as PyTorch's do.
///
/// ```
/// assert_eq!(gradus_optim::lerp(1.0f64, 3.0, 0.25), 1.5);
/// assert_eq!(gradus_optim::lerp(1.0f64, 3.0, 0.75), 2.5);
/// ```
#[inline(always)]
pub fn lerp<T: Float>(s: T, e: T, w: T) -> T {
    if w.abs() < T::of(0.5) { w.mul_add(e - s, s) } else { (w - T::one()).mul_add(e - s, e) }
}

/// `base` to the power `n` as JAX computes a float to an integer array's
/// power outside `jit` (by squaring: acc·x for each set bit, x·x between),
/// which is not always the correctly rounded power.
pub(crate) fn jax_int_pow(base: f64, mut n: u64) -> f64 {
    let (mut acc, mut x) = (1.0, base);
    while n > 0 {
        if n & 1 == 1 {
            acc *= x;
        }
        n >>= 1;
        x *= x;
    }
    acc
}

/// `jnp.sign`: −1, 0 or 1, and NaN for NaN (Rust's `signum` gives 1 at
/// 0), for the methods from Optax.
#[inline(always)]
pub(crate) fn jnp_sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        x
    }
}

/// The constants of Optax's Adam-family moments at one step: β₁, β₂,
/// 1 − β₁, 1 − β₂ and the bias corrections as factors dᵢ = 1/(1 − βᵢᵗ).
/// Optax's `tree_bias_correction` runs under `jax.jit`, where βᵗ is the
/// correctly rounded power (as `powf`; JAX's eager integer power squares
/// and multiplies instead) and XLA divides an array by a scalar by
/// multiplying with its reciprocal: m̂ = m·d₁.
pub(crate) struct OptaxMoments<T> {
    pub b1: T,
    pub b2: T,
    pub one_b1: T,
    pub one_b2: T,
    pub d1: T,
    pub d2: T,
}

/// One of Optax's bias corrections as a factor, 1/(1 − βᵗ) (see
/// [`OptaxMoments`] for how it rounds).
pub(crate) fn optax_debias<T: Float>(beta: f64, step: u64) -> T {
    T::of(1.0 / (1.0 - beta.powf(step as f64)))
}

impl<T: Float> OptaxMoments<T> {
    pub(crate) fn at(betas: (f64, f64), step: u64) -> Self {
        let debias = |beta: f64| optax_debias(beta, step);
        OptaxMoments {
            b1: T::of(betas.0),
            b2: T::of(betas.1),
            one_b1: T::of(1.0 - betas.0),
            one_b2: T::of(1.0 - betas.1),
            d1: debias(betas.0),
            d2: debias(betas.1),
        }
    }
}

/// Optax's `scale_by_trust_ratio` factor for a parameter and its step:
/// `coefficient·‖θ‖/(‖u‖ + eps)`, or 1 when either norm is 0 (norms as
/// √(Σx²), summed in order).
pub(crate) fn trust_ratio<T: Float>(param: &[T], update: &[T], coefficient: T, eps: T) -> T {
    let norm = |x: &[T]| x.iter().fold(T::zero(), |s, &v| s + v * v).sqrt();
    let (pn, un) = (norm(param), norm(update));
    if pn == T::zero() || un == T::zero() { T::one() } else { coefficient * pn / (un + eps) }
}

/// `r + c·a·b` as `torch.addcmul` rounds it on x86-64: (c·a) times b
/// added to r in one fused multiply-add (with it, NAdam on Rosenbrock
/// follows PyTorch's 3000 steps to one ulp; without, the path leaves
/// PyTorch's at step 302).
#[inline(always)]
pub(crate) fn addcmul<T: Float>(r: T, c: T, a: T, b: T) -> T {
    (c * a).mul_add(b, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameter and both slots after three sweeps of `f` from `start`
    /// (slots from `s0`, `r0`), by every copy of the sweep this CPU runs,
    /// portable first, as bits (f32 widens to f64 exactly).
    #[cfg(target_arch = "x86_64")]
    fn every_sweep<T: Float>(
        g: &[T],
        start: &[T],
        (s0, r0): (T, T),
        f: impl Fn(&mut T, T, [&mut T; 2]),
    ) -> Vec<Vec<u64>> {
        use crate::platform::{SimdLevel, simd_level};
        let n = g.len();
        let mut results = Vec::new();
        for level in [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512] {
            if simd_level() < level {
                continue;
            }
            let (mut p, mut s, mut r) = (start.to_vec(), vec![s0; n], vec![r0; n]);
            for _ in 0..3 {
                match level {
                    SimdLevel::Scalar => sweep(&mut p, g, [&mut s, &mut r], &f),
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    SimdLevel::Avx2 => unsafe { sweep_avx2(&mut p, g, [&mut s, &mut r], &f) },
                    // SAFETY: the CPU has AVX-512F (checked above).
                    SimdLevel::Avx512 => unsafe { sweep_avx512(&mut p, g, [&mut s, &mut r], &f) },
                }
            }
            results.push(p.iter().chain(&s).chain(&r).map(|x| x.as_f64().to_bits()).collect());
        }
        results
    }

    /// The AVX2 and AVX-512 copies of the sweep give the same bits as the
    /// portable one, on Adam's arithmetic (divide, square root) with awkward
    /// values.
    #[test]
    fn the_vector_sweeps_are_bit_identical() {
        #[cfg(target_arch = "x86_64")]
        {
            let n = 1003; // not a multiple of any vector width
            let g: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.7e-3).collect();
            let start: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
            let adam = |p: &mut f32, g: f32, [s, r]: [&mut f32; 2]| {
                *s = lerp(*s, g, 0.1);
                *r = 0.999 * *r + 0.001 * g * g;
                *p -= 1e-3 * (*s / (r.sqrt() / 0.0447 + 1e-8));
            };
            let results = every_sweep(&g, &start, (0.01, 1e-6), adam);
            for (k, other) in results.iter().enumerate().skip(1) {
                assert_eq!(other, &results[0], "copy {k} of the sweep");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        #[test]
        fn every_sweep_gives_the_portable_bits_in_f64(
            values in proptest::collection::vec((-1e3f64..1e3, -10.0f64..10.0), 0..200),
        ) {
            let (g, start): (Vec<f64>, Vec<f64>) = values.into_iter().unzip();
            let adam = |p: &mut f64, g: f64, [s, r]: [&mut f64; 2]| {
                *s = lerp(*s, g, 0.1);
                *r = addcmul(0.999 * *r, 0.001, g, g);
                *p += -1e-3 * *s / (r.sqrt() / 0.0447 + 1e-8);
            };
            let results = every_sweep(&g, &start, (0.0, 0.0), adam);
            for other in &results[1..] {
                proptest::prop_assert_eq!(other, &results[0]);
            }
        }
    }

    #[test]
    fn the_sweep_choice_is_made_once() {
        #[cfg(target_arch = "x86_64")]
        {
            let first = wide_sweep_pays();
            assert_eq!(wide_sweep_pays(), first);
            if crate::platform::simd_level() < crate::platform::SimdLevel::Avx512 {
                assert!(!first, "no AVX-512, no AVX-512 sweep");
            }
        }
    }
}
