//! Shared helpers of the gradus benches: interleaved timing with medians,
//! for ratios that survive a noisy shared machine.

use std::time::Instant;

/// Times each of `cases` `reps` times, interleaved (case 1, case 2, …, case
/// 1, …) so that a slow stretch of the machine hits every case alike, and
/// returns each case's median in seconds.
pub fn interleaved_medians(reps: usize, cases: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(reps); cases.len()];
    for case in cases.iter_mut() {
        case(); // warm up caches, the buffer pool and rayon's threads
    }
    for _ in 0..reps {
        for (case, t) in cases.iter_mut().zip(&mut times) {
            let start = Instant::now();
            case();
            t.push(start.elapsed().as_secs_f64());
        }
    }
    times.into_iter().map(median).collect()
}

/// The median of `v` (the mean of the middle two for an even length).
pub fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn every_case_runs_reps_plus_warm_up_times() {
        let (mut a, mut b) = (0, 0);
        let medians = interleaved_medians(5, &mut [&mut || a += 1, &mut || b += 1]);
        assert_eq!((a, b, medians.len()), (6, 6, 2));
    }
}
