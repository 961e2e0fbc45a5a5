//! Fuzz target: resume from a real run's checkpoint whose tensors and
//! counters the input rewrites (any value, any length, through the API, so
//! the checksums stay valid). Resume returns an error or a run, never
//! panics, and a resumed model holds only finite values.
#![no_main]

use gradus::nn::{Checkpoint, Module};
use gradus::tensor::Tensor;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

fn base() -> &'static Checkpoint {
    static BASE: OnceLock<Checkpoint> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("gradus-fuzz-resume-{}.safetensors", std::process::id()));
        gradus_fuzz::seed(&path);
        let ck = Checkpoint::load(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        ck
    })
}

fuzz_target!(|data: &[u8]| {
    let mut ck = base().clone();
    let names: Vec<String> = ck.names().map(str::to_string).collect();
    // Each 7 bytes: which tensor, what to do, a length, a value.
    for op in data.chunks_exact(7) {
        let name = &names[op[0] as usize % names.len()];
        let len = op[2] as usize % 40;
        let bits = u32::from_le_bytes([op[3], op[4], op[5], op[6]]);
        match op[1] % 3 {
            0 => ck.insert_u64(name, &vec![bits as u64 | ((bits as u64) << 32); len]),
            1 => ck.insert(name, &Tensor::<f32>::from_vec(vec![f32::from_bits(bits); len], &[len]).unwrap()),
            _ => {
                if let Ok(t) = ck.get::<f32>(name) {
                    let mut v = t.to_vec();
                    if !v.is_empty() {
                        let i = len % v.len();
                        v[i] = f32::from_bits(bits);
                    }
                    ck.insert(name, &Tensor::from_vec(v, t.shape()).unwrap());
                }
            }
        }
    }
    let (model, mut trainer) = gradus_fuzz::run();
    if trainer.resume_from(&model, &ck, Path::new("fuzz.safetensors")).is_ok() {
        for (_, p) in model.named_parameters() {
            assert!(p.value().isfinite().all());
        }
    }
});
