//! # gradus-tensor
//!
//! n-dimensional tensors for the gradus training library: row-major storage
//! shared between clones, strided views, NumPy broadcasting, reductions,
//! softmax, indexing, and matrix products and decompositions through
//! [faer](https://docs.rs/faer).
//!
//! ```
//! use gradus_tensor::Tensor;
//!
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
//! let w = Tensor::from_vec(vec![0.5f32, -1.0, 0.25], &[3, 1]).unwrap();
//! let b = Tensor::scalar(1.0f32);
//! let z = x.matmul(&w) + &b; // [2, 1]
//! assert_eq!(z.to_vec(), vec![0.25, -0.5]);
//! let p = x.softmax(-1);
//! assert!((p.sum(.., false).item() - 2.0).abs() < 1e-6);
//! ```
//!
//! Elements are generic: every view and indexing operation works for any
//! [`Element`] (`f32`, `f64`, `bool` masks, `usize` indices); arithmetic needs
//! [`Float`]. Operations that get a programmer's error (shapes that cannot
//! broadcast, an axis out of range) panic with a message naming the operation
//! and the shapes; their `try_` forms return [`TensorError`].
//!
//! This crate is *not* an autodiff engine: it computes values only. Gradients
//! live in `gradus-autodiff`, which records these operations on a tape.

#![warn(missing_docs)]

mod attention;
mod attention_dropout;
mod axes;
mod binary;
mod channel;
mod compare;
mod conv;
mod cpu;
mod create;
mod denormal;
mod display;
mod dot;
mod element;
mod error;
mod float;
mod header;
mod index;
mod join;
mod kernel;
mod layout;
mod linalg;
mod matmul;
mod pages;
mod pooling;
mod reduce;
mod simd_state;
mod softmax;
mod spares;
mod storage;
mod targets;
mod tensor;
pub mod testing;
mod threads;
mod unary;
mod view;
pub mod vmath;

pub use attention_dropout::AttentionDropout;
pub use axes::Axes;
pub use conv::{ConvGeometry, PARALLEL_CONV_MACS};
pub use cpu::{SimdLevel, simd_level, with_avx2};
pub use denormal::{flush_denormal, set_flush_denormal};
pub use dot::{dot_f64, sum_of_squares_f64};
pub use element::Element;
pub use error::{Result, TensorError};
pub use float::Float;
pub use kernel::{Cost, PARALLEL_THRESHOLD, PARALLEL_THRESHOLD_CHEAP};
pub use layout::{Dims, broadcast_shapes, contiguous_strides, resolve_axis};
pub use matmul::{DEFAULT_PARALLEL_MATMUL_FLOPS, Mat, matmul_into, set_parallel_matmul_threshold};
pub use pages::{HUGE_PAGE_MIN_BYTES, advise_huge_pages, advised_vec, filled_vec};
pub use pooling::{PoolWindows, Window};
pub use simd_state::clear_upper_simd_state;
pub use softmax::{row_sum, softmax_shift};
pub use storage::{Pool, PoolStats, clear_pool, pool_stats, pooled_vec, recycle, set_pool_limit};
pub use targets::BatchTargets;
pub use tensor::Tensor;
pub use threads::{
    DEFAULT_WORKER_SPIN, init_threads, join, note_parallel_work, set_worker_spin, spinning_workers, workers_awake,
};
pub use unary::sigmoid;
