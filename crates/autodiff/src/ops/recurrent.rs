//! One direction of one recurrent layer as a single op:
//! [`Var::recurrent`] runs an LSTM or GRU cell over every step of a
//! sequence whose input projections are already made.
//!
//! With P the input projection, time-major `[T, N, G·H]` (x·W_ihᵀ + b_ih,
//! each time's rows one block: no reordering between the steps), W the
//! recurrent weight `[G·H, H]` and b its bias, step t takes
//! A = P_t + (h·Wᵀ + b) and, in PyTorch's order and form:
//!
//! - LSTM (G = 4): i, f, g, o = σ, σ, tanh, σ of A's chunks;
//!   c′ = f·c + i·g, h′ = o·tanh(c′).
//! - GRU (G = 3): r = σ(A_r), z = σ(A_z), n = tanh(P_n + r·(h·W_nᵀ + b_n));
//!   h′ = (h − n)·z + n.
//!
//! The forward pass keeps the gates' activations (`[T, N, G·H]`) and, for
//! the LSTM, the cell states, nothing else. An unrecorded backward pass is
//! backpropagation through time in plain loops: one `[N, G·H] × [G·H, H]`
//! product per step for the hidden state's gradient, and W's gradient as
//! one product over every step at the end (Σ_t dA_tᵀ h_{t−1}). A recorded
//! one (for second derivatives) runs the same equations in `Var` ops from
//! the forward pass recomputed in `Var` ops, so it can be differentiated
//! again.

use crate::var::record;
use crate::{InputGrads, Var, is_recording};
use gradus_tensor::{Float, Mat, Tensor, matmul_into, pooled_vec, recycle};

/// Which cell [`Var::recurrent`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Long short-term memory: gates i, f, g, o and a cell state.
    Lstm,
    /// Gated recurrent unit: gates r, z, n.
    Gru,
}

impl CellKind {
    /// Gates per hidden unit: 4 or 3.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// `LSTM` or `GRU`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }
}

/// The sizes of one run and the time of each processing step.
#[derive(Clone, Copy)]
struct Dims {
    n: usize,
    steps: usize,
    h: usize,
    reverse: bool,
}

impl Dims {
    /// The time processed at step `s`.
    fn time(&self, s: usize) -> usize {
        if self.reverse { self.steps - 1 - s } else { s }
    }
}

/// `out = h·Wᵀ + b` for one step: `h` `[N, H]`, `w` `[G·H, H]` row-major.
fn hidden_projection<T: Float>(out: &mut [T], h: &[T], d: &Dims, w: &[T], b: Option<&[T]>) {
    let g = w.len() / d.h;
    match b {
        Some(b) => out.chunks_mut(g).for_each(|row| row.copy_from_slice(b)),
        None => out.fill(T::zero()),
    }
    matmul_into(out, Mat::new(h, d.n, d.h), Mat::new(w, g, d.h).t(), true);
}

/// What the forward pass keeps, every part time-major (`[T, N, …]`): the
/// output, the gates' activations, the cell states (LSTM) or the n-part of
/// the hidden projection (GRU), and tanh of the cell states (LSTM).
struct Forward<T: Float> {
    hs: Tensor<T>,
    acts: Vec<T>,
    extra: Vec<T>,
    tanh_c: Vec<T>,
}

impl<T: Float> Drop for Forward<T> {
    fn drop(&mut self) {
        for v in [&mut self.acts, &mut self.extra, &mut self.tanh_c] {
            recycle(std::mem::take(v));
        }
    }
}

/// The forward pass from the input projection `p` (time-major), which
/// becomes the gates' activations in place.
fn forward<T: Float>(cell: CellKind, d: &Dims, p: Vec<T>, w: &[T], b: Option<&[T]>) -> Forward<T> {
    use gradus_tensor::vmath::{Function, apply_in_place};
    let (n, h, g) = (d.n, d.h, cell.gates() * d.h);
    let mut state = vec![T::zero(); n * h];
    let mut c = vec![T::zero(); n * h];
    // Each time's block of these is written once below.
    let mut hs = pooled_vec(d.steps * n * h);
    let mut extra = pooled_vec(d.steps * n * h);
    let mut tanh_c = pooled_vec(if cell == CellKind::Lstm { d.steps * n * h } else { 0 });
    let mut acts = p;
    let mut hp = vec![T::zero(); n * g];
    for s in 0..d.steps {
        let t = d.time(s);
        hidden_projection(&mut hp, &state, d, w, b);
        let acts = &mut acts[t * n * g..][..n * g];
        let extra = &mut extra[t * n * h..][..n * h];
        // The gates, activated in place row by row with the vector kernels.
        for (row, (a, q)) in acts.chunks_mut(g).zip(hp.chunks(g)).enumerate() {
            match cell {
                CellKind::Lstm => {
                    a.iter_mut().zip(q).for_each(|(a, &q)| *a += q);
                    apply_in_place(Function::Sigmoid, &mut a[..2 * h]);
                    apply_in_place(Function::Tanh, &mut a[2 * h..3 * h]);
                    apply_in_place(Function::Sigmoid, &mut a[3 * h..]);
                    let (ai, af, ag) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h]);
                    let c = &mut c[row * h..][..h];
                    for j in 0..h {
                        c[j] = af[j] * c[j] + ai[j] * ag[j];
                    }
                }
                CellKind::Gru => {
                    a[..2 * h].iter_mut().zip(&q[..2 * h]).for_each(|(a, &q)| *a += q);
                    apply_in_place(Function::Sigmoid, &mut a[..2 * h]);
                    let (ar, rest) = a.split_at_mut(h);
                    let (az, an) = rest.split_at_mut(h);
                    let qn = &q[2 * h..3 * h];
                    for j in 0..h {
                        an[j] += ar[j] * qn[j];
                    }
                    apply_in_place(Function::Tanh, an);
                    let state = &mut state[row * h..][..h];
                    for j in 0..h {
                        state[j] = (state[j] - an[j]) * az[j] + an[j];
                    }
                    extra[row * h..][..h].copy_from_slice(&q[2 * h..]);
                }
            }
        }
        if cell == CellKind::Lstm {
            let tc = &mut tanh_c[t * n * h..][..n * h];
            tc.copy_from_slice(&c);
            apply_in_place(Function::Tanh, tc);
            for ((a, tc), state) in acts.chunks(g).zip(tc.chunks(h)).zip(state.chunks_mut(h)) {
                let ao = &a[3 * h..4 * h];
                for j in 0..h {
                    state[j] = ao[j] * tc[j];
                }
            }
            extra.copy_from_slice(&c);
        }
        hs[t * n * h..][..n * h].copy_from_slice(&state);
    }
    let hs = Tensor::from_vec(hs, &[d.steps, n, h]).expect("[T, N, H]");
    Forward { hs, acts, extra, tanh_c }
}

/// Gradients of P (time-major), W and b from the output's gradient `gy`
/// (time-major).
fn backward<T: Float>(cell: CellKind, d: &Dims, fw: &Forward<T>, gy: &[T], w: &[T]) -> (Vec<T>, Tensor<T>, Tensor<T>) {
    let (n, h, gw) = (d.n, d.h, cell.gates() * d.h);
    let hs = fw.hs.as_slice().expect("made contiguous");
    // Every element of dp (and dq) is written below, step by step.
    let mut dp = pooled_vec(d.steps * n * gw);
    // The gradient of the hidden projection h·Wᵀ + b (the LSTM's is dp's).
    let mut dq = if cell == CellKind::Gru { pooled_vec(d.steps * n * gw) } else { Vec::new() };
    let mut dh_next = vec![T::zero(); n * h];
    let mut dc_next = vec![T::zero(); n * h];
    let one = T::one();
    // The previous step's cell state (LSTM) or output (GRU); zero before
    // the first step.
    let earlier = if cell == CellKind::Lstm { &fw.extra[..] } else { hs };
    let zeros = vec![T::zero(); h];
    for s in (0..d.steps).rev() {
        let t = d.time(s);
        let before = (s > 0).then(|| d.time(s - 1));
        for row in 0..n {
            let at = t * n + row;
            let a = &fw.acts[at * gw..][..gw];
            let gy = &gy[at * h..][..h];
            let prev = before.map_or(&zeros[..], |tb| &earlier[(tb * n + row) * h..][..h]);
            let (dh_row, dc_row) = (&mut dh_next[row * h..][..h], &mut dc_next[row * h..][..h]);
            let out = &mut dp[at * gw..][..gw];
            // One loop per cell over slices of length h, free of branches
            // and bounds checks, for the compiler to vectorise.
            match cell {
                CellKind::Lstm => {
                    let tcs = &fw.tanh_c[at * h..][..h];
                    let (ai, af, ag, ao) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h], &a[3 * h..4 * h]);
                    let (oi, rest) = out.split_at_mut(h);
                    let (of, rest) = rest.split_at_mut(h);
                    let (og, oo) = rest.split_at_mut(h);
                    for j in 0..h {
                        let dh = gy[j] + dh_row[j];
                        let (i, f, g, o, tc) = (ai[j], af[j], ag[j], ao[j], tcs[j]);
                        let dc = dh * o * (one - tc * tc) + dc_row[j];
                        dc_row[j] = dc * f;
                        oi[j] = dc * g * i * (one - i);
                        of[j] = dc * prev[j] * f * (one - f);
                        og[j] = dc * i * (one - g * g);
                        oo[j] = dh * tc * o * (one - o);
                    }
                }
                CellKind::Gru => {
                    let (e, q) = (&fw.extra[at * h..][..h], &mut dq[at * gw..][..gw]);
                    let (ar, az, an) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h]);
                    let (or, rest) = out.split_at_mut(h);
                    let (oz, on) = rest.split_at_mut(h);
                    let (qr, rest) = q.split_at_mut(h);
                    let (qz, qn) = rest.split_at_mut(h);
                    for j in 0..h {
                        let dh = gy[j] + dh_row[j];
                        let (r, z, nn) = (ar[j], az[j], an[j]);
                        let dn = dh * (one - z) * (one - nn * nn);
                        let dz = dh * (prev[j] - nn) * z * (one - z);
                        let dr = dn * e[j] * r * (one - r);
                        dh_row[j] = dh * z;
                        (or[j], oz[j], on[j]) = (dr, dz, dn);
                        (qr[j], qz[j], qn[j]) = (dr, dz, dn * r);
                    }
                }
            }
        }
        // The hidden state's gradient through this step's projection.
        let dq_t = if cell == CellKind::Gru { &dq[t * n * gw..][..n * gw] } else { &dp[t * n * gw..][..n * gw] };
        matmul_into(&mut dh_next, Mat::new(dq_t, n, gw), Mat::new(w, gw, h), cell == CellKind::Gru);
    }
    // W's gradient Σ_s dq_sᵀ h_{s−1} (h before the first step is 0) and
    // b's Σ dq_s, over every step at once: in time-major order the steps
    // after the first are the times 1.. (0.. when reversed) and the states
    // before them the times 0.. (1..), each one contiguous block.
    let dq_all = if cell == CellKind::Gru { &dq } else { &dp };
    let later = (d.steps - 1) * n;
    let (dq_later, hs_before) =
        if d.reverse { (&dq_all[..later * gw], &hs[n * h..]) } else { (&dq_all[n * gw..], &hs[..later * h]) };
    let mut dw = pooled_vec(gw * h); // written whole by the product
    matmul_into(&mut dw, Mat::new(dq_later, later, gw).t(), Mat::new(hs_before, later, h), false);
    let mut db = vec![T::zero(); gw];
    for row in dq_all.chunks(gw) {
        db.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    let dw = Tensor::from_vec(dw, &[gw, h]).expect("[G·H, H]");
    let db = Tensor::from_vec(db, &[gw]).expect("[G·H]");
    recycle(dq);
    (dp, dw, db)
}

impl<T: Float> Var<T> {
    /// One direction of one recurrent layer over every step: `self` is the
    /// input projection, time-major `[T, N, G·H]` (x·W_ihᵀ + b_ih, G = 4
    /// gates for the LSTM, 3 for the GRU), `w_hh` the recurrent weight
    /// `[G·H, H]`, `b_hh` its bias `[G·H]`; the initial state is zero.
    /// Returns the hidden state at every time, `[T, N, H]` (computed from
    /// the last time back when `reverse`). See the module's formulas.
    ///
    /// ```
    /// use gradus_autodiff::{CellKind, Tape};
    /// use gradus_tensor::Tensor;
    /// let tape = Tape::new();
    /// let p = tape.leaf(Tensor::<f64>::ones(&[3, 2, 8]));
    /// let w = tape.leaf(Tensor::<f64>::zeros(&[8, 2]));
    /// let y = p.recurrent(CellKind::Lstm, &w, None, false);
    /// assert_eq!(y.shape(), [3, 2, 2]);
    /// // With W = 0, c₁ = σ(1)·tanh(1) and h₁ = σ(1)·tanh(c₁).
    /// let s = 1.0 / (1.0 + (-1.0f64).exp());
    /// assert!((y.value().to_vec()[0] - s * (s * 1.0f64.tanh()).tanh()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit (a programmer's error; layers check first).
    #[track_caller]
    pub fn recurrent(&self, cell: CellKind, w_hh: &Self, b_hh: Option<&Self>, reverse: bool) -> Self {
        let (shape, ws) = (self.shape(), w_hh.shape());
        assert!(
            shape.len() == 3 && ws.len() == 2 && ws[0] == cell.gates() * ws[1] && shape[2] == ws[0] && shape[0] > 0,
            "recurrent {}: input projection {shape:?} and recurrent weight {ws:?} do not fit [T, N, G·H] and [G·H, H] with G = {}",
            cell.name(),
            cell.gates()
        );
        if let Some(b) = b_hh {
            assert_eq!(b.shape(), [ws[0]], "recurrent {}: bias {:?} for weight {ws:?}", cell.name(), b.shape());
        }
        let d = Dims { n: shape[1], steps: shape[0], h: ws[1], reverse };
        let input = self.value().contiguous();
        let mut p = pooled_vec(input.numel());
        p.copy_from_slice(input.as_slice().expect("made contiguous"));
        let w = w_hh.value().contiguous();
        let b = b_hh.map(|b| b.value().contiguous().to_vec());
        let fw = forward(cell, &d, p, w.as_slice().expect("made contiguous"), b.as_deref());
        let y = fw.hs.clone();
        let inputs: Vec<&Var<T>> = std::iter::once(self).chain([w_hh]).chain(b_hh).collect();
        record("recurrent", y, &inputs, move |x, _, g| {
            if is_recording() {
                return recorded_backward(cell, reverse, x, g);
            }
            let gy = g.value().contiguous();
            let gy = gy.as_slice().expect("made contiguous");
            let (dp, dw, db) = backward(cell, &d, &fw, gy, w.as_slice().expect("made contiguous"));
            let dx = Tensor::from_vec(dp, &[d.steps, d.n, cell.gates() * d.h]).expect("[T, N, G·H]");
            let mut grads: InputGrads<T> = smallvec::smallvec![Some(Var::constant(dx)), Some(Var::constant(dw))];
            if x.len() == 3 {
                grads.push(Some(Var::constant(db)));
            }
            grads
        })
    }
}

/// The forward pass in `Var` ops, step by step: every step's hidden state
/// and cell state (LSTM) and gates, processing order.
struct Recorded<T: Float> {
    hs: Vec<Var<T>>,
    cs: Vec<Var<T>>,
    gates: Vec<Vec<Var<T>>>,
    hidden: Vec<Var<T>>,
}

fn recorded_forward<T: Float>(cell: CellKind, reverse: bool, x: &[Var<T>]) -> Recorded<T> {
    let (p, w, b) = (&x[0], &x[1], x.get(2));
    let (steps, n, h) = (p.shape()[0], p.shape()[1], w.shape()[1]);
    let chunk = |v: &Var<T>, k: usize| v.narrow(-1, k * h, h);
    let mut state = Var::constant(Tensor::zeros(&[n, h]));
    let mut c = Var::constant(Tensor::zeros(&[n, h]));
    let mut r = Recorded { hs: Vec::new(), cs: Vec::new(), gates: Vec::new(), hidden: Vec::new() };
    for s in 0..steps {
        let t = if reverse { steps - 1 - s } else { s };
        let xt = p.narrow(0, t, 1).squeeze(Some(0));
        let q = state.linear(w, b);
        match cell {
            CellKind::Lstm => {
                let a = &xt + &q;
                let gates =
                    vec![chunk(&a, 0).sigmoid(), chunk(&a, 1).sigmoid(), chunk(&a, 2).tanh(), chunk(&a, 3).sigmoid()];
                c = &(&gates[1] * &c) + &(&gates[0] * &gates[2]);
                state = &gates[3] * &c.tanh();
                r.gates.push(gates);
                r.cs.push(c.clone());
            }
            CellKind::Gru => {
                let rg = (&chunk(&xt, 0) + &chunk(&q, 0)).sigmoid();
                let z = (&chunk(&xt, 1) + &chunk(&q, 1)).sigmoid();
                let nn = (&chunk(&xt, 2) + &(&rg * &chunk(&q, 2))).tanh();
                state = &(&(&state - &nn) * &z) + &nn;
                r.hidden.push(chunk(&q, 2));
                r.gates.push(vec![rg, z, nn]);
            }
        }
        r.hs.push(state.clone());
    }
    r
}

/// The backward pass's equations in `Var` ops, on the forward pass
/// recomputed in `Var` ops: differentiable again.
fn recorded_backward<T: Float>(cell: CellKind, reverse: bool, x: &[Var<T>], g: &Var<T>) -> InputGrads<T> {
    let fw = recorded_forward(cell, reverse, x);
    let (w, steps) = (&x[1], x[0].shape()[0]);
    let (n, h) = (x[0].shape()[1], w.shape()[1]);
    let zeros = || Var::constant(Tensor::zeros(&[n, h]));
    let one_minus = |v: &Var<T>| v.neg().add_scalar(T::one());
    let (mut dh_next, mut dc_next) = (zeros(), zeros());
    let mut dp: Vec<Option<Var<T>>> = vec![None; steps];
    let (mut dw, mut db): (Option<Var<T>>, Option<Var<T>>) = (None, None);
    for s in (0..steps).rev() {
        let t = if reverse { steps - 1 - s } else { s };
        let dh = &g.narrow(0, t, 1).squeeze(Some(0)) + &dh_next;
        let h_prev = if s == 0 { zeros() } else { fw.hs[s - 1].clone() };
        let a = &fw.gates[s];
        let (dp_s, dq_s) = match cell {
            CellKind::Lstm => {
                let c_prev = if s == 0 { zeros() } else { fw.cs[s - 1].clone() };
                let tc = fw.cs[s].tanh();
                let dc = &(&(&dh * &a[3]) * &one_minus(&tc.square())) + &dc_next;
                dc_next = &dc * &a[1];
                let sig = |v: &Var<T>| v * &one_minus(v);
                let da = Var::concat(
                    &[
                        &(&dc * &a[2]) * &sig(&a[0]),
                        &(&dc * &c_prev) * &sig(&a[1]),
                        &(&dc * &a[0]) * &one_minus(&a[2].square()),
                        &(&dh * &tc) * &sig(&a[3]),
                    ],
                    -1,
                );
                dh_next = da.matmul(w);
                (da.clone(), da)
            }
            CellKind::Gru => {
                let (r, z, nn) = (&a[0], &a[1], &a[2]);
                let dn = &(&dh * &one_minus(z)) * &one_minus(&nn.square());
                let dz = &(&dh * &(&h_prev - nn)) * &(z * &one_minus(z));
                let dr = &(&dn * &fw.hidden[s]) * &(r * &one_minus(r));
                let dpart = Var::concat(&[dr.clone(), dz.clone(), dn.clone()], -1);
                let dq = Var::concat(&[dr, dz, &dn * r], -1);
                dh_next = &(&dh * z) + &dq.matmul(w);
                (dpart, dq)
            }
        };
        let dw_s = dq_s.t().matmul(&h_prev);
        dw = Some(dw.map_or(dw_s.clone(), |acc| &acc + &dw_s));
        let db_s = dq_s.sum(0, false);
        db = Some(db.map_or(db_s.clone(), |acc| &acc + &db_s));
        dp[t] = Some(dp_s);
    }
    let dp: Vec<Var<T>> = dp.into_iter().map(|v| v.expect("every step")).collect();
    let mut grads: InputGrads<T> = smallvec::smallvec![Some(Var::stack(&dp, 0)), dw];
    if x.len() == 3 {
        grads.push(db);
    }
    grads
}
