//! gradus: deep-learning training in Rust, exact to PyTorch's numbers.
//!
//! One dependency for the whole workspace: [`tensor`], [`autodiff`],
//! [`nn`], [`loss`], [`optim`], [`sched`], [`data`] (and [`spec`]), plus
//! what needs all of them: the [`Trainer`] with per-epoch metrics and
//! gradient norms, and SVG [`plot`]s. `use gradus::prelude::*` brings the
//! everyday names.

/// The README's examples, compiled and run as doctests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

mod averaging;
mod config;
mod error;
mod evaluation;
mod gradients;
pub mod hessian;
mod hessian_diagonal;
pub use hessian_diagonal::PROBE_SEED;
pub mod kronecker;
pub mod landscape;
pub mod lr_find;
mod metrics;
pub mod models;
mod momentum_schedule;
mod noise_scale;
pub use noise_scale::NoiseColumns;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod per_example;
pub mod plot;
mod replicas;
mod replicated;
mod resume;
pub mod run;
pub mod sample;
mod sharpness;
mod sharpness_aware;
mod solving;
mod trainer;
pub mod trajectory;
mod weight_averaging;

pub use averaging::Average;
pub use config::{Difference, SameMeaning};
pub use error::GradusError;
pub use evaluation::{Evaluation, evaluate, top_k_correct};
pub use gradients::{AGC_EPS, GradientRules, adaptive_clip};
pub use gradus_autodiff as autodiff;
pub use gradus_data as data;
pub use gradus_dist as dist;
pub use gradus_loss as loss;
pub use gradus_nn as nn;
pub use gradus_optim as optim;
pub use gradus_sched as sched;
pub use gradus_sched::Schedule;
pub use gradus_spec as spec;
pub use gradus_tensor as tensor;
pub use metrics::EpochMetrics;
/// The random-number crate the initialisers and samplers take generators from.
pub use rand;
pub use replicas::{Backward, BatchStats, Replicas};
pub use sharpness::SharpnessPoint;
pub use trainer::{Every, Loaders, Trainer};

/// The everyday names.
pub mod prelude {
    pub use crate::{EpochMetrics, Every, GradusError, Loaders, Schedule, Trainer, evaluate};
    pub use gradus_autodiff::{Tape, Var, no_grad};
    pub use gradus_data::{DataLoader, Dataset, mnist, transforms};
    pub use gradus_loss::{BatchTargets, CrossEntropy, Loss, Reduction};
    pub use gradus_nn::{Activation, Linear, Mlp, Module, Sequential};
    pub use gradus_optim::Optimizer;
    pub use gradus_sched::LrScheduler;
    pub use gradus_tensor::Tensor;
    pub use rand::SeedableRng;
}
