//! `Element`: what a tensor can hold — floats, `bool` masks and `usize` indices.

use crate::storage::Pool;
use std::fmt;

/// A value a [`Tensor`](crate::Tensor) can store.
///
/// Views, indexing and layout work for every element; arithmetic needs
/// [`Float`](crate::Float). `bool` tensors are masks (comparisons return them),
/// `usize` tensors are indices (`argmax`, `gather`, `index_select` use them).
pub trait Element: Copy + Send + Sync + fmt::Debug + PartialEq + Default + 'static {
    /// Short name of the type as printed by `Debug` (`f32`, `bool`, …).
    const DTYPE: &'static str;

    /// The buffer pool for large tensors of this type, if it has one.
    fn pool() -> Option<&'static Pool<Self>> {
        None
    }

    /// The calling thread's spare tensor headers of this type, if it keeps
    /// them (see `spares.rs`).
    #[doc(hidden)]
    fn spares() -> Option<crate::spares::Key<Self>> {
        None
    }

    /// Formats one value for printing; `precision` is the number of decimals
    /// a float uses, ignored by other types.
    fn format_value(self, precision: usize, scientific: bool) -> String;

    /// The `(precision, scientific)` style that prints all of `values` well.
    fn print_style(_values: &[Self]) -> (usize, bool) {
        (0, false)
    }
}

static POOL_BOOL: Pool<bool> = Pool::new();
static POOL_USIZE: Pool<usize> = Pool::new();

// Masks (ReLU's, dropout's) and indices (argmax, gather) of large batches
// are recycled as floats are: a 512 × 256 ReLU mask is 128 KiB, which glibc
// maps fresh and unmaps on every step (32 page faults each).
impl Element for bool {
    const DTYPE: &'static str = "bool";
    fn pool() -> Option<&'static Pool<Self>> {
        Some(&POOL_BOOL)
    }
    fn format_value(self, _: usize, _: bool) -> String {
        if self { "true" } else { "false" }.to_string()
    }
}

impl Element for usize {
    const DTYPE: &'static str = "usize";
    fn pool() -> Option<&'static Pool<Self>> {
        Some(&POOL_USIZE)
    }
    fn format_value(self, _: usize, _: bool) -> String {
        self.to_string()
    }
}

macro_rules! float_element {
    ($t:ty, $pool:ident, $spares:ident) => {
        static $pool: Pool<$t> = Pool::new();
        thread_local! {
            static $spares: std::cell::RefCell<crate::spares::Spares<$t>> =
                const { std::cell::RefCell::new(crate::spares::Spares::new()) };
        }
        impl Element for $t {
            const DTYPE: &'static str = stringify!($t);
            fn pool() -> Option<&'static Pool<Self>> {
                Some(&$pool)
            }
            #[inline]
            fn spares() -> Option<crate::spares::Key<Self>> {
                Some(&$spares)
            }
            fn print_style(values: &[Self]) -> (usize, bool) {
                let finite = values.iter().copied().filter(|x| x.is_finite());
                let (mut max, mut min_nonzero, mut integral) = (0.0 as $t, <$t>::INFINITY, true);
                for x in finite {
                    max = max.max(x.abs());
                    if x != 0.0 {
                        min_nonzero = min_nonzero.min(x.abs());
                    }
                    integral &= x.fract() == 0.0;
                }
                if integral && max < 1e8 {
                    (0, false)
                } else if max >= 1e8 || min_nonzero < 1e-4 || max / min_nonzero > 1e3 && min_nonzero < 1e-2 {
                    (4, true)
                } else {
                    (4, false)
                }
            }
            fn format_value(self, precision: usize, scientific: bool) -> String {
                if self.is_nan() {
                    "nan".to_string()
                } else if self.is_infinite() {
                    if self > 0.0 { "inf" } else { "-inf" }.to_string()
                } else if scientific {
                    // PyTorch's form: a signed exponent of at least two digits.
                    let text = format!("{:.*e}", precision, self);
                    let (mantissa, exp) = text.split_once('e').expect("LowerExp has an exponent");
                    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
                    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
                } else if precision == 0 {
                    format!("{self:.0}.")
                } else {
                    format!("{:.*}", precision, self)
                }
            }
        }
    };
}
float_element!(f32, POOL_F32, SPARES_F32);
float_element!(f64, POOL_F64, SPARES_F64);
