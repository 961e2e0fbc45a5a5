//! The processes of a data-parallel run, as the trainer sees them: each
//! holds a replica of the model and a shard of every batch, and together
//! they train the model one process would train on the full batches.
//!
//! [`Replicas`] is what the trainer needs from them; `gradus::mpi` (cargo
//! feature `mpi`) implements it over MPI. A trainer given replicas
//! ([`Trainer::replicated`](crate::Trainer::replicated)):
//!
//! - starts each epoch from rank 0's parameters and buffers;
//! - runs each forward pass on its shard inside
//!   [`in_shard`](gradus_nn::in_shard) (dropout masks by row of the full
//!   batch; batch norm over the full batch unless [`BatchStats::Local`]);
//! - weights its loss by its share of the batch, so that the sum of the
//!   replicas' gradients is the full batch's gradient, and sums them in
//!   buckets while backward runs;
//! - agrees with the others after every forward pass and every reduction,
//!   so that an error on one rank (a batch that cannot be read, a loss that
//!   is not finite) ends every rank at the same step: the failing rank
//!   returns its error, the others [`GradusError::Peer`];
//! - compares a checksum of the parameters across ranks after each epoch.

use crate::GradusError;
use gradus_autodiff::Across;
use gradus_nn::Module;
use gradus_tensor::{Float, Tensor};
use std::rc::Rc;
use std::time::Duration;

/// Where batch norm takes its training statistics in a data-parallel run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchStats {
    /// Over the full batch, summed across the ranks in forward and
    /// backward (PyTorch's `SyncBatchNorm`): N ranks train the model one
    /// process trains.
    #[default]
    Global,
    /// Over each rank's shard (PyTorch DDP's default, one collective less
    /// per layer); rank 0's running statistics are broadcast every step.
    Local,
}

/// A backward pass that reports each gradient as it becomes final, through
/// the `ready(i, gradient)` it is given.
pub type Backward<'b, T> = &'b mut dyn FnMut(&mut dyn FnMut(usize, &[T]));

/// The group of processes a data-parallel trainer runs on. Every method is
/// a collective: every rank calls it at the same point, in the same order.
pub trait Replicas<T: Float> {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Every rank's `mine` (of one length), concatenated in rank order.
    fn gather(&self, mine: &[f64]) -> Vec<f64>;
    /// Rank 0's values on every rank.
    fn broadcast(&self, values: &mut [T]);
    /// The group as batch norm and `sum_across` see it.
    fn group(&self) -> Rc<dyn Across>;
    /// Sums gradients over the ranks. `lens` lists their sizes in the order
    /// they are expected to become final; `backward` runs the backward
    /// pass, calling `ready(i, gradient)` as gradient `i` is final (the
    /// reduction may start then). Returns the sums (zeros for a gradient
    /// never reported) and the time spent in communication calls.
    fn reduce(&self, lens: &[usize], backward: Backward<'_, T>) -> (Vec<Vec<T>>, Duration);
}

/// What the ranks agreed after a collective check: every rank went on, or
/// the lowest failing rank and its exit code.
pub(crate) fn agree<T: Float>(
    replicas: &dyn Replicas<T>,
    code: u8,
    payload: &[f64],
) -> Result<Vec<Vec<f64>>, (usize, u8)> {
    let mut mine = vec![f64::from(code)];
    mine.extend_from_slice(payload);
    let all = replicas.gather(&mine);
    let rows: Vec<Vec<f64>> = all.chunks(mine.len()).map(|c| c.to_vec()).collect();
    match rows.iter().position(|r| r[0] != 0.0) {
        Some(rank) => Err((rank, rows[rank][0] as u8)),
        None => Ok(rows.into_iter().map(|r| r[1..].to_vec()).collect()),
    }
}

/// A checksum of values' bits (FNV-1a over each value's f64 bits): equal
/// parameters give equal sums on every rank.
pub(crate) fn checksum<T: Float>(values: &[T], mut h: u64) -> u64 {
    for v in values {
        for b in v.as_f64().to_bits().to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Agrees on this rank's `failure` (if any) with the other ranks, exchanging `payload`: every
/// rank's payload when all succeeded; this rank's error, or
/// [`GradusError::Peer`] naming the lowest failing rank, otherwise.
pub(crate) fn settle<T: Float>(
    r: &dyn Replicas<T>,
    failure: Option<&GradusError>,
    payload: &[f64],
) -> Result<Vec<Vec<f64>>, GradusError> {
    let code = failure.map_or(0, GradusError::exit_code);
    match agree(r, code, payload) {
        Ok(rows) => Ok(rows),
        Err((rank, code)) if rank != r.rank() || failure.is_none() => Err(GradusError::Peer { rank, code }),
        // This rank's own error is returned by the caller.
        Err(_) => Ok(Vec::new()),
    }
}

/// Rank 0's parameters (with `params`) and buffers on every rank.
pub(crate) fn broadcast_state<T: Float>(r: &dyn Replicas<T>, model: &dyn Module<T>, params: bool) {
    if params {
        for (_, p) in model.named_parameters() {
            r.broadcast(&mut p.data_mut());
        }
    }
    for (_, b) in model.named_buffers() {
        let mut v = b.value().contiguous().to_vec();
        r.broadcast(&mut v);
        b.set(Tensor::from_vec(v, &b.shape()).expect("same shape"));
    }
}

/// After an epoch: every rank's parameters are finite and equal to rank
/// 0's (by checksum), or the error saying which rank differs.
pub(crate) fn check_equal<T: Float>(
    r: &dyn Replicas<T>,
    model: &dyn Module<T>,
    overflowed: Option<String>,
    epoch: Option<usize>,
    step: Option<usize>,
) -> Result<(), GradusError> {
    let mut h = 0xcbf2_9ce4_8422_2325;
    for (_, p) in model.named_parameters() {
        h = checksum(&p.borrow().contiguous().to_vec(), h);
    }
    let outcome = match overflowed {
        Some(what) => Err(GradusError::Diverged { epoch, step, what, first_op: None }),
        None => Ok(()),
    };
    let rows = settle(r, outcome.as_ref().err(), &[(h >> 32) as f64, (h & 0xffff_ffff) as f64])?;
    if let Some(k) = rows.iter().position(|row| *row != rows[0]) {
        return Err(GradusError::Replicas(format!(
            "after epoch {} the parameters of rank {k} differ from rank 0's",
            epoch.unwrap_or(0)
        )));
    }
    Ok(())
}
