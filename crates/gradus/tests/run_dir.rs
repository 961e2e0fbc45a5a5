//! The run directory's rules, once: lock, claim, resume with its history,
//! files that are not the run's, and outputs beside inputs.

use gradus::GradusError;
use gradus::prelude::*;
use gradus::run::{Clash, RunDir, output_clash};
use std::path::{Path, PathBuf};

mod common;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-rundir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn model() -> Sequential<f32> {
    gradus::models::ModelSpec::parse("mlp(2, 4)").unwrap().build::<f32>(0)
}

fn trainer(seed: &str) -> Trainer<f32> {
    Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)").unwrap())).record("seed", seed)
}

/// A run of `epochs` epochs of one step each, saved in `dir`, and its
/// epochs as the CSV keeps them.
fn saved_run(dir: &Path, epochs: usize) -> (RunDir, Vec<EpochMetrics>) {
    let (m, mut t) = (model(), trainer("0"));
    let data = common::blobs(40, 0);
    let loader = DataLoader::new(data, 40);
    let loaders = Loaders { train: &loader, monitor: &loader, test: &loader };
    let mut run = RunDir::new(dir, "sgd");
    run.lock().unwrap();
    run.claim(false).unwrap();
    let mut kept = Vec::new();
    for _ in 0..epochs {
        let e = t.epoch(&m, &CrossEntropy::default(), &loaders).unwrap();
        kept.push(EpochMetrics { step_losses: vec![], ..e.clone() });
        run.push(e);
        run.save(&t, &m).unwrap();
    }
    run.plot().unwrap();
    (run, kept)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn one_process_at_a_time_and_a_fresh_run_never_replaces_another_silently() {
    let dir = scratch("claim");
    let (held, _) = saved_run(&dir, 2);
    let mut second = RunDir::new(&dir, "sgd");
    let e = second.lock().unwrap_err();
    assert!(e.to_string().contains("another gradus process is writing this run") && e.exit_code() == 2, "{e}");
    drop(held);
    second.lock().unwrap();
    let before = files(&dir);
    match second.claim(false) {
        Err(GradusError::Occupied { files, .. }) => {
            assert_eq!(files, ["metrics.csv", "checkpoint.safetensors", "learning_curve.svg"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(files(&dir), before, "a refusal changes nothing");
    assert_eq!(second.check_free(true).unwrap().len(), 3);
    second.claim(true).unwrap();
    assert_eq!(files(&dir).iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), [".gradus.lock"]);
}

#[test]
fn a_resume_reads_the_history_up_to_the_checkpoint_and_rewrites_it_byte_for_byte() {
    let dir = scratch("resume");
    let (_, epochs) = saved_run(&dir, 2);
    let before = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    // An epoch written after the checkpoint (a crash between the two) is dropped.
    let third = EpochMetrics { epoch: 3, ..epochs[1].clone() };
    std::fs::write(dir.join("metrics.csv"), before.clone() + &third.csv_row() + "\n").unwrap();
    let (m, mut t) = (model(), trainer("0"));
    let mut run = RunDir::new(&dir, "sgd");
    run.lock().unwrap();
    run.resume(&mut t, &m).unwrap();
    assert_eq!(run.metrics(), &epochs[..]);
    assert_eq!(t.counters(), (2, 2));
    run.save(&t, &m).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("metrics.csv")).unwrap(), before);
}

#[test]
fn files_that_are_not_the_runs_are_refused_and_left_as_they_are() {
    let dir = scratch("foreign");
    drop(saved_run(&dir, 2));
    let resume = |seed: &str| {
        let (m, mut t) = (model(), trainer(seed));
        let mut run = RunDir::new(&dir, "sgd");
        run.resume(&mut t, &m).map(|_| ())
    };
    match resume("1") {
        Err(GradusError::OtherRun { differences, .. }) => {
            assert_eq!(differences[0].to_string(), "seed: the checkpoint's run used `0`, this one `1`")
        }
        other => panic!("{other:?}"),
    }
    let csv = dir.join("metrics.csv");
    let good = std::fs::read_to_string(&csv).unwrap();
    for (bad, says) in [
        (good.lines().take(2).collect::<Vec<_>>().join("\n"), "holds 1 epochs, the checkpoint 2"),
        (good.replacen("\n2,", "\ntwo,", 1), "is not a number"),
    ] {
        std::fs::write(&csv, &bad).unwrap();
        let e = resume("0").unwrap_err();
        assert!(e.to_string().contains(says) && e.exit_code() == 2, "{e}");
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), bad);
    }
    std::fs::write(&csv, &good).unwrap();
    std::fs::remove_file(dir.join("checkpoint.safetensors")).unwrap();
    let e = resume("0").unwrap_err();
    assert!(e.to_string().contains("holds no checkpoint.safetensors"), "{e}");
}

#[test]
fn an_output_is_never_an_input_a_directory_or_an_existing_file_unasked() {
    let dir = scratch("outputs");
    drop(saved_run(&dir, 1));
    let ck = dir.join("checkpoint.safetensors");
    let other_name = dir.join(".").join("checkpoint.safetensors");
    assert_eq!(output_clash(&other_name, &[&ck], true), Some(Clash::Input(ck.clone())));
    assert_eq!(output_clash(&dir, &[], true), Some(Clash::Directory));
    assert_eq!(output_clash(&dir.join("metrics.csv"), &[&ck], false), Some(Clash::Exists));
    assert_eq!(output_clash(&dir.join("metrics.csv"), &[&ck], true), None);
    assert_eq!(output_clash(&dir.join("new.svg"), &[&ck], false), None);
}

#[test]
fn directories_a_refused_run_made_are_removed_and_others_kept() {
    let base = scratch("made");
    let dir = base.join("x").join("y");
    let mut run = RunDir::new(&dir, "sgd");
    run.lock().unwrap();
    assert!(dir.is_dir());
    drop(run);
    assert!(!base.join("x").exists(), "nothing saved: the directories it made go");
    let (run, _) = saved_run(&dir, 1);
    drop(run);
    assert!(dir.join("checkpoint.safetensors").exists(), "a saved run stays");
    let mut again = RunDir::new(&dir, "sgd");
    again.lock().unwrap();
    drop(again);
    assert!(dir.join("checkpoint.safetensors").exists(), "a directory that existed stays");
}
