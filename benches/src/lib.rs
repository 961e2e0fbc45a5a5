//! Shared helpers of the gradus benches: interleaved timing with medians,
//! for ratios that survive a noisy shared machine; the scoreboard's
//! workloads; and the process counters (page faults, peak memory) the
//! scoreboard reports.

pub mod peak;
pub mod workloads;

use std::time::Instant;

/// Minor page faults of this process so far (field 10 of /proc/self/stat,
/// what getrusage reports as `ru_minflt`); 0 where /proc is missing.
pub fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0)
}

/// Peak resident memory of this process in KiB (VmHWM, getrusage's
/// `ru_maxrss`); 0 where /proc is missing.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// CPU seconds this process has used, all its threads together
/// (`CLOCK_PROCESS_CPUTIME_ID`); 0 where the clock is missing.
pub fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid timespec for the call to fill.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    0.0
}

/// Timings of one workload in one process: seconds per iteration of each
/// timed run, minor page faults per iteration over the timed runs, the
/// process's peak memory, and the threads it ran on.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Seconds per iteration, one entry per timed run.
    pub times: Vec<f64>,
    /// Minor page faults per iteration while timing (after one warm-up run).
    pub faults_per_iteration: f64,
    /// Peak resident memory in KiB.
    pub peak_rss_kib: u64,
    /// The threads the process's compute pool had (rayon's pool for gradus,
    /// `torch.get_num_threads()` for PyTorch); 0 when not reported.
    pub threads: usize,
    /// CPU seconds per wall-clock second over the timed runs: how many
    /// threads were busy on average. It cannot exceed the threads that
    /// ran, so a row at one thread whose figure is well above 1 did not
    /// run on one. NaN when not reported.
    pub cpu_per_wall: f64,
}

impl Measurement {
    /// Runs `run` once to warm up, then `reps` timed times of `iterations`
    /// iterations each.
    pub fn take(run: &mut dyn FnMut(), reps: usize, iterations: usize) -> Self {
        Self::take_alternating(run, None, reps, iterations).0
    }

    /// [`Measurement::take`] for `run` and, when given, `other` in the same
    /// process, their timed runs alternating (`run`, `other`, `run`, …) so
    /// that the machine's slow stretches land on both: the comparison of
    /// two codes in one language, where separate processes seconds apart
    /// would see different machines. Page faults and CPU time are counted
    /// over both together.
    pub fn take_alternating(
        run: &mut dyn FnMut(),
        mut other: Option<&mut dyn FnMut()>,
        reps: usize,
        iterations: usize,
    ) -> (Self, Option<Self>) {
        run();
        if let Some(o) = other.as_mut() {
            o();
        }
        let (faults, cpu, wall) = (minor_faults(), cpu_seconds(), Instant::now());
        let mut times = Vec::with_capacity(reps);
        let mut other_times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let start = Instant::now();
            run();
            times.push(start.elapsed().as_secs_f64() / iterations as f64);
            if let Some(o) = other.as_mut() {
                let start = Instant::now();
                o();
                other_times.push(start.elapsed().as_secs_f64() / iterations as f64);
            }
        }
        let runs = (reps * iterations * if other.is_some() { 2 } else { 1 }) as f64;
        let per = (minor_faults() - faults) as f64 / runs;
        let cpu_per_wall = (cpu_seconds() - cpu) / wall.elapsed().as_secs_f64();
        let (threads, peak_rss_kib) = (rayon::current_num_threads(), peak_rss_kib());
        let make = |times| Self { times, faults_per_iteration: per, peak_rss_kib, threads, cpu_per_wall };
        let second = other.is_some().then(|| make(other_times));
        (make(times), second)
    }

    /// The protocol lines a workload process prints (benches/peers/ prints
    /// the same): `times t1 t2 …`, `faults_per_iteration f`, `peak_rss_kib
    /// k`, `threads t`, `cpu_per_wall c`.
    pub fn to_lines(&self) -> String {
        let times: Vec<String> = self.times.iter().map(f64::to_string).collect();
        format!(
            "times {}\nfaults_per_iteration {}\npeak_rss_kib {}\nthreads {}\ncpu_per_wall {}\n",
            times.join(" "),
            self.faults_per_iteration,
            self.peak_rss_kib,
            self.threads,
            self.cpu_per_wall
        )
    }

    /// Reads [`Measurement::to_lines`]' format (other lines are ignored).
    ///
    /// # Errors
    /// A missing `times` line or a field that is not a number, named.
    pub fn parse(text: &str) -> Result<Self, String> {
        let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key).map(str::trim));
        let number = |key: &str, v: &str| v.parse::<f64>().map_err(|_| format!("{key}: `{v}` is not a number"));
        let times = field("times ").ok_or("no `times` line")?;
        let times = times.split_whitespace().map(|t| number("times", t)).collect::<Result<Vec<_>, _>>()?;
        if times.is_empty() {
            return Err("`times` is empty".into());
        }
        let faults = field("faults_per_iteration ").map_or(Ok(f64::NAN), |v| number("faults_per_iteration", v))?;
        let rss = field("peak_rss_kib ").map_or(Ok(0.0), |v| number("peak_rss_kib", v))?;
        let threads = field("threads ").map_or(Ok(0.0), |v| number("threads", v))?;
        let cpu_per_wall = field("cpu_per_wall ").map_or(Ok(f64::NAN), |v| number("cpu_per_wall", v))?;
        Ok(Self {
            times,
            faults_per_iteration: faults,
            peak_rss_kib: rss as u64,
            threads: threads as usize,
            cpu_per_wall,
        })
    }

    /// One measurement from several processes' (rounds of the same
    /// workload): every time, the mean fault rate, the highest peak, the
    /// most threads and the highest CPU per wall second.
    ///
    /// # Panics
    /// If `parts` is empty.
    pub fn merge(parts: &[Measurement]) -> Self {
        assert!(!parts.is_empty(), "merge of no measurements");
        Self {
            times: parts.iter().flat_map(|m| m.times.iter().copied()).collect(),
            faults_per_iteration: parts.iter().map(|m| m.faults_per_iteration).sum::<f64>() / parts.len() as f64,
            peak_rss_kib: parts.iter().map(|m| m.peak_rss_kib).max().unwrap_or(0),
            threads: parts.iter().map(|m| m.threads).max().unwrap_or(0),
            cpu_per_wall: parts.iter().map(|m| m.cpu_per_wall).fold(f64::NAN, f64::max),
        }
    }

    /// The median seconds per iteration.
    pub fn median(&self) -> f64 {
        median(self.times.clone())
    }

    /// The interquartile range (25th and 75th percentiles, interpolated).
    pub fn quartiles(&self) -> (f64, f64) {
        let mut v = self.times.clone();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let x = q * (v.len() - 1) as f64;
            let (i, f) = (x.floor() as usize, x.fract());
            if i + 1 < v.len() { v[i] + f * (v[i + 1] - v[i]) } else { v[i] }
        };
        (at(0.25), at(0.75))
    }
}

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
    fn measurements_round_trip_through_the_protocol() {
        let m = Measurement {
            times: vec![0.5, 0.25, 1.0, 0.75],
            faults_per_iteration: 0.125,
            peak_rss_kib: 4096,
            threads: 2,
            cpu_per_wall: 1.5,
        };
        assert_eq!(Measurement::parse(&m.to_lines()).unwrap(), m);
        assert_eq!(m.median(), 0.625);
        assert_eq!(m.quartiles(), (0.4375, 0.8125));
        assert!(Measurement::parse("faults_per_iteration 1").unwrap_err().contains("times"));
        let other = Measurement {
            times: vec![2.0],
            faults_per_iteration: 0.375,
            peak_rss_kib: 100,
            threads: 1,
            cpu_per_wall: 1.75,
        };
        let merged = Measurement::merge(&[m.clone(), other]);
        assert_eq!(merged.times, [0.5, 0.25, 1.0, 0.75, 2.0]);
        assert_eq!((merged.faults_per_iteration, merged.peak_rss_kib), (0.25, 4096));
        assert_eq!((merged.threads, merged.cpu_per_wall), (2, 1.75));
        let old = Measurement::parse("times 1\nfaults_per_iteration 0\npeak_rss_kib 1\n").unwrap();
        assert!(old.threads == 0 && old.cpu_per_wall.is_nan(), "threads and CPU time are optional");
        assert!(Measurement::parse("times 1 x").unwrap_err().contains("`x`"));
    }

    #[test]
    fn process_counters_read_from_proc() {
        let before = minor_faults();
        let v = vec![1u8; 1 << 24]; // 16 MiB, touched: thousands of fresh pages
        std::hint::black_box(&v);
        assert!(minor_faults() > before, "fresh pages fault");
        assert!(peak_rss_kib() >= 16 * 1024);
    }

    #[test]
    fn alternating_measurements_time_both_codes_in_turn() {
        let order = std::cell::RefCell::new(Vec::new());
        let (a, b) = Measurement::take_alternating(
            &mut || order.borrow_mut().push('a'),
            Some(&mut || order.borrow_mut().push('b')),
            3,
            1,
        );
        assert_eq!(order.into_inner().iter().collect::<String>(), "abababab");
        assert_eq!((a.times.len(), b.unwrap().times.len()), (3, 3));
    }

    #[test]
    fn every_case_runs_reps_plus_warm_up_times() {
        let (mut a, mut b) = (0, 0);
        let medians = interleaved_medians(5, &mut [&mut || a += 1, &mut || b += 1]);
        assert_eq!((a, b, medians.len()), (6, 6, 2));
    }
}
