//! One step's gradient reduction: buckets of gradients all-reduced with
//! non-blocking collectives (MPI_Iallreduce) as each bucket fills, while
//! the backward pass goes on; [`Reducer::finish`] waits for the rest.
//!
//! MPI makes progress on a non-blocking collective only inside MPI calls
//! (Open MPI's TCP transport has no progress thread), so every
//! [`Reducer::ready`] also tests the buckets in flight.

use crate::World;
use crate::buckets::{BUCKET_BYTES, FIRST_BUCKET_BYTES, plan_buckets};
use crate::world::Wire;
use mpi::ffi;

struct Bucket<T> {
    send: Vec<T>,
    recv: Vec<T>,
    waiting: usize,
    request: Option<ffi::MPI_Request>,
    done: bool,
}

/// The gradient reduction of one step over `world`.
pub struct Reducer<'w, T: Wire> {
    world: &'w World,
    buckets: Vec<Bucket<T>>,
    /// For each gradient: (bucket, offset, length, seen).
    slots: Vec<(usize, usize, usize, bool)>,
    /// Time spent inside MPI calls, for the benches.
    waited: std::time::Duration,
}

impl<'w, T: Wire> Reducer<'w, T> {
    /// A reduction of gradients of `lens` values, listed in the order they
    /// are expected to become final, bucketed as PyTorch's DDP does
    /// ([`plan_buckets`]); `fused` puts them all in one bucket.
    pub fn new(world: &'w World, lens: &[usize], fused: bool) -> Self {
        let bytes = size_of::<T>();
        let plan = if fused {
            vec![(0..lens.len()).collect()]
        } else {
            plan_buckets(lens, bytes, FIRST_BUCKET_BYTES, BUCKET_BYTES)
        };
        let mut slots = vec![(0, 0, 0, false); lens.len()];
        let buckets = plan
            .into_iter()
            .enumerate()
            .map(|(b, members)| {
                let mut offset = 0;
                for &i in &members {
                    slots[i] = (b, offset, lens[i], false);
                    offset += lens[i];
                }
                Bucket {
                    waiting: members.len(),
                    send: vec![T::default(); offset],
                    recv: vec![T::default(); offset],
                    request: None,
                    done: false,
                }
            })
            .collect();
        Self { world, buckets, slots, waited: std::time::Duration::ZERO }
    }

    /// Gradient `i` is final: it is copied into its bucket, and a bucket
    /// whose gradients are all in starts its all-reduce.
    ///
    /// # Panics
    /// If `grad` has another length than planned or `i` came before.
    pub fn ready(&mut self, i: usize, grad: &[T]) {
        let (b, offset, len, seen) = self.slots[i];
        assert!(!seen && grad.len() == len, "gradient {i}: reported twice or with {} values, not {len}", grad.len());
        self.slots[i].3 = true;
        self.buckets[b].send[offset..offset + len].copy_from_slice(grad);
        self.buckets[b].waiting -= 1;
        // Buckets start in plan order on every rank (MPI matches
        // collectives by the order they are started).
        self.start_ready();
        self.progress();
    }

    fn start_ready(&mut self) {
        for k in 0..self.buckets.len() {
            let bucket = &mut self.buckets[k];
            if bucket.request.is_some() || bucket.done {
                continue;
            }
            if bucket.waiting > 0 {
                return;
            }
            let start = std::time::Instant::now();
            let mut request: ffi::MPI_Request = unsafe { ffi::RSMPI_REQUEST_NULL };
            // SAFETY: both buffers live in `self.buckets` until the request
            // completes (`finish` or `drop` waits for it), and are not
            // touched meanwhile; the count and datatype describe them.
            unsafe {
                ffi::MPI_Iallreduce(
                    bucket.send.as_ptr().cast(),
                    bucket.recv.as_mut_ptr().cast(),
                    bucket.send.len() as i32,
                    T::datatype(),
                    ffi::RSMPI_SUM,
                    self.world.raw(),
                    &mut request,
                );
            }
            bucket.request = Some(request);
            self.waited += start.elapsed();
        }
    }

    /// Lets MPI move the reductions in flight along.
    fn progress(&mut self) {
        let start = std::time::Instant::now();
        for bucket in &mut self.buckets {
            if let Some(request) = bucket.request.as_mut() {
                let mut flag = 0;
                // SAFETY: a request started above and not yet completed.
                unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
                if flag != 0 {
                    bucket.request = None;
                    bucket.done = true;
                }
            }
        }
        self.waited += start.elapsed();
    }

    fn wait_all(&mut self) {
        let start = std::time::Instant::now();
        for bucket in &mut self.buckets {
            if let Some(mut request) = bucket.request.take() {
                // SAFETY: as in `progress`.
                unsafe { ffi::MPI_Wait(&mut request, ffi::RSMPI_STATUS_IGNORE) };
                bucket.done = true;
            }
        }
        self.waited += start.elapsed();
    }

    /// Waits for every bucket (a gradient never reported counts as zeros,
    /// the same on every rank) and returns each gradient's sum over the
    /// ranks, in the order of `lens`, with the time spent in MPI calls.
    pub fn finish(mut self) -> (Vec<Vec<T>>, std::time::Duration) {
        for b in &mut self.buckets {
            b.waiting = 0;
        }
        self.start_ready();
        self.wait_all();
        let grads =
            self.slots.iter().map(|&(b, offset, len, _)| self.buckets[b].recv[offset..offset + len].to_vec()).collect();
        (grads, self.waited)
    }
}

impl<T: Wire> Drop for Reducer<'_, T> {
    fn drop(&mut self) {
        // A step that failed part-way still completes what it started: MPI
        // may write into the buffers until then.
        self.wait_all();
    }
}
