//! The `gradus` binary: formats, worked numbers, and exit code 2 with a
//! message for bad input.

use std::process::Command;

fn gradus(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gradus")).args(args).output().expect("the binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn trace_prints_the_worked_gradient_descent_numbers() {
    // ALGORITHMS.md §1: x² from 10, η = 0.2, 10 steps → 0.060466.
    let (code, out, _) =
        gradus(&["trace", "--function", "square", "--start=10", "--optimizer", "sgd(lr=0.2)", "--steps", "10"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "step,x0,loss");
    assert_eq!(lines[1], "0,10,100");
    assert_eq!(lines.len(), 12);
    let x: f64 = lines[11].split(',').nth(1).unwrap().parse().unwrap();
    assert_eq!((x * 1e6).round() / 1e6, 0.060466);
}

#[test]
fn hessian_classifies_points_and_speaks_json() {
    let (code, out, _) = gradus(&["hessian", "--function", "saddle", "--at=0,0", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        r#"{"point": [0, 0], "value": 0, "gradient": [0, 0], "hessian": [[2, 0], [0, -2]], "eigenvalues": [-2, 2], "kind": "saddle", "condition_number": 1, "max_stable_lr": 1}"#
    );
    let (_, out, _) = gradus(&["hessian", "--function", "himmelblau", "--at=3,2"]);
    assert!(out.contains("kind              minimum"), "{out}");
    let (_, out, _) = gradus(&["hessian", "--function", "rosenbrock", "--at=0,0"]);
    assert!(out.contains("kind              not critical"), "{out}");
}

#[test]
fn schedule_rows_are_the_rates_in_force_for_each_step() {
    let (code, out, _) =
        gradus(&["schedule", "step(step_size=2, gamma=0.5)", "--lr", "0.1", "--steps", "5", "--momentum", "0.9"]);
    assert_eq!(code, 0);
    assert_eq!(out, "step,lr,momentum\n0,0.1,0.9\n1,0.1,0.9\n2,0.05,0.9\n3,0.05,0.9\n4,0.025,0.9\n");
    let metrics = std::env::temp_dir().join(format!("gradus-cli-metrics-{}", std::process::id()));
    std::fs::write(&metrics, "1\n1\n1\n1\n").unwrap();
    let m = metrics.to_str().unwrap();
    let (code, out, _) = gradus(&[
        "schedule",
        "plateau(patience=1, factor=0.5)",
        "--lr",
        "1",
        "--steps",
        "4",
        "--metrics",
        m,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains(r#"{"step": 3, "lr": 0.5, "momentum": null}"#), "{out}");
}

#[test]
fn bad_input_exits_2_and_says_what_is_accepted() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["trace", "--function", "rosen", "--start=1,2", "--optimizer", "adam"],
            "accepted: square, rosenbrock, himmelblau, ravine, saddle",
        ),
        (
            &["trace", "--function", "rosenbrock", "--start=1", "--optimizer", "adam"],
            "has 1 coordinates, the function takes 2",
        ),
        (
            &["trace", "--function", "ravine", "--start=1,2", "--optimizer", "adam(lrr=1)"],
            "unknown key `lrr`; accepted: lr,",
        ),
        (&["schedule", "cosine(t_max=0)", "--lr", "1", "--steps", "3"], "cosine: `t_max` must be positive, got 0"),
        (&["hessian", "--function", "saddle"], "--at"),
    ];
    for (args, message) in cases {
        let (code, _, err) = gradus(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
