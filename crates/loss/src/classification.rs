//! Softmax classification: cross-entropy from logits (class indices or
//! probability targets) with a fused, stable backward rule, and NLL on
//! log-probabilities.

use crate::Reduction;
use gradus_autodiff::Var;
use gradus_tensor::{Float, Tensor};

/// Options of [`cross_entropy_with`] and [`nll_with`], PyTorch's keyword
/// arguments and defaults.
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyOptions<T: Float> {
    /// A weight per class `[C]` (default: all 1).
    pub weight: Option<Tensor<T>>,
    /// A target value whose samples contribute nothing (PyTorch's −100 is
    /// `None` here: no class is ignored by default).
    pub ignore_index: Option<usize>,
    /// ε in [0, 1]: the target becomes (1 − ε)·onehot + ε/C.
    pub label_smoothing: f64,
    /// How per-sample losses are reduced.
    pub reduction: Reduction,
}

impl<T: Float> CrossEntropyOptions<T> {
    /// Defaults with the given reduction.
    pub fn reduction(reduction: Reduction) -> Self {
        Self { reduction, ..Self::default() }
    }
}

/// `[N, C]` logits (or `[C]` for one sample) as a batch, with its class count.
#[track_caller]
fn batch_shape<T: Float>(what: &str, logits: &Var<T>) -> (usize, usize) {
    match logits.shape() {
        [c] => (1, *c),
        [n, c] => (*n, *c),
        s => panic!("{what}: expected logits [batch, classes] or [classes], got shape {s:?}"),
    }
}

/// Logits of a sequence `[N, T, …, C]` against targets `[N, T, …]` as
/// rows `[N·T·…, C]` and targets `[N·T·…]`: every position is a sample, as
/// PyTorch's class-axis-last view of its `[N, C, d…]` form; `None` for
/// logits of rank 2 or less.
#[track_caller]
fn positions<T: Float>(what: &str, logits: &Var<T>, targets: &Tensor<usize>) -> Option<(Var<T>, Tensor<usize>)> {
    let r = logits.rank();
    if r < 3 {
        return None;
    }
    assert_eq!(
        targets.shape(),
        &logits.shape()[..r - 1],
        "{what}: targets must have shape {:?} for logits {:?} (a class index per position)",
        &logits.shape()[..r - 1],
        logits.shape()
    );
    let classes = logits.shape()[r - 1] as isize;
    Some((logits.reshape(&[-1, classes]), targets.reshape(&[-1])))
}

fn shape_of(t: &Tensor<usize>) -> Vec<isize> {
    t.shape().iter().map(|&d| d as isize).collect()
}

#[track_caller]
fn class_weights<T: Float>(what: &str, opts: &CrossEntropyOptions<T>, classes: usize) -> Vec<f64> {
    match &opts.weight {
        None => vec![1.0; classes],
        Some(w) => {
            assert_eq!(w.shape(), &[classes], "{what}: weight must have shape [{classes}], got {:?}", w.shape());
            w.to_vec().iter().map(|x| x.as_f64()).collect()
        }
    }
}

/// Cross-entropy of softmax(logits) against class indices,
/// L = −z_y + log Σ e^{z_m}, with the default options.
///
/// # Examples
/// ```
/// use gradus_autodiff::Tape;
/// use gradus_loss::{Reduction, cross_entropy};
/// use gradus_tensor::Tensor;
/// let tape = Tape::new();
/// let z = tape.leaf(Tensor::from_vec(vec![2.0f64, 0.0, 0.0], &[1, 3]).unwrap());
/// let y = Tensor::from_vec(vec![0usize], &[1]).unwrap();
/// let loss = cross_entropy(&z, &y, Reduction::Mean);
/// let p0 = 2f64.exp() / (2f64.exp() + 2.0);
/// assert!((loss.item() + p0.ln()).abs() < 1e-15);
/// let g = loss.backward().unwrap();
/// assert!((g.get(&z).unwrap().to_vec()[0] - (p0 - 1.0)).abs() < 1e-15); // softmax − onehot
/// ```
#[track_caller]
pub fn cross_entropy<T: Float>(logits: &Var<T>, targets: &Tensor<usize>, reduction: Reduction) -> Var<T> {
    cross_entropy_with(logits, targets, &CrossEntropyOptions::reduction(reduction))
}

/// Cross-entropy against class indices with class weights, an ignored
/// index and label smoothing, exactly as `torch.nn.functional.cross_entropy`:
/// per sample l_n = −Σ_c a_nc log p_nc with a_nc = (1 − ε)·w_y·[c = y] +
/// (ε/C)·w_c (0 for ignored samples); the mean divides by Σ_n w_{y_n} over
/// kept samples (NaN when every sample is ignored, as PyTorch).
///
/// Fused and stable: log p comes from a max-shifted log-softmax (finite at
/// logits ±1000 in f64, ±80 in f32), and the backward rule is the closed
/// form ∂l_n/∂z_n = (Σ_c a_nc)·softmax(z_n) − a_n (softmax − onehot in the
/// plain case), itself differentiable for second derivatives.
///
/// # Panics
/// If shapes do not fit, a target is out of range (and not ignored), or
/// `label_smoothing` is outside [0, 1].
#[track_caller]
pub fn cross_entropy_with<T: Float>(logits: &Var<T>, targets: &Tensor<usize>, opts: &CrossEntropyOptions<T>) -> Var<T> {
    let what = "cross_entropy";
    if let Some((rows, flat)) = positions(what, logits, targets) {
        let out = cross_entropy_with(&rows, &flat, opts);
        return if opts.reduction == Reduction::None { out.reshape(&shape_of(targets)) } else { out };
    }
    let (n, c) = batch_shape(what, logits);
    let expected: &[usize] = if logits.rank() == 1 { &[] } else { &[n] };
    assert_eq!(
        targets.shape(),
        expected,
        "{what}: targets must have shape {expected:?} for logits {:?}",
        logits.shape()
    );
    let eps = opts.label_smoothing;
    assert!((0.0..=1.0).contains(&eps), "{what}: label_smoothing must be in [0, 1], got {eps}");
    let w = class_weights(what, opts, c);
    let mut rows = Vec::with_capacity(n);
    let mut denominator = 0.0;
    for (i, &y) in targets.to_vec().iter().enumerate() {
        if opts.ignore_index == Some(y) {
            rows.push(None);
            continue;
        }
        assert!(y < c, "{what}: target {y} of sample {i} is not a class index below {c}");
        rows.push(Some(y));
        denominator += w[y];
    }
    let targets = ClassTargets {
        rows,
        spread: w.iter().map(|&wk| T::of(eps / c as f64 * wk)).collect(),
        peak: w.iter().map(|&wk| T::of((1.0 - eps) * wk)).collect(),
        smoothing: eps > 0.0,
    };
    class_cross_entropy(logits, targets, opts.reduction, T::of(denominator))
}

/// The per-sample losses of `n` samples reduced, and the factor the
/// reduction applied to each (1/denominator for the mean).
fn reduce<T: Float>(per_sample: Tensor<T>, reduction: Reduction, n: usize, denominator: T) -> (Tensor<T>, T) {
    let scale = match reduction {
        Reduction::None | Reduction::Sum => T::one(),
        Reduction::Mean => T::one() / denominator,
        Reduction::BatchMean => T::one() / T::of(n as f64),
    };
    let value = match reduction {
        Reduction::None => per_sample,
        _ => &per_sample.sum(.., false) * scale,
    };
    (value, scale)
}

/// Class targets as the loss reads them: each row's class (`None`: ignored)
/// and, per class, the two parts of the weighted, smoothed target: row n's
/// is a_nk = ε/C·w_k + (1 − ε)·w_y·[k = y].
struct ClassTargets<T> {
    rows: Vec<Option<usize>>,
    /// ε/C·w_k.
    spread: Vec<T>,
    /// (1 − ε)·w_k.
    peak: Vec<T>,
    /// Whether ε > 0.
    smoothing: bool,
}

impl<T: Float> ClassTargets<T> {
    /// a_nk of a row whose class is `y`.
    #[inline]
    fn coef(&self, y: Option<usize>, k: usize) -> T {
        match y {
            None => T::zero(),
            Some(y) if k == y => self.spread[k] + self.peak[k],
            Some(_) => self.spread[k],
        }
    }

    /// The dense `[N, C]` matrix of a_nk (for a recorded backward pass).
    fn dense(&self, shape: &[usize]) -> Tensor<T> {
        let c = self.spread.len();
        let a = self.rows.iter().flat_map(|&y| (0..c).map(move |k| self.coef(y, k))).collect();
        Tensor::from_vec(a, shape).expect("one coefficient per logit")
    }
}

/// A row's softmax statistics: the shift m, 1/Σ e^{x−m}, and Σ_k a_k.
#[derive(Clone, Copy)]
struct RowStats<T> {
    shift: T,
    inv_total: T,
    coef_sum: T,
}

/// Cross-entropy against class indices, one pass over each row forward
/// (its maximum, the vector exponential, the log-sum-exp, the loss) and
/// one backward ((softmax·Σa − a)·g), instead of dense passes over a
/// coefficient matrix. The same arithmetic as [`soft_cross_entropy`] on
/// [`ClassTargets::dense`], which a recorded (differentiable) backward
/// pass still runs.
fn class_cross_entropy<T: Float>(
    logits: &Var<T>,
    targets: ClassTargets<T>,
    reduction: Reduction,
    denominator: T,
) -> Var<T> {
    use rayon::prelude::*;
    let batched = logits.rank() == 2;
    let x = logits.value().contiguous();
    let c = *x.shape().last().expect("logits have a class axis");
    let xs = x.as_slice().expect("made contiguous");
    let row = |i: usize, scratch: &mut Vec<T>| -> (T, RowStats<T>) {
        let (row, y) = (&xs[i * c..(i + 1) * c], targets.rows[i]);
        let m = gradus_tensor::softmax_shift(row);
        scratch.clear();
        scratch.extend(row.iter().map(|&v| v - m));
        gradus_tensor::vmath::apply_in_place(gradus_tensor::vmath::Function::Exp, scratch);
        let total = gradus_tensor::row_sum(scratch);
        let lse = total.ln() + m;
        let loss = match y {
            None => T::zero(),
            Some(y) if !targets.smoothing => -((row[y] - lse) * targets.coef(Some(y), y)),
            Some(_) => -row.iter().enumerate().map(|(k, &v)| (v - lse) * targets.coef(y, k)).sum::<T>(),
        };
        let coef_sum = match y {
            Some(y) if !targets.smoothing => targets.coef(Some(y), y),
            _ => (0..c).map(|k| targets.coef(y, k)).sum(),
        };
        (loss, RowStats { shift: m, inv_total: total.recip(), coef_sum })
    };
    let n = targets.rows.len();
    let per_row: Vec<(T, RowStats<T>)> = if n * c >= gradus_tensor::PARALLEL_THRESHOLD {
        (0..n).into_par_iter().map_init(|| Vec::with_capacity(c), |s, i| row(i, s)).collect()
    } else {
        let mut scratch = Vec::with_capacity(c);
        (0..n).map(|i| row(i, &mut scratch)).collect()
    };
    let (losses, stats): (Vec<T>, Vec<RowStats<T>>) = per_row.into_iter().unzip();
    let per_sample = if batched { Tensor::from_vec(losses, &[n]) } else { Tensor::from_vec(losses, &[]) };
    let per_sample = per_sample.expect("one loss per row");
    let (value, scale) = reduce(per_sample, reduction, n, denominator);
    Var::custom("cross_entropy", value, &[logits], move |x, _, g| {
        let per_row_grad = reduction == Reduction::None && batched;
        if gradus_autodiff::is_recording() {
            // Differentiable again: the rule in recorded ops.
            let a = Var::constant(targets.dense(x[0].shape()));
            let s = Var::constant(a.value().sum(-1, true));
            let d = &(&x[0].softmax(-1) * &s) - &a;
            let g = if per_row_grad { g.unsqueeze(-1) } else { g.mul_scalar(scale) };
            return vec![Some(&d * &g)].into();
        }
        let g = g.value().contiguous();
        let gs = g.as_slice().expect("made contiguous");
        let xv = x[0].value().contiguous();
        let xs = xv.as_slice().expect("made contiguous");
        // Every element is written below: a pooled buffer, not a zeroed one.
        let mut grad = Tensor::<T>::empty(xv.shape());
        let out = grad.data_mut();
        let fill = |i: usize, o: &mut [T]| {
            let (row, st, y) = (&xs[i * c..(i + 1) * c], stats[i], targets.rows[i]);
            let gi = if per_row_grad { gs[i] } else { gs[0] * scale };
            for (o, &v) in o.iter_mut().zip(row) {
                *o = v - st.shift;
            }
            gradus_tensor::vmath::apply_in_place(gradus_tensor::vmath::Function::Exp, o);
            if targets.smoothing {
                for (k, o) in o.iter_mut().enumerate() {
                    *o = (*o * st.inv_total * st.coef_sum - targets.coef(y, k)) * gi;
                }
            } else {
                // a_k = 0 off the target class.
                let e_y = y.map(|y| o[y]);
                for o in o.iter_mut() {
                    *o = *o * st.inv_total * st.coef_sum * gi;
                }
                if let (Some(y), Some(e)) = (y, e_y) {
                    o[y] = (e * st.inv_total * st.coef_sum - targets.coef(Some(y), y)) * gi;
                }
            }
        };
        if xs.len() >= gradus_tensor::PARALLEL_THRESHOLD {
            out.par_chunks_mut(c).enumerate().for_each(|(i, o)| fill(i, o));
            gradus_tensor::note_parallel_work();
        } else {
            out.chunks_mut(c).enumerate().for_each(|(i, o)| fill(i, o));
        }
        vec![Some(Var::constant(grad))].into()
    })
}

/// Cross-entropy against probability targets of the logits' shape (soft
/// labels), as PyTorch: l_n = −Σ_c w_c t_nc log p_nc with t smoothed to
/// (1 − ε)t + ε/C; the mean divides by the batch size.
///
/// # Panics
/// If shapes do not fit, `ignore_index` is set (it does not apply to
/// probabilities), or `label_smoothing` is outside [0, 1].
#[track_caller]
pub fn cross_entropy_probs<T: Float>(logits: &Var<T>, probs: &Tensor<T>, opts: &CrossEntropyOptions<T>) -> Var<T> {
    let what = "cross_entropy_probs";
    let (n, c) = batch_shape(what, logits);
    assert_eq!(
        probs.shape(),
        logits.shape(),
        "{what}: targets of shape {:?} for logits {:?}",
        probs.shape(),
        logits.shape()
    );
    assert!(opts.ignore_index.is_none(), "{what}: ignore_index does not apply to probability targets");
    let eps = opts.label_smoothing;
    assert!((0.0..=1.0).contains(&eps), "{what}: label_smoothing must be in [0, 1], got {eps}");
    let w = class_weights(what, opts, c);
    let t = probs.to_vec();
    let coef: Vec<T> = (0..n * c).map(|i| T::of((t[i].as_f64() * (1.0 - eps) + eps / c as f64) * w[i % c])).collect();
    let coef = Tensor::from_vec(coef, logits.shape()).expect("coef has the logits' shape");
    soft_cross_entropy(logits, coef, opts.reduction, T::of(n as f64))
}

/// −Σ_c a_nc·log softmax(z)_nc per sample, reduced with `denominator` as the
/// mean's divisor; one recorded op with the closed-form rule.
fn soft_cross_entropy<T: Float>(logits: &Var<T>, coef: Tensor<T>, reduction: Reduction, denominator: T) -> Var<T> {
    let batched = logits.rank() == 2;
    let class_axis: isize = -1;
    let per_sample = -(&logits.value().log_softmax(class_axis) * &coef).sum(class_axis, false);
    let n = if batched { logits.shape()[0] } else { 1 };
    let (value, scale) = reduce(per_sample, reduction, n, denominator);
    let row_sums = coef.sum(class_axis, true);
    Var::custom("cross_entropy", value, &[logits], move |x, _, g| {
        let (a, s) = (Var::constant(coef.clone()), Var::constant(row_sums.clone()));
        let d = &(&x[0].softmax(class_axis) * &s) - &a;
        // g per sample ([N] → [N, 1]) or one number for the reduced loss.
        let g = if reduction == Reduction::None && batched { g.unsqueeze(-1) } else { g.mul_scalar(scale) };
        vec![Some(&d * &g)].into()
    })
}

/// Negative log-likelihood of log-probabilities `[N, C]` at class indices:
/// l_n = −w_{y_n}·x_{n,y_n}, with the default options.
#[track_caller]
pub fn nll<T: Float>(log_probs: &Var<T>, targets: &Tensor<usize>, reduction: Reduction) -> Var<T> {
    nll_with(log_probs, targets, &CrossEntropyOptions::reduction(reduction))
}

/// NLL with class weights and an ignored index, as
/// `torch.nn.functional.nll_loss` (the mean divides by the kept samples'
/// weights).
///
/// # Panics
/// If shapes do not fit, a target is out of range, or `label_smoothing` is
/// not 0 (smoothing belongs to [`cross_entropy_with`]).
#[track_caller]
pub fn nll_with<T: Float>(log_probs: &Var<T>, targets: &Tensor<usize>, opts: &CrossEntropyOptions<T>) -> Var<T> {
    let what = "nll";
    assert!(opts.label_smoothing == 0.0, "{what}: label_smoothing is a cross_entropy option");
    if let Some((rows, flat)) = positions(what, log_probs, targets) {
        let out = nll_with(&rows, &flat, opts);
        return if opts.reduction == Reduction::None { out.reshape(&shape_of(targets)) } else { out };
    }
    let (n, c) = batch_shape(what, log_probs);
    let batched = log_probs.rank() == 2;
    let expected: &[usize] = if batched { &[n] } else { &[] };
    assert_eq!(
        targets.shape(),
        expected,
        "{what}: targets must have shape {expected:?} for input {:?}",
        log_probs.shape()
    );
    let w = class_weights(what, opts, c);
    let (mut index, mut scale, mut denominator) = (Vec::with_capacity(n), Vec::with_capacity(n), 0.0);
    for (i, &y) in targets.to_vec().iter().enumerate() {
        let ignored = opts.ignore_index == Some(y);
        assert!(ignored || y < c, "{what}: target {y} of sample {i} is not a class index below {c}");
        index.push(if ignored { 0 } else { y });
        scale.push(T::of(if ignored { 0.0 } else { -w[y] }));
        denominator += if ignored { 0.0 } else { w[y] };
    }
    let x = if batched { log_probs.clone() } else { log_probs.unsqueeze(0) };
    let picked = x.gather(1, &Tensor::from_vec(index, &[n, 1]).expect("n indices")).reshape(&[n as isize]);
    let per_sample = &picked * &Var::constant(Tensor::from_vec(scale, &[n]).expect("n weights"));
    let per_sample = if batched { per_sample } else { per_sample.reshape(&[]) };
    opts.reduction.apply(per_sample, T::of(denominator))
}
