//! Fuzz target: the CSV parser must return an error with a line number or a
//! consistent dataset, never panic.
#![no_main]

use gradus_data::{CsvTarget, Dataset, parse_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [CsvTarget::Class, CsvTarget::Value] {
        if let Ok(ds) = parse_csv(text, "y", kind) {
            for i in 0..ds.len() {
                assert!(ds.get(i).is_ok());
            }
        }
    }
});
