//! The scoreboard end to end without a peer: one workload, gradus alone,
//! the report files and their formats.

use std::process::Command;

#[test]
fn without_torch_the_scoreboard_reports_gradus_alone() {
    let out = std::env::temp_dir().join(format!("gradus-scoreboard-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_scoreboard"))
        .args(["--quick", "--filter", "himmelblau"])
        .arg("--out")
        .arg(&out)
        .env("GRADUS_TORCH_PYTHON", "/nonexistent/python")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(json.starts_with("[\n  {\"workload\": \"himmelblau_step\", \"threads\": "), "{json}");
    assert!(json.contains("\"peer\": null, \"peer_median_s\": null, \"ratio\": null"), "{json}");
    assert!(!json.contains("mlp_step"), "the filter keeps one workload: {json}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("No Python with torch found"), "{md}");
    assert!(md.contains("| himmelblau_step |"), "{md}");
    let bad = Command::new(env!("CARGO_BIN_EXE_scoreboard")).arg("--fast").output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown argument `--fast`"));
}
