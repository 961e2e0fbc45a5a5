//! `cargo xtask tidy`: checks on the source tree that the compiler does not
//! make, run as a `#[test]` too (as rust-analyzer's `xtask/src/tidy.rs`):
//! file sizes, module docs, stubs, and the crate dependency graph.

use std::fs;
use std::path::{Path, PathBuf};

/// No source file may be longer than this (aim for 300).
const MAX_LINES: usize = 800;
/// Folders whose `.rs` files are checked.
const SOURCE_DIRS: [&str; 3] = ["crates", "xtask", "benches"];

/// Who may depend on whom (docs/architecture.md), by directory under `crates/`
/// (or `xtask`). A crate missing here is a tidy error: add it with its rule.
const ALLOWED_DEPS: &[(&str, &[&str])] = &[
    ("tensor", &[]),
    ("spec", &[]),
    ("sched", &["spec"]),
    ("autodiff", &["tensor"]),
    ("optim", &["tensor", "spec"]),
    ("data", &["tensor"]),
    ("loss", &["autodiff", "tensor"]),
    ("nn", &["autodiff", "tensor"]),
    ("dist", &["autodiff"]),
    ("gradus", &["tensor", "autodiff", "nn", "loss", "optim", "sched", "data", "spec", "dist"]),
    ("cli", &["gradus"]),
    ("xtask", &[]),
];

/// Runs every check; returns the problems found.
pub fn run(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for dir in SOURCE_DIRS {
        for file in rust_files(&root.join(dir)) {
            check_file(root, &file, &mut problems);
        }
    }
    check_dependencies(root, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "proptest-regressions" {
                out.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn check_file(root: &Path, file: &Path, problems: &mut Vec<String>) {
    let shown = file.strip_prefix(root).unwrap_or(file).display();
    let Ok(text) = fs::read_to_string(file) else {
        problems.push(format!("{shown}: cannot be read as UTF-8"));
        return;
    };
    let lines = text.lines().count();
    if lines > MAX_LINES {
        problems.push(format!("{shown}: {lines} lines, over the cap of {MAX_LINES}: split it by concept"));
    }
    if !text.trim_start().starts_with("//!") {
        problems.push(format!("{shown}: must start with a `//!` comment saying what the module holds"));
    }
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        // Spelled in pieces so this file does not match itself.
        for stub in [concat!("todo", "!("), concat!("unimplemented", "!(")] {
            if code.contains(stub) {
                problems.push(format!("{shown}:{}: stub `{stub}` left in the code", n + 1));
            }
        }
    }
}

/// The `gradus-*` packages a manifest lists under `[dependencies]` and
/// `[build-dependencies]`, as directory names.
fn gradus_deps(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_string();
            continue;
        }
        let normal = section == "dependencies" || section == "build-dependencies";
        let key = line.split(['=', '.', ' ']).next().unwrap_or("");
        if normal && let Some(name) = key.strip_prefix("gradus-") {
            deps.push(name.to_string());
        } else if normal && key == "gradus" {
            deps.push("gradus".to_string());
        }
    }
    deps
}

fn check_dependencies(root: &Path, problems: &mut Vec<String>) {
    let mut crates: Vec<(String, PathBuf)> = vec![("xtask".into(), root.join("xtask/Cargo.toml"))];
    if let Ok(entries) = fs::read_dir(root.join("crates")) {
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            if manifest.exists() {
                crates.push((entry.file_name().to_string_lossy().into_owned(), manifest));
            }
        }
    }
    for (name, manifest) in crates {
        let Ok(text) = fs::read_to_string(&manifest) else {
            problems.push(format!("{}: cannot be read", manifest.display()));
            continue;
        };
        let expected_package =
            if name == "xtask" || name == "gradus" { name.clone() } else { format!("gradus-{name}") };
        let expected_package = if name == "cli" { "gradus-cli".to_string() } else { expected_package };
        if !text.contains(&format!("name = \"{expected_package}\"")) {
            problems.push(format!("crates/{name}: the package must be named `{expected_package}` after its directory"));
        }
        let Some((_, allowed)) = ALLOWED_DEPS.iter().find(|(n, _)| *n == name) else {
            problems.push(format!("crates/{name}: not in docs/architecture.md's dependency table (xtask/src/tidy.rs)"));
            continue;
        };
        for dep in gradus_deps(&text) {
            if !allowed.contains(&dep.as_str()) {
                problems.push(format!(
                    "crates/{name} depends on gradus-{dep}, which docs/architecture.md does not allow (allowed: {allowed:?})"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_tidy() {
        if let Err(problems) = run(&crate::workspace_root()) {
            panic!("cargo xtask tidy found problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn dependency_parsing_finds_gradus_crates_only_in_normal_sections() {
        let manifest = "[package]\nname = \"gradus-optim\"\n[dependencies]\ngradus-tensor.workspace = true\nfaer = \"1\"\n\
                        gradus-autodiff = { path = \"../autodiff\" }\n[dev-dependencies]\ngradus-nn.workspace = true\n";
        assert_eq!(gradus_deps(manifest), vec!["tensor", "autodiff"]);
    }

    #[test]
    fn a_forbidden_edge_is_reported() {
        let dir = std::env::temp_dir().join(format!("gradus-tidy-{}", std::process::id()));
        let optim = dir.join("crates/optim");
        fs::create_dir_all(&optim).unwrap();
        fs::create_dir_all(dir.join("xtask")).unwrap();
        fs::write(dir.join("xtask/Cargo.toml"), "[package]\nname = \"xtask\"\n").unwrap();
        fs::write(
            optim.join("Cargo.toml"),
            "[package]\nname = \"gradus-optim\"\n[dependencies]\ngradus-autodiff = \"0.1\"\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        check_dependencies(&dir, &mut problems);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("crates/optim depends on gradus-autodiff"), "{}", problems[0]);
    }
}
