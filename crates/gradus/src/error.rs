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
    Optimizer(#[from] gradus_optim::OptimError),
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
    /// A fresh run was to start in a directory that holds another run's
    /// files (the command line's exit code 2; nothing was changed).
    #[error("{dir} already holds a run ({}); resume it or replace it", files.join(", "))]
    Occupied {
        /// The directory.
        dir: String,
        /// The run files it holds.
        files: Vec<String>,
    },
    /// A checkpoint of a run made with another configuration than this
    /// one's (the command line's exit code 2).
    #[error(
        "{path} is a run made with other settings than this one's:\n  {}",
        differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    OtherRun {
        /// The checkpoint.
        path: String,
        /// Each difference.
        differences: Vec<crate::config::Difference>,
    },
    /// A model that does not fit its data or a spec that does not parse
    /// (the command line's exit code 2).
    #[error("{0}")]
    Config(String),
    /// The run diverged: a loss, gradient or parameter stopped being finite
    /// (the command line's exit code 3). The model is left as it was before
    /// the step that found it.
    #[error(
        "the run diverged{}{}: {what}{}",
        epoch.map_or(String::new(), |e| format!(" at epoch {e}")),
        step.map_or(String::new(), |s| format!(", step {s}")),
        first_op.as_ref().map_or(String::new(), |op| format!("; first non-finite value: {op}"))
    )]
    Diverged {
        /// The epoch (from 1) in which it was found; `None` for an
        /// evaluation outside training.
        epoch: Option<usize>,
        /// The step (from 1, counted over the whole run), when a training
        /// step found it; `None` when evaluation or the end-of-epoch check did.
        step: Option<usize>,
        /// What was not finite, e.g. `the training loss is NaN`.
        what: String,
        /// In anomaly mode, the first op that produced a non-finite value.
        first_op: Option<String>,
    },
    /// Another rank of a data-parallel run failed (it reports its own
    /// error); this one stopped with it.
    #[error("rank {rank} of the run failed (exit code {code}); its message says why")]
    Peer {
        /// The failing rank.
        rank: usize,
        /// Its exit code.
        code: u8,
    },
    /// The ranks of a data-parallel run disagree (their parameters, or
    /// what they were given).
    #[error("the processes of the run disagree: {0}")]
    Replicas(String),
    /// Drawing a plot.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}

impl GradusError {
    /// The command line's exit code for this error: 2 for input that is
    /// wrong (a spec, a model that does not fit, a checkpoint that does not
    /// match or is corrupt), 3 for a run that diverged, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        use gradus_nn::NnError;
        match self {
            Self::Diverged { .. } => 3,
            Self::Config(_)
            | Self::Occupied { .. }
            | Self::OtherRun { .. }
            | Self::Nn(NnError::Mismatch { .. } | NnError::Corrupt { .. }) => 2,
            Self::Peer { code, .. } => *code,
            _ => 1,
        }
    }
}
