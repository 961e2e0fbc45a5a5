//! The data-parallel side of the [`Trainer`]: a step on this rank's shard
//! of a global batch, the start-of-epoch broadcast and the end-of-epoch
//! comparison (see [`crate::replicas`] for the semantics).

use crate::GradusError;
use crate::replicas::{BatchStats, Replicas, broadcast_state, settle};
use crate::trainer::{Every, Gradient, Trainer};
use gradus_autodiff::{Tape, Var, VarId};
use gradus_data::Batch;
use gradus_loss::Loss;
use gradus_nn::{Module, Shard, in_shard};
use gradus_tensor::{Float, Tensor};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Duration;

impl<T: Float> Trainer<T> {
    /// Trains as one rank of a data-parallel run over `replicas`, batch
    /// norm taking its statistics as `stats` says. The loaders handed to
    /// [`Trainer::epoch`] must be sharded the same way
    /// (`DataLoader::shard(rank, size)`); a step whose shards do not add up
    /// to the batch is an error. A group of one process trains as without.
    #[must_use]
    pub fn replicated(mut self, replicas: Rc<dyn Replicas<T>>, stats: BatchStats) -> Self {
        self.replicas = (replicas.size() > 1).then_some((replicas, stats));
        self
    }

    /// This rank and the number of ranks (0 and 1 without replicas).
    pub fn rank(&self) -> (usize, usize) {
        self.replicas.as_ref().map_or((0, 1), |(r, _)| (r.rank(), r.size()))
    }

    /// Time spent in gradient communication calls since the trainer was
    /// made (zero without replicas).
    pub fn communication(&self) -> Duration {
        self.communication
    }

    /// One step on this rank's shard of a global batch (or the error
    /// reading it), taken together with the other ranks; returns the global
    /// batch's loss.
    pub(crate) fn replicated_step(
        &mut self,
        model: &dyn Module<T>,
        loss: &dyn Loss<T>,
        batch: gradus_data::Result<Batch<T>>,
        norms: &mut [f64],
    ) -> Result<f64, GradusError> {
        let (r, stats) = self.replicas.clone().expect("a replicated trainer");
        let (epoch, step) = (Some(self.epochs + 1), Some(self.steps + 1));
        self.check_schedule_range(Every::Batch)?;
        // Before the forward pass (whose batch norm talks to the others):
        // does every rank have its shard, and do the shards make the batch?
        let batch = batch.map_err(GradusError::from);
        let counts = batch.as_ref().map_or([0.0, 0.0], |b| [b.features.shape()[0] as f64, b.full_len as f64]);
        let rows = settle(&*r, batch.as_ref().err(), &counts)?;
        let batch = batch?;
        let (full, held) = (batch.full_len, rows.iter().map(|c| c[0]).sum::<f64>() as usize);
        if held != full || rows.iter().any(|c| c[1] as usize != full) {
            return Err(GradusError::Replicas(format!(
                "step {}: the ranks hold {held} rows of a batch of {full}; give every rank's loader .shard(rank, size)",
                self.steps + 1
            )));
        }
        if full < r.size() {
            return Err(GradusError::Config(format!(
                "a batch of {full} examples cannot be split over {} processes: choose a batch size whose last batch has at least one example per process, or drop the last batch",
                r.size()
            )));
        }
        if stats == BatchStats::Local {
            broadcast_state(&*r, model, false);
        }
        let params = model.named_parameters();
        let share = batch.features.shape()[0] as f64 / full as f64;
        let tape = Tape::new();
        let shard = Shard { first_row: batch.first_row, group: (stats == BatchStats::Global).then(|| r.group()) };
        let x = Var::constant(batch.features);
        let y = batch.targets;
        let out = in_shard(shard.clone(), || loss.loss(&model.forward(&tape, &x), &y));
        let value = out.as_ref().map_or(0.0, |o| o.value().item().as_f64());
        let outcome = match &out {
            Err(e) => Err(GradusError::Loss(e.clone())),
            // A step that may be skipped goes on: its gradient is not
            // finite either, and every rank skips it together in `update`.
            Ok(_) if !value.is_finite() && self.rules.skip_nonfinite.is_none() => Err(GradusError::Diverged {
                epoch,
                step,
                what: format!("the training loss on rank {} is {value}", r.rank()),
                first_op: None,
            }),
            Ok(_) => Ok(()),
        };
        let losses = settle(&*r, outcome.as_ref().err(), &[share * value])?;
        outcome?;
        let out = out.expect("checked above");
        let global_loss: f64 = losses.iter().map(|l| l[0]).sum();

        // Backward on the loss weighted by this rank's share: the sum over
        // the ranks is the full batch's mean-loss gradient (and batch
        // norm's sums carry the other ranks' parts back).
        let mut seen = BTreeSet::new();
        let order: Vec<usize> =
            (0..params.len()).rev().filter(|&k| !params[k].1.is_frozen() && seen.insert(params[k].1.id().0)).collect();
        let slot_of: HashMap<VarId, usize> =
            order.iter().enumerate().filter_map(|(slot, &k)| Some((params[k].1.leaf_id(&tape)?, slot))).collect();
        let mut lens: Vec<usize> = order.iter().map(|&k| params[k].1.numel()).collect();
        lens.push(1); // every rank's failure flag, summed
        let weighted = out.mul_scalar(T::of(share));
        let mut reported = vec![false; order.len()];
        let mut failed = None;
        let (sums, waited) = in_shard(shard, || {
            r.reduce(&lens, &mut |ready| {
                let run = weighted.backward_hooked(&mut |id, g| {
                    if let Some(&slot) = slot_of.get(&id) {
                        reported[slot] = true;
                        ready(slot, g.contiguous().as_slice().expect("made contiguous"));
                    }
                });
                failed = run.err();
                ready(order.len(), &[if failed.is_some() { T::one() } else { T::zero() }]);
            })
        });
        self.communication += waited;
        if sums[order.len()][0] != T::zero() {
            let failed = failed.map_or(Ok(()), |e| Err(GradusError::from(e)));
            settle(&*r, failed.as_ref().err(), &[])?;
            failed?;
        }
        let mut grads: Vec<Option<Gradient<T>>> = (0..params.len()).map(|_| None).collect();
        for (slot, (&k, sum)) in order.iter().zip(sums).enumerate() {
            if reported[slot] {
                let tensor = Tensor::from_vec(sum, &params[k].1.shape()).expect("planned with its length");
                grads[k] = Some(Gradient { tensor, squares: None });
            }
        }
        let diverged = |what: String, first_op: Option<String>| GradusError::Diverged { epoch, step, what, first_op };
        if self.update(&params, grads, Some(norms), &diverged, None)?
            && let Some(ema) = &mut self.ema
        {
            ema.update(model);
        }
        Ok(global_loss)
    }
}

impl<T: Float> Trainer<T> {
    /// In a data-parallel run, the first of the features that need one
    /// process's view of a batch or of the model, as the error that names it.
    pub(crate) fn refuse_in_replicas(&self) -> Result<(), GradusError> {
        if self.replicas.is_none() {
            return Ok(());
        }
        let curvature = self.optim.curvature_request().map(|r| match r.kind {
            gradus_optim::CurvatureKind::HessianDiagonal => {
                "sophia estimates the Hessian's diagonal on one process's batch"
            }
            gradus_optim::CurvatureKind::Kronecker => "kfac estimates its Kronecker factors on one process's batch",
            _ => "hessian_free solves with the curvature of one process's batch",
        });
        let why = [
            self.sharpness.is_some().then_some("sharpness is measured by one process on the whole monitoring subset"),
            self.noise.is_some().then_some("the gradient noise scale is measured on one process's batch"),
            matches!(self.average(), Some(crate::Average::Swa { .. }))
                .then_some("SWA recomputes batch norm's statistics on one process"),
            curvature,
            self.sharpness_aware().is_some().then_some("sam evaluates each batch twice on one process"),
            (self.rules.accumulate > 1)
                .then_some("gradient accumulation splits one process's batch (the processes already split each batch)"),
        ];
        match why.into_iter().flatten().next() {
            Some(why) => Err(GradusError::Config(format!("{why}; it is not available in data-parallel runs"))),
            None => Ok(()),
        }
    }
}
