//! Fuzz target: spec strings (optimisers, schedules, models). Parsing
//! returns an error or a value, never panics; a parsed spec prints back to
//! itself; a model that parses, and is small, builds and checks against
//! 28 × 28 images without panicking.
#![no_main]

use gradus::models::ModelSpec;
use gradus::spec::Spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = text.parse::<Spec>() {
        let again: Spec = spec.to_string().parse().expect("a printed spec parses");
        assert_eq!(again, spec);
    }
    let _ = gradus::optim::parse_method::<f64>(text);
    let _ = gradus::sched::parse(text);
    if let Ok(model) = ModelSpec::parse(text) {
        if model.stored_values() < 2e3 {
            let _ = model.check(&model.build::<f32>(0), &[28, 28], 10);
        }
    }
});
