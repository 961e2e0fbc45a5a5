//! What the command-line tests share: running the binary (with a deadline,
//! so a hang fails instead of stalling the suite) and a small IDX data set.

#![allow(dead_code)]

pub mod cases;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one invocation may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `gradus args…` in `dir` (or here): (exit code, stdout, stderr). A
/// run past [`DEADLINE`] is killed and fails the test as a hang; a signal
/// (abort, segfault) fails it too.
pub fn gradus_in(dir: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gradus"));
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    run(cmd, &format!("gradus {args:?}"))
}

/// Runs `cmd` to its end within [`DEADLINE`]: (exit code, stdout, stderr);
/// `what` names it in a failure.
pub fn run(mut cmd: Command, what: &str) -> (i32, String, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        out.read_to_end(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        err.read_to_end(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            panic!("hang: {what} ran past {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (out, err) = (reader.join().unwrap(), err_reader.join().unwrap());
    let (out, err) = (String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned());
    let code = status.code().unwrap_or_else(|| panic!("{what} was killed by a signal: {status}\n{err}"));
    (code, out, err)
}

/// [`gradus_in`] in the current directory.
pub fn gradus(args: &[&str]) -> (i32, String, String) {
    gradus_in(None, args)
}

/// A small IDX data set (200 training and 50 test images of 28 × 28, ten
/// classes), written once per test process: the tests run on several
/// threads, and a second writer truncating a file while another test read
/// it made that test fail.
pub fn fake_mnist() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("mnist");
        let images = |n: usize| {
            gradus::data::write_idx_u8(
                &[n, 28, 28],
                &(0..n * 784).map(|i| ((i * 7919) % 251) as u8).collect::<Vec<_>>(),
            )
        };
        let labels = |n: usize| gradus::data::write_idx_u8(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>());
        for (name, bytes) in [
            ("train-images-idx3-ubyte", images(200)),
            ("train-labels-idx1-ubyte", labels(200)),
            ("t10k-images-idx3-ubyte", images(50)),
            ("t10k-labels-idx1-ubyte", labels(50)),
        ] {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    })
    .clone()
}

/// A fresh, empty directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Python that imports `modules` (e.g. "torch, scipy"):
/// `$GRADUS_TORCH_PYTHON`, `/opt/torchenv/bin/python` or `python3`; `None`
/// (the caller skips, saying so) when none does.
pub fn python_with(modules: &str) -> Option<String> {
    let candidates =
        [std::env::var("GRADUS_TORCH_PYTHON").ok(), Some("/opt/torchenv/bin/python".into()), Some("python3".into())];
    let import = format!("import {modules}");
    candidates
        .into_iter()
        .flatten()
        .find(|p| Command::new(p).args(["-c", &import]).output().is_ok_and(|o| o.status.success()))
}
