//! Cases of hostile input: an invocation, the exit code it must end with
//! and words its message must hold, checked in a batch.

use super::{fake_mnist, gradus, scratch};

/// One invocation: the class of problem it tries, its arguments, the exit
/// code it must end with and words its message must hold.
pub struct Case {
    pub class: &'static str,
    pub args: Vec<String>,
    pub code: i32,
    pub says: &'static str,
}

pub fn case(class: &'static str, args: &[&str], code: i32, says: &'static str) -> Case {
    Case { class, args: args.iter().map(|s| s.to_string()).collect(), code, says }
}

/// `train` on the small data set into a fresh directory, with `extra`.
pub fn train(class: &'static str, name: &str, extra: &[&str], code: i32, says: &'static str) -> Case {
    let out = scratch(&format!("hostile-{name}"));
    let data = fake_mnist();
    let defaults =
        [("--data", "mnist"), ("--data-dir", data.to_str().unwrap()), ("--epochs", "1"), ("--batch-size", "50")];
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    for (key, value) in defaults.into_iter().filter(|(k, _)| !extra.contains(k)) {
        args.extend([key, value]);
    }
    args.extend(extra);
    case(class, &args, code, says)
}

pub fn check(cases: Vec<Case>) {
    let mut counts = std::collections::BTreeMap::new();
    for c in &cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let (code, _, err) = gradus(&args);
        assert_eq!(code, c.code, "[{}] gradus {:?}\n{err}", c.class, c.args);
        assert!(
            err.contains(c.says),
            "[{}] gradus {:?}: the message does not say `{}`:\n{err}",
            c.class,
            c.args,
            c.says
        );
        assert!(!err.contains("panicked"), "[{}] gradus {:?} panicked:\n{err}", c.class, c.args);
        *counts.entry(c.class).or_insert(0) += 1;
    }
    eprintln!("cases per class: {counts:?}");
}
