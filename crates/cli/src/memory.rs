//! What a command may allocate: sizes computed from its arguments are
//! compared with the memory available (Linux's MemAvailable) before any of
//! it is allocated, and more is refused (exit 2) naming the size.

use crate::Failure;

/// Memory this process may still take, in bytes; `None` where it cannot be
/// read, and then no size is refused.
pub fn available() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

fn gigabytes(bytes: f64) -> String {
    format!("{:.3} GB", bytes / 1e9)
}

/// Refuses `bytes` beyond the memory available (exit 2): "`what` need
/// about …; this machine has … available (`advice`)".
pub fn fits(bytes: f64, what: impl FnOnce() -> String, advice: &str) -> Result<(), Failure> {
    match available() {
        Some(b) if bytes > b => Err(crate::usage(format!(
            "{} need about {}; this machine has {} available ({advice})",
            what(),
            gigabytes(bytes),
            gigabytes(b)
        ))),
        _ => Ok(()),
    }
}
