//! Fuzz target: checkpoint bytes (safetensors header, tensors, the run's
//! metadata and counters). Reading and resuming return an error or a run,
//! never panic; a resumed run's model holds only finite values.
#![no_main]

use gradus::nn::{Checkpoint, Module};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(ck) = Checkpoint::from_bytes(data, Path::new("fuzz.safetensors")) else { return };
    let (model, mut trainer) = gradus_fuzz::run();
    if trainer.resume_from(&model, &ck, Path::new("fuzz.safetensors")).is_ok() {
        for (_, p) in model.named_parameters() {
            assert!(p.value().isfinite().all());
        }
    }
});
