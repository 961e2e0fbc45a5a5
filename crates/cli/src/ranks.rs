//! The processes of a `gradus` run: one on its own, or the ranks of an
//! `mpirun` launch (cargo feature `mpi`). Rank 0 prints progress and
//! writes the run's files; setup and every file write end with an
//! agreement, so a failure on any rank ends all of them with that rank's
//! message.

use crate::Failure;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set on ranks other than 0: their progress lines are not printed.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether progress lines are printed by this process.
pub(crate) fn speaks() -> bool {
    !QUIET.load(Ordering::Relaxed)
}

/// This process's place in the run.
pub struct Ranks {
    pub rank: usize,
    pub size: usize,
    #[cfg(feature = "mpi")]
    pub mpi: Option<Rc<gradus::mpi::Mpi>>,
}

impl Ranks {
    /// One process on its own.
    pub fn single() -> Self {
        Self {
            rank: 0,
            size: 1,
            #[cfg(feature = "mpi")]
            mpi: None,
        }
    }

    /// The ranks this process belongs to. `several` says whether the
    /// command can run as several processes (train and compare); started
    /// by mpirun with more than one rank otherwise, or by a build without
    /// MPI, it is exit 2 (N copies would overwrite one another's output).
    pub fn start(several: bool) -> Result<Self, Failure> {
        let Some(launch) = gradus::dist::launched().filter(|l| l.size > 1) else { return Ok(Self::single()) };
        QUIET.store(launch.rank != 0, Ordering::Relaxed);
        if !several {
            return Err(Failure::Usage(format!(
                "started as {} processes (mpirun): only `gradus train` and `gradus compare` run as several processes; run this command once, without mpirun",
                launch.size
            )));
        }
        Self::join(launch)
    }

    #[cfg(not(feature = "mpi"))]
    fn join(launch: gradus::dist::Launch) -> Result<Self, Failure> {
        Err(Failure::Usage(format!(
            "started as {} processes (mpirun), but this gradus was built without MPI, so each would train on its own and write the same --out; build it with `cargo build --release -p gradus-cli --features mpi` (needs libopenmpi-dev, openmpi-bin and libclang-dev) or run it without mpirun",
            launch.size
        )))
    }

    #[cfg(feature = "mpi")]
    fn join(launch: gradus::dist::Launch) -> Result<Self, Failure> {
        let mpi = gradus::mpi::Mpi::init().ok_or_else(|| Failure::Run("MPI was already initialised".into()))?;
        let (rank, size) = (mpi.world().rank(), mpi.world().size());
        debug_assert_eq!((rank, size), (launch.rank, launch.size));
        Ok(Self { rank, size, mpi: Some(Rc::new(mpi)) })
    }

    /// Whether this process writes the run's files and prints its tables.
    pub fn leads(&self) -> bool {
        self.rank == 0
    }

    /// The replicas for the trainer (none for one process).
    pub fn replicas(&self) -> Option<Rc<dyn gradus::Replicas<f32>>> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return Some(Rc::clone(m) as Rc<dyn gradus::Replicas<f32>>);
        }
        None
    }

    /// Agrees on `result` with the other ranks: every rank goes on if all
    /// succeeded; otherwise the lowest failing rank returns its failure and
    /// the others [`Failure::Peer`] with its exit code.
    pub fn agree<T>(&self, result: Result<T, Failure>) -> Result<T, Failure> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            let code = result.as_ref().err().map_or(0, Failure::code);
            let codes = m.world().gather(&[f64::from(code)]);
            if let Some(rank) = codes.iter().position(|&c| c != 0.0)
                && (rank != self.rank || result.is_ok())
            {
                return Err(Failure::Peer(codes[rank] as u8));
            }
        }
        result
    }

    /// Leaves the run with `code`. After a failure, the other ranks may be
    /// waiting in a collective this rank will not join: if they do not all
    /// arrive within a few seconds, every rank is ended (MPI_Abort).
    pub fn leave(&self, code: u8) {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi
            && code != 0
            && !m.world().meet_within(std::time::Duration::from_secs(3))
        {
            m.abort(i32::from(code));
        }
        let _ = code;
    }
}
