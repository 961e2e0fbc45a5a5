//! `GradusError`: any error of the crates the facade joins.

/// An error from data, losses, optimisers, schedules, checkpoints, autodiff or plots.
#[derive(Debug, thiserror::Error)]
pub enum GradusError {
    /// Data.
    #[error(transparent)]
    Data(#[from] gradus_data::DataError),
    /// A loss given the wrong targets.
    #[error(transparent)]
    Loss(#[from] gradus_loss::LossError),
    /// An optimiser.
    #[error(transparent)]
    Optim(#[from] gradus_optim::OptimError),
    /// A schedule.
    #[error(transparent)]
    Sched(#[from] gradus_sched::SchedError),
    /// A checkpoint.
    #[error(transparent)]
    Nn(#[from] gradus_nn::NnError),
    /// The tape.
    #[error(transparent)]
    Autodiff(#[from] gradus_autodiff::AutodiffError),
    /// Writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A model that does not fit its data or a spec that does not parse
    /// (the command line's exit code 2).
    #[error("{0}")]
    Config(String),
    /// Drawing a plot.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}
