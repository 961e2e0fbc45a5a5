//! Checkpoints: bit-exact round trips, every kind of mismatch listed, corrupt
//! and truncated files as errors, and a failed load that changes nothing.

use gradus_nn::{BatchNorm1d, Checkpoint, Linear, Mlp, Module, NnError, Sequential, load, save};
use gradus_tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-nn-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn model(seed: u64) -> Sequential<f32> {
    Mlp::new(&[4, 8, 3]).batch_norm(true).build(&mut StdRng::seed_from_u64(seed))
}

fn snapshot<T: gradus_tensor::Float>(m: &dyn Module<T>) -> Vec<(String, Vec<T>)> {
    let mut out: Vec<(String, Vec<T>)> =
        m.named_parameters().into_iter().map(|(n, p)| (n, p.value().to_vec())).collect();
    out.extend(m.named_buffers().into_iter().map(|(n, b)| (n, b.value().to_vec())));
    out
}

#[test]
fn round_trip_is_bit_exact_in_f32_and_f64() {
    let a = model(1);
    // Make the buffers non-trivial.
    let _ = a.forward(
        &gradus_autodiff::Tape::new(),
        &gradus_autodiff::Var::constant(Tensor::uniform(&[5, 4], -1.0, 1.0, &mut StdRng::seed_from_u64(2))),
    );
    let path = temp("f32.safetensors");
    save(&a, &path).unwrap();
    let b = model(99);
    assert_ne!(snapshot(&a), snapshot(&b));
    load(&b, &path).unwrap();
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    for ((na, va), (nb, vb)) in sa.iter().zip(&sb) {
        assert_eq!(na, nb);
        assert!(va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()), "{na}");
    }

    let c: Sequential<f64> = Mlp::new(&[3, 5, 2]).build(&mut StdRng::seed_from_u64(4));
    let d: Sequential<f64> = Mlp::new(&[3, 5, 2]).build(&mut StdRng::seed_from_u64(5));
    let path = temp("f64.safetensors");
    save(&c, &path).unwrap();
    load(&d, &path).unwrap();
    assert!(
        snapshot(&c)
            .iter()
            .zip(snapshot(&d))
            .all(|((_, x), (_, y))| x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()))
    );
}

#[test]
fn every_mismatch_is_listed_and_nothing_changes() {
    let path = temp("mismatch.safetensors");
    // The file: a 4→8→3 MLP with batch norm, but with `3.bias` dropped,
    // `0.weight` reshaped, `1.weight` in f64 and an extra `9.weight`.
    let source = model(1);
    let mut ck = Checkpoint::new();
    gradus_nn::checkpoint::store(&source, &mut ck, "");
    let mut edited = Checkpoint::new();
    for name in ck.names() {
        match name {
            "3.bias" => {}
            "0.weight" => edited.insert(name, &Tensor::<f32>::zeros(&[4, 8])),
            "1.weight" => edited.insert(name, &Tensor::<f64>::ones(&[8])),
            _ => edited.insert(name, &ck.get::<f32>(name).unwrap()),
        }
    }
    edited.insert("9.weight", &Tensor::<f32>::zeros(&[1]));
    edited.save(&path).unwrap();

    let target = model(7);
    let before = snapshot(&target);
    let err = load(&target, &path).unwrap_err();
    let NnError::Mismatch { mismatches } = &err else { panic!("expected a mismatch, got {err}") };
    let text = err.to_string();
    assert!(text.contains("`0.weight`: shape [4, 8] in the file, [8, 4] in the model"), "{text}");
    assert!(text.contains("`1.weight`: dtype F64 in the file, F32 expected"), "{text}");
    assert!(text.contains("missing `3.bias`"), "{text}");
    assert!(text.contains("unexpected `9.weight`"), "{text}");
    assert_eq!(mismatches.len(), 4, "{text}");
    assert_eq!(snapshot(&target), before, "a failed load must leave the model unchanged");
}

#[test]
fn truncated_corrupt_and_missing_files_are_errors() {
    let m = model(1);
    let path = temp("whole.safetensors");
    save(&m, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cases: [(&str, Vec<u8>); 4] = [
        ("truncated", bytes[..bytes.len() - 7].to_vec()),
        ("header only", bytes[..12].to_vec()),
        ("empty", Vec::new()),
        ("garbage header", {
            let mut b = bytes.clone();
            b[8..20].copy_from_slice(b"not json!!!!");
            b
        }),
    ];
    for (what, data) in cases {
        let p = temp(&format!("{}.safetensors", what.replace(' ', "_")));
        std::fs::write(&p, data).unwrap();
        let before = snapshot(&m);
        match load(&m, &p) {
            Err(NnError::Corrupt { path, .. }) => assert_eq!(path, p, "{what}"),
            other => panic!("{what}: expected a corrupt-file error, got {other:?}"),
        }
        assert_eq!(snapshot(&m), before);
    }
    match load(&m, temp("does-not-exist.safetensors")) {
        Err(NnError::Io { .. }) => {}
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_model_without_batch_norm_does_not_load_one_with_it() {
    let with_bn = model(1);
    let path = temp("bn.safetensors");
    save(&with_bn, &path).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    let plain = Sequential::<f32>::new().append(Linear::new(4, 8, &mut rng)).append(BatchNorm1d::with_options(
        8,
        1e-5,
        Some(0.1),
        true,
        false,
    ));
    let err = load(&plain, &path).unwrap_err().to_string();
    assert!(err.contains("unexpected `1.running_mean`"), "{err}");
}

#[test]
fn many_metadata_keys_give_the_same_bytes_every_time() {
    use gradus_nn::Checkpoint;
    // safetensors writes its metadata map in hash order; gradus sorts the header.
    let dir = std::env::temp_dir().join(format!("gradus-ck-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |i: usize| {
        let mut ck = Checkpoint::new();
        for k in 0..20 {
            ck.set_metadata(&format!("key{k}"), &format!("value {k}"));
        }
        ck.insert("w", &gradus_tensor::Tensor::<f32>::ones(&[3]));
        let path = dir.join(format!("{i}.safetensors"));
        ck.save(&path).unwrap();
        let back = Checkpoint::load(&path).unwrap();
        assert_eq!(back.metadata("key7"), Some("value 7"));
        std::fs::read(&path).unwrap()
    };
    let first = write(0);
    assert!((1..6).all(|i| write(i) == first));
}
