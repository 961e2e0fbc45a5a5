//! The trainer's side of methods that solve with the batch's curvature
//! inside their step (`hessian_free`): a [`CurvatureOracle`] over the
//! model on the batch — Gauss–Newton or Hessian products from one recorded
//! pass, and the loss at other parameters — in training mode, every
//! evaluation drawing the dropout masks the step's gradient pass drew and
//! leaving batch norm's statistics as that pass left them.

use crate::GradusError;
use crate::hessian::{Curvature, LossHessian};
use gradus_loss::Loss;
use gradus_nn::{Module, Param};
use gradus_optim::{CurvatureKind, CurvatureOracle};
use gradus_tensor::{BatchTargets, Float, Tensor};

/// The oracle over (`x`, `y`) for the parameters a step updates.
pub(crate) struct BatchOracle<'m, T: Float> {
    model: &'m dyn Module<T>,
    loss: &'m dyn Loss<T>,
    x: Tensor<T>,
    y: BatchTargets<T>,
    op: LossHessian<'m, T>,
    /// The counters the step's gradient pass started from.
    counters: Vec<u64>,
    /// Each stepped parameter, with its offset in the operator's vectors.
    stepped: Vec<(&'m Param<T>, usize)>,
}

impl<'m, T: Float> BatchOracle<'m, T> {
    /// Records the batch's `kind` curvature (Gauss–Newton or Hessian) at
    /// the current parameters for the `stepped` ones (in the order the
    /// step gives them), at `counters`.
    pub(crate) fn new(
        model: &'m dyn Module<T>,
        loss: &'m dyn Loss<T>,
        (x, y): (&Tensor<T>, &BatchTargets<T>),
        kind: CurvatureKind,
        counters: Vec<u64>,
        stepped: &[&'m Param<T>],
    ) -> Result<Self, GradusError> {
        let curvature = if kind == CurvatureKind::Hessian { Curvature::Hessian } else { Curvature::Ggn };
        let op =
            crate::averaging::at_counters(model, &counters, || LossHessian::on_batch(model, loss, x, y, curvature))?;
        let names = op.parameter_names();
        let mut offsets = Vec::with_capacity(names.len());
        let mut at = 0;
        let all = model.named_parameters();
        for name in &names {
            let p = all
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, p)| *p)
                .expect("the operator's parameters are the model's");
            offsets.push((p.id().0, at));
            at += p.numel();
        }
        let stepped = stepped
            .iter()
            .map(|p| {
                let off = offsets.iter().find(|(id, _)| *id == p.id().0).map(|(_, o)| *o);
                off.map(|o| (*p, o))
                    .ok_or_else(|| GradusError::Config("a stepped parameter the operator does not hold".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { model, loss, x: x.clone(), y: y.clone(), op, counters, stepped })
    }
}

impl<T: Float> CurvatureOracle<T> for BatchOracle<'_, T> {
    fn product(&mut self, v: &[T]) -> Result<Vec<T>, String> {
        let mut full = vec![T::zero(); self.op.dimension()];
        let mut at = 0;
        for (p, off) in &self.stepped {
            let n = p.numel();
            full[*off..off + n].copy_from_slice(&v[at..at + n]);
            at += n;
        }
        let bv = self.op.apply(&full).map_err(|e| e.to_string())?;
        Ok(self.stepped.iter().flat_map(|(p, off)| bv[*off..off + p.numel()].to_vec()).collect())
    }

    fn loss_at(&mut self, theta: &[T]) -> Result<f64, String> {
        let held: Vec<Tensor<T>> = self.stepped.iter().map(|(p, _)| p.value()).collect();
        let mut at = 0;
        for (p, _) in &self.stepped {
            let n = p.numel();
            p.set(Tensor::from_vec(theta[at..at + n].to_vec(), &p.shape()).map_err(|e| e.to_string())?);
            at += n;
        }
        let (model, loss, x, y) = (self.model, self.loss, &self.x, &self.y);
        let value = crate::averaging::at_counters(model, &self.counters, || {
            let out = gradus_autodiff::no_grad(|| {
                let tape = gradus_autodiff::Tape::new();
                loss.loss(&model.forward(&tape, &gradus_autodiff::Var::constant(x.clone())), y)
            });
            out.map(|v| v.value().item().as_f64())
        });
        for ((p, _), v) in self.stepped.iter().zip(held) {
            p.set(v);
        }
        value.map_err(|e| e.to_string())
    }
}

/// The parameters a step updates, in its order: each once, with a gradient.
pub(crate) fn stepped<'m, T: Float>(
    params: &[(String, &'m Param<T>)],
    grads: &[Option<crate::trainer::Gradient<T>>],
) -> Vec<&'m Param<T>> {
    let mut seen = std::collections::BTreeSet::new();
    let pairs = params.iter().zip(grads).filter(|((_, p), _)| seen.insert(p.id().0));
    pairs.filter(|(_, g)| g.is_some()).map(|((_, p), _)| *p).collect()
}

/// The optimiser's solving step on copies of the parameters in `kept`
/// (index into `params`, gradient), written back after: the oracle moves
/// the parameters themselves while the step runs.
pub(crate) fn step<T: Float>(
    optim: &mut gradus_optim::Optimizer<T>,
    params: &[(String, &Param<T>)],
    kept: Vec<(usize, Option<Tensor<T>>, f64)>,
    oracle: &mut dyn CurvatureOracle<T>,
) -> Result<(), GradusError> {
    let mut copies: Vec<_> = kept
        .into_iter()
        .map(|(k, g, _)| {
            let p = params[k].1;
            (p, p.shape(), p.value().contiguous().to_vec(), g)
        })
        .collect();
    optim.step_solving(
        copies.iter_mut().map(|(p, shape, w, g)| {
            (p.id().0, &shape[..], &mut w[..], g.as_ref().map(|g| g.as_slice().expect("made contiguous")))
        }),
        oracle,
    )?;
    for (p, shape, w, _) in copies {
        p.set(Tensor::from_vec(w, &shape).expect("the parameter's shape"));
    }
    Ok(())
}
