//! One module per family of kernels.

pub mod autodiff;
pub mod data;
pub mod elementwise;
pub mod layer;
pub mod matmul;
pub mod optim;
pub mod reduce;
pub mod train;

use criterion::Criterion;
use std::time::Duration;

/// Criterion settings for a 2-core shared machine: enough samples for a
/// stable median, short enough for the whole suite to run in minutes.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}
