//! The communicator: MPI's world, initialised once per process, and the
//! blocking collectives a data-parallel run needs.

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Equivalence, Root};
use std::fmt;

/// A float type MPI can reduce (f32 and f64), with its MPI datatype.
pub trait Wire: Equivalence + Copy + Default + std::ops::AddAssign + 'static {
    /// The MPI datatype.
    fn datatype() -> mpi::ffi::MPI_Datatype;
}

impl Wire for f32 {
    fn datatype() -> mpi::ffi::MPI_Datatype {
        // SAFETY: a constant of the MPI library, valid once it is linked.
        unsafe { mpi::ffi::RSMPI_FLOAT }
    }
}

impl Wire for f64 {
    fn datatype() -> mpi::ffi::MPI_Datatype {
        // SAFETY: as for f32.
        unsafe { mpi::ffi::RSMPI_DOUBLE }
    }
}

/// The processes of one run: MPI's world communicator. Every collective
/// here must be called by every rank, in the same order.
pub struct World {
    // Finalises MPI when dropped, after the communicator.
    comm: SimpleCommunicator,
    _universe: Universe,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "World(rank {} of {})", self.rank(), self.size())
    }
}

impl World {
    /// Initialises MPI (only the calling thread talks to it) and joins the
    /// world. `None` when MPI was already initialised in this process.
    ///
    /// A panic anywhere in the process then ends every rank (MPI_Abort
    /// after the panic message), instead of leaving the others waiting in
    /// a collective for a rank that is gone.
    pub fn init() -> Option<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // SAFETY: MPI is initialised (above) and the world communicator
            // is a constant of the library.
            unsafe { mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, 101) };
        }));
        Some(Self { comm: universe.world(), _universe: universe })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.comm.size() as usize
    }

    /// The raw communicator, for the non-blocking reducer.
    pub(crate) fn raw(&self) -> mpi::ffi::MPI_Comm {
        use mpi::raw::AsRaw;
        self.comm.as_raw()
    }

    /// Replaces `values` with their element-wise sum over the ranks.
    pub fn sum<T: Wire>(&self, values: &mut [T]) {
        if self.size() == 1 {
            return;
        }
        let send = values.to_vec();
        self.comm.all_reduce_into(&send[..], values, SystemOperation::sum());
    }

    /// Every rank's `mine` (all of the same length), concatenated in rank
    /// order: the same values on every rank, so a sum of them taken in
    /// that order gives the same bits everywhere.
    pub fn gather(&self, mine: &[f64]) -> Vec<f64> {
        let mut all = vec![0.0; mine.len() * self.size()];
        self.comm.all_gather_into(mine, &mut all[..]);
        all
    }

    /// Rank 0's `values` on every rank.
    pub fn broadcast<T: Wire>(&self, values: &mut [T]) {
        self.comm.process_at_rank(0).broadcast_into(values);
    }

    /// Waits until every rank has called it.
    pub fn barrier(&self) {
        self.comm.barrier();
    }

    /// Waits up to `within` for every rank to reach this point (a
    /// non-blocking barrier, polled); false if some did not, e.g. because
    /// they wait in a collective this rank will never join.
    pub fn meet_within(&self, within: std::time::Duration) -> bool {
        if self.size() == 1 {
            return true;
        }
        let start = std::time::Instant::now();
        let mut request: mpi::ffi::MPI_Request = unsafe { mpi::ffi::RSMPI_REQUEST_NULL };
        // SAFETY: a barrier has no buffers; the request is completed below
        // or the process aborts.
        unsafe { mpi::ffi::MPI_Ibarrier(self.raw(), &mut request) };
        loop {
            let mut flag = 0;
            // SAFETY: the request started above, not yet completed.
            unsafe { mpi::ffi::MPI_Test(&mut request, &mut flag, mpi::ffi::RSMPI_STATUS_IGNORE) };
            if flag != 0 {
                return true;
            }
            if start.elapsed() > within {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Ends every rank of the run with `code` (MPI_Abort): the last resort
    /// when this rank failed where the others cannot learn of it.
    pub fn abort(&self, code: i32) -> ! {
        self.comm.abort(code)
    }
}

impl gradus_autodiff::Across for World {
    fn sum(&self, values: &mut [f64]) {
        World::sum(self, values);
    }
}
