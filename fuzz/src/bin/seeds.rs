//! Writes the checkpoint target's seed (`fuzz/corpus/checkpoint/`): a real
//! run saved after two steps, so the fuzzer starts from a file that resumes.

fn main() {
    let dir = std::path::Path::new("fuzz/corpus/checkpoint");
    std::fs::create_dir_all(dir).unwrap();
    gradus_fuzz::seed(&dir.join("seed.safetensors"));
}
