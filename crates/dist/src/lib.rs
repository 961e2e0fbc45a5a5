//! gradus-dist: what a data-parallel run needs from MPI, and nothing of
//! training itself.
//!
//! - [`launched`]: whether this process was started by `mpirun` as one of
//!   several ranks (read from the launcher's environment, no MPI needed).
//! - [`plan_buckets`]: DDP's grouping of gradients into buckets for
//!   reduction (a small first bucket, then up to a cap).
//! - With the `mpi` feature: `World`, the communicator (sums, gathers,
//!   broadcasts, abort) and `Reducer`, which all-reduces the buckets of
//!   one step with non-blocking collectives as their gradients become
//!   final, so communication overlaps the rest of the backward pass.
//!
//! The trainer that uses them is the facade's (`gradus::Replicas`); this
//! crate sees slices of numbers, never models.

mod buckets;
mod launch;
#[cfg(feature = "mpi")]
mod reducer;
#[cfg(feature = "mpi")]
mod world;

pub use buckets::{BUCKET_BYTES, FIRST_BUCKET_BYTES, plan_buckets};
pub use launch::{Launch, has_mpirun, launched, loopback_mpirun};
#[cfg(feature = "mpi")]
pub use reducer::Reducer;
#[cfg(feature = "mpi")]
pub use world::{Wire, World};
