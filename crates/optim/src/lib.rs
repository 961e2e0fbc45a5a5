//! gradus-optim: optimisers that see parameters and gradients as slices
//! (with their shapes), so they work with any source of gradients.
//!
//! - The seam: [`UpdateRule`], a per-parameter update with explicit
//!   [`State`] and the learning rate passed in, run as one fused pass over
//!   (θ, g, state), split across threads for large tensors; [`Optimizer`], the
//!   driver keyed by parameter id with parameter groups, a report of
//!   parameters without gradient, and an exact save/restore ([`OptimizerState`]).
//! - First order, PyTorch's forms and defaults: [`Sgd`] (momentum,
//!   dampening, Nesterov, weight decay, maximize), [`Adagrad`], [`Rmsprop`]
//!   (centred, momentum; and the textbook form), [`Adadelta`], [`Adam`]
//!   (AMSGrad, decoupled weight decay = AdamW), [`Nadam`], [`Adamax`],
//!   [`Radam`], [`Rprop`], [`Asgd`], and the two that see a parameter's
//!   shape, [`Adafactor`] (a matrix's second moment as row and column
//!   means) and [`Muon`] (a matrix's momentum orthogonalised, other
//!   tensors to a fallback); and the textbook [`Momentum`] and
//!   [`NesterovLookahead`] (closure form).
//! - From Optax, operation for operation: [`Lion`], [`Signum`], [`Yogi`],
//!   [`AdaBelief`], [`Lamb`], [`Lars`], [`Adan`], [`Novograd`], [`Adopt`],
//!   [`Ademamix`], schedule-free SGD and AdamW ([`ScheduleFree`], whose
//!   evaluation weights differ from the trained ones), [`Prodigy`] (one
//!   step size for a whole group, [`UpdateRule::couples`]); and
//!   [`Lookahead`] and [`Sam`] (sharpness-aware: the gradient taken again
//!   at a perturbed point, [`UpdateRule::sharpness_aware`]) around any of
//!   them.
//! - [`Sophia`]: momentum over an estimate of the Hessian's diagonal that
//!   the caller supplies every k steps
//!   ([`UpdateRule::curvature_request`]); `Kfac` (with the `tensor`
//!   feature): each layer's gradient preconditioned by the inverses of
//!   Kronecker factors of its curvature block, which the caller measures.
//! - Second order, closure form: `Newton` (with the `tensor` feature) and damped Newton from a
//!   Hessian (Cholesky/LU, damping when not positive definite) or from
//!   Hessian-vector products (conjugate gradient), and [`Lbfgs`] with the
//!   strong-Wolfe line search, step for step as `torch.optim.LBFGS`.
//! - [`clip_grad_norm`] (returns the norm) and [`clip_grad_value`].
//! - Spec strings: [`parse`]`("adam(lr=1e-3, betas=(0.9,0.999))")`.
//!
//! Which convention each type follows is in its docs; every hyper-parameter
//! is named as PyTorch names it, invalid values are errors at construction.

mod adabelief;
mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod adan;
mod ademamix;
mod adopt;
mod asgd;
mod clip;
mod curvature;
mod error;
mod hessian_free;
#[cfg(feature = "tensor")]
mod kfac;
mod lamb;
mod lars;
mod lbfgs;
mod lion;
mod lookahead;
mod momentum;
mod muon;
mod nadam;
#[cfg(feature = "tensor")]
mod newton;
mod novograd;
mod optimizer;
mod platform;
mod prodigy;
mod radam;
mod rmsprop;
mod rprop;
mod rule;
mod sam;
mod schedule_free;
mod sgd;
mod signum;
mod sophia;
mod spec;
mod weight_decay;
mod yogi;

pub use adabelief::{AdaBelief, AdaBeliefConfig};
pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adafactor::{Adafactor, AdafactorConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamax::{Adamax, AdamaxConfig};
pub use adan::{Adan, AdanConfig};
pub use ademamix::{Ademamix, AdemamixConfig};
pub use adopt::{Adopt, AdoptConfig};
pub use asgd::{Asgd, AsgdConfig};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use curvature::{CurvatureKind, CurvatureOracle, CurvatureRequest, Estimate, kronecker_sides};
pub use error::{OptimError, Result};
pub use hessian_free::{HessianFree, HessianFreeConfig};
#[cfg(feature = "tensor")]
pub use kfac::{Kfac, KfacConfig};
pub use lamb::{Lamb, LambConfig};
pub use lars::{Lars, LarsConfig};
pub use lbfgs::{Lbfgs, LbfgsConfig};
pub use lion::{Lion, LionConfig};
pub use lookahead::Lookahead;
pub use momentum::{Momentum, NesterovLookahead};
pub use muon::{AdjustLr, Muon, MuonConfig};
pub use nadam::{Nadam, NadamConfig};
#[cfg(feature = "tensor")]
pub use newton::{Newton, NewtonConfig, NewtonStep};
pub use novograd::{Novograd, NovogradConfig};
pub use optimizer::{Optimizer, OptimizerState, ParamGroup, StepReport};
pub use platform::Float;
pub use prodigy::{Prodigy, ProdigyConfig};
pub use radam::{Radam, RadamConfig};
pub use rmsprop::{Rmsprop, RmspropConfig};
pub use rprop::{Rprop, RpropConfig};
pub use rule::{Member, PARALLEL_MIN, PARALLEL_MIN_COLD, State, UpdateRule, lerp};
pub use sam::{Perturbation, Sam};
pub use schedule_free::{ScheduleFree, ScheduleFreeBase, ScheduleFreeConfig};
pub use sgd::{Sgd, SgdConfig};
pub use signum::{Signum, SignumConfig};
pub use sophia::{SOPHIA_EPS, Sophia, SophiaConfig};
pub use spec::{Method, NAMES, fallback_of, from_spec, parse, parse_method, without_weight_decay};
pub use weight_decay::WeightDecay;
pub use yogi::{Yogi, YogiConfig};
