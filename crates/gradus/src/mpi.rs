//! [`Replicas`] over MPI (cargo feature `mpi`): the ranks an `mpirun`
//! started, talking through gradus-dist.

use crate::Replicas;
use crate::replicas::Backward;
use gradus_autodiff::Across;
use gradus_dist::{Reducer, Wire, World};
use gradus_tensor::Float;
use std::any::TypeId;
use std::rc::Rc;
use std::time::Duration;

/// The ranks of an `mpirun` launch, as the trainer's [`Replicas`].
///
/// ```no_run
/// use std::rc::Rc;
/// use gradus::{BatchStats, Trainer, mpi::Mpi};
/// # fn run(optim: gradus::optim::Optimizer<f32>) {
/// let world = Rc::new(Mpi::init().expect("MPI starts once per process"));
/// let trainer = Trainer::new(optim).replicated(world, BatchStats::Global);
/// # }
/// ```
#[derive(Debug)]
pub struct Mpi {
    world: Rc<World>,
    fused: bool,
}

impl Mpi {
    /// Initialises MPI and joins its world; `None` if MPI was already
    /// initialised in this process.
    pub fn init() -> Option<Self> {
        Some(Self { world: Rc::new(World::init()?), fused: false })
    }

    /// Reduces all gradients of a step in one collective after backward
    /// instead of in buckets during it (for measuring what overlap gains).
    #[must_use]
    pub fn fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    /// The communicator.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Ends every rank with `code` (MPI_Abort).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

/// `values` as a slice of `F`, when `T` is `F`.
fn cast<T: 'static, F: 'static>(values: &[T]) -> Option<&[F]> {
    // SAFETY: T and F are the same type.
    (TypeId::of::<T>() == TypeId::of::<F>()).then(|| unsafe { &*(std::ptr::from_ref(values) as *const [F]) })
}

fn cast_mut<T: 'static, F: 'static>(values: &mut [T]) -> Option<&mut [F]> {
    // SAFETY: T and F are the same type.
    (TypeId::of::<T>() == TypeId::of::<F>()).then(|| unsafe { &mut *(std::ptr::from_mut(values) as *mut [F]) })
}

fn reduce_as<T: Float, F: Wire + Float>(
    world: &World,
    fused: bool,
    lens: &[usize],
    backward: Backward<'_, T>,
) -> (Vec<Vec<T>>, Duration) {
    let mut reducer = Reducer::<F>::new(world, lens, fused);
    backward(&mut |i, g| reducer.ready(i, cast(g).expect("T is F")));
    let (sums, waited) = reducer.finish();
    (sums.into_iter().map(|s| s.into_iter().map(|x| T::of(x.as_f64())).collect()).collect(), waited)
}

impl<T: Float> Replicas<T> for Mpi {
    fn rank(&self) -> usize {
        self.world.rank()
    }

    fn size(&self) -> usize {
        self.world.size()
    }

    fn gather(&self, mine: &[f64]) -> Vec<f64> {
        self.world.gather(mine)
    }

    fn broadcast(&self, values: &mut [T]) {
        if let Some(v) = cast_mut::<T, f32>(values) {
            self.world.broadcast(v);
        } else if let Some(v) = cast_mut::<T, f64>(values) {
            self.world.broadcast(v);
        } else {
            unreachable!("Float is f32 or f64");
        }
    }

    fn group(&self) -> Rc<dyn Across> {
        Rc::clone(&self.world) as Rc<dyn Across>
    }

    fn reduce(&self, lens: &[usize], backward: Backward<'_, T>) -> (Vec<Vec<T>>, Duration) {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            reduce_as::<T, f32>(&self.world, self.fused, lens, backward)
        } else {
            reduce_as::<T, f64>(&self.world, self.fused, lens, backward)
        }
    }
}
