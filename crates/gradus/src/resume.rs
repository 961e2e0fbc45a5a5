//! Checkpoint and resume of a whole training run in one safetensors file:
//! the model's parameters, buffers and random-number counters (under
//! `model.` the weights to evaluate: a schedule-free method's x, whose
//! trained y is then under `train.`), the
//! optimiser's state (keyed by parameter *name*, so a fresh process with
//! fresh parameter ids can load it), the step and epoch counts that place
//! the schedule and the data order, and a plateau schedule's state. A run
//! stopped after any epoch and resumed ends bit-identical to one that was
//! not stopped.

use crate::GradusError;
use crate::trainer::{Driven, Trainer};
use gradus_nn::{Checkpoint, Module, checkpoint};
use gradus_optim::OptimizerState;
use gradus_sched::PlateauState;
use gradus_tensor::{Float, Tensor};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "gradus-run-1";

fn names_by_id<T: Float>(model: &dyn Module<T>) -> HashMap<u64, String> {
    model.named_parameters().into_iter().map(|(n, p)| (p.id().0, n)).collect()
}

impl<T: Float> Trainer<T> {
    /// Writes everything needed to resume this run with `model` to `path`.
    ///
    /// # Errors
    /// [`GradusError::Nn`] if the file cannot be written.
    pub fn save(&self, model: &dyn Module<T>, path: &Path) -> Result<(), GradusError> {
        let mut ck = Checkpoint::new();
        ck.set_metadata("format", FORMAT);
        for (key, value) in self.config() {
            ck.set_metadata(&format!("config.{key}"), value);
        }
        // Weights to evaluate, if the method's differ from the trained ones
        // (schedule-free: x under `model.`, the trained y under `train.`).
        match crate::averaging::swap_in_eval_params(self.optim(), model) {
            Some(held) => {
                checkpoint::store(model, &mut ck, "model.");
                crate::averaging::restore_trained(model, held);
                checkpoint::store(model, &mut ck, "train.");
            }
            None => checkpoint::store(model, &mut ck, "model."),
        }
        if let Some(ema) = self.ema.as_ref().filter(|e| e.n_averaged > 0) {
            // The average under `ema.` or `swa.`, named as the model (a
            // state dict torch loads as it is; counters are the model's own).
            let held = ema.swap_in(model);
            checkpoint::store(model, &mut ck, &format!("{}.", ema.average.name()));
            crate::averaging::Averaged::restore(model, held);
        }
        if let Some(ema) = &self.ema {
            ck.insert_u64(&format!("trainer.{}_n_averaged", ema.average.name()), &[ema.n_averaged]);
        }
        let names = names_by_id(model);
        let rename = |key: &str| -> String {
            // `state.{id}.{what}` → `optim.{name}.{what}`; `group.{i}.lr` → `optim_group.{i}.lr`.
            if let Some(rest) = key.strip_prefix("state.") {
                let (id, what) = rest.split_once('.').expect("state.{id}.{what}");
                let name =
                    id.parse::<u64>().ok().and_then(|id| names.get(&id)).cloned().unwrap_or_else(|| format!("#{id}"));
                format!("optim.{name}.{what}")
            } else {
                format!("optim_{key}")
            }
        };
        let state = self.optim().export();
        for (key, values) in &state.tensors {
            ck.insert(&rename(key), &Tensor::from_vec(values.clone(), &[values.len()]).expect("a vector"));
        }
        for (key, value) in &state.counters {
            ck.insert_u64(&rename(key), &[*value]);
        }
        let (steps, epochs) = self.counters();
        ck.insert_u64("trainer.steps", &[steps as u64]);
        ck.insert_u64("trainer.epochs", &[epochs as u64]);
        if self.rules.skip_nonfinite.is_some() {
            ck.insert_u64("trainer.skipped_in_a_row", &[self.skipped_in_a_row as u64]);
        }
        if let Some(start) = self.sharpness_start() {
            // Lanczos's warm start: without it a resumed measurement starts
            // elsewhere and differs in its last digits.
            ck.insert("trainer.sharpness_start", &Tensor::from_vec(start.to_vec(), &[start.len()]).expect("a vector"));
        }
        if let Some(start) = self.sharpness.as_ref().and_then(|t| t.ggn.as_ref()).and_then(|s| s.as_ref()) {
            ck.insert(
                "trainer.ggn_sharpness_start",
                &Tensor::from_vec(start.clone(), &[start.len()]).expect("a vector"),
            );
        }
        if let Some(Driven::Plateau(p)) = self.schedule_ref() {
            let s = p.state();
            let bits =
                [s.lr.to_bits(), s.best.to_bits(), s.num_bad_epochs as u64, s.cooldown_counter as u64, s.epochs as u64];
            ck.insert_u64("trainer.plateau", &bits);
        }
        ck.save(path)?;
        Ok(())
    }

    /// Restores a run saved by [`Trainer::save`] into `model` and this
    /// trainer (built as the original was: same model shape, optimiser and
    /// schedule). The model is checked completely before it changes, then
    /// the optimiser's state (likewise).
    ///
    /// # Errors
    /// [`GradusError::OtherRun`] for a file that recorded a configuration
    /// other than this trainer's ([`Trainer::record`]); [`GradusError::Nn`]
    /// for a file that cannot be read or does not fit the model; [`GradusError::Optimizer`] for an optimiser
    /// state that does not fit.
    pub fn resume(&mut self, model: &dyn Module<T>, path: &Path) -> Result<(), GradusError> {
        self.resume_from(model, &Checkpoint::load(path)?, path)
    }

    /// [`Trainer::resume`] from a checkpoint already read (`path` names it
    /// in errors).
    ///
    /// # Errors
    /// As [`Trainer::resume`].
    pub fn resume_from(&mut self, model: &dyn Module<T>, ck: &Checkpoint, path: &Path) -> Result<(), GradusError> {
        let corrupt =
            |reason: String| GradusError::Nn(gradus_nn::NnError::Corrupt { path: path.to_path_buf(), reason });
        // Every value resume reads is checked before anything changes.
        let counters = |name: &str, n: usize| -> Result<Vec<u64>, GradusError> {
            let v = ck.get_u64(name)?;
            if v.len() == n {
                Ok(v)
            } else {
                Err(corrupt(format!("`{name}` holds {} values; it should hold {n}", v.len())))
            }
        };
        for name in
            ck.names().filter(|n| ["model.", "train.", "optim.", "ema.", "swa."].iter().any(|p| n.starts_with(p)))
        {
            if ck.get_u64(name).is_err() && !ck.get::<T>(name)?.isfinite().all() {
                return Err(corrupt(format!(
                    "`{name}` holds NaN or Inf; runs are saved only while finite, so the file was changed"
                )));
            }
        }
        if ck.metadata("format") != Some(FORMAT) {
            return Err(GradusError::Nn(gradus_nn::NnError::Mismatch {
                mismatches: vec![format!(
                    "not a gradus run checkpoint (format {:?}, expected {FORMAT})",
                    ck.metadata("format")
                )],
            }));
        }
        let differ = self.config_differences(ck);
        if !differ.is_empty() {
            return Err(GradusError::OtherRun { path: path.display().to_string(), differences: differ });
        }
        // The average, read and checked before the model changes.
        let ema = match &self.ema {
            None => None,
            Some(e) => {
                let kind = e.average.name();
                let n = counters(&format!("trainer.{kind}_n_averaged"), 1)?[0];
                let mut values = Vec::new();
                if n > 0 {
                    for (name, now) in crate::averaging::Averaged::current(model) {
                        let v = ck.get::<T>(&format!("{kind}.{name}"))?;
                        if v.shape() != now.shape() {
                            return Err(corrupt(format!(
                                "`{kind}.{name}` has shape {:?}; the model's is {:?}",
                                v.shape(),
                                now.shape()
                            )));
                        }
                        values.push((name, v.contiguous()));
                    }
                }
                Some((n, values))
            }
        };
        // The trained weights: `train.` where the evaluation ones differ.
        let trained = if ck.names().any(|n| n.starts_with("train.")) { "train." } else { "model." };
        checkpoint::restore(model, ck, trained)?;
        if let (Some(e), Some((n, values))) = (&mut self.ema, ema) {
            (e.n_averaged, e.values) = (n, values);
        }
        let ids: HashMap<String, u64> = model.named_parameters().into_iter().map(|(n, p)| (n, p.id().0)).collect();
        // Which buffers a parameter's state holds, and how long they are,
        // follow from its shape, which the model knows.
        let shapes = model.named_parameters().into_iter().map(|(_, p)| (p.id().0, p.shape())).collect();
        let mut state = OptimizerState { shapes, ..OptimizerState::default() };
        for name in ck.names() {
            if let Some(key) = name.strip_prefix("optim_") {
                state.counters.push((key.to_string(), counters(name, 1)?[0]));
            } else if let Some(rest) = name.strip_prefix("optim.") {
                let (param, what) = rest
                    .rsplit_once('.')
                    .ok_or_else(|| corrupt(format!("`{name}` is not of the form optim.<parameter>.<state>")))?;
                let id = ids.get(param).ok_or_else(|| gradus_nn::NnError::Mismatch {
                    mismatches: vec![format!("optimiser state for `{param}`, which the model does not have")],
                })?;
                let key = format!("state.{id}.{what}");
                match ck.get_u64(name) {
                    Ok(_) => state.counters.push((key, counters(name, 1)?[0])),
                    Err(_) => state.tensors.push((key, ck.get::<T>(name)?.to_vec())),
                }
            }
        }
        let steps = counters("trainer.steps", 1)?[0] as usize;
        let epochs = counters("trainer.epochs", 1)?[0] as usize;
        if epochs > steps {
            return Err(corrupt(format!("it counts {epochs} epochs in {steps} steps; every epoch takes a step")));
        }
        let skipped = if ck.contains("trainer.skipped_in_a_row") {
            counters("trainer.skipped_in_a_row", 1)?[0] as usize
        } else {
            0
        };
        let plateau = if ck.contains("trainer.plateau") { Some(counters("trainer.plateau", 5)?) } else { None };
        let start = |name: &str| -> Result<Option<Vec<T>>, GradusError> {
            if !ck.contains(name) {
                return Ok(None);
            }
            let v = ck.get::<T>(name)?;
            if !v.isfinite().all() {
                return Err(corrupt(format!("`{name}` holds NaN or Inf")));
            }
            Ok(Some(v.to_vec()))
        };
        let (sharpness_start, ggn_start) = (start("trainer.sharpness_start")?, start("trainer.ggn_sharpness_start")?);
        self.import_run(&state, steps, epochs)?;
        self.skipped_in_a_row = skipped;
        if let (Some(v), Some(tracker)) = (sharpness_start, self.sharpness_tracker()) {
            tracker.set_start(v);
        }
        if let (Some(v), Some(Some(slot))) = (ggn_start, self.sharpness_tracker().map(|t| t.ggn.as_mut())) {
            *slot = Some(v);
        }
        if let (Some(bits), Some(Driven::Plateau(p))) = (plateau, self.schedule_mut()) {
            let s = PlateauState {
                lr: f64::from_bits(bits[0]),
                best: f64::from_bits(bits[1]),
                num_bad_epochs: bits[2] as usize,
                cooldown_counter: bits[3] as usize,
                epochs: bits[4] as usize,
            };
            *p = gradus_sched::ReduceOnPlateau::from_state(p.options(), s)?;
        }
        Ok(())
    }
}
