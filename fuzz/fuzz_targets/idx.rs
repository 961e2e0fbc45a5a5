//! Fuzz target: the IDX parser must return an error, never panic, and never
//! accept data whose length does not match its dimensions.
#![no_main]

use gradus_data::parse_idx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(idx) = parse_idx(data) {
        assert_eq!(idx.shape.iter().product::<usize>(), idx.data.len());
    }
});
