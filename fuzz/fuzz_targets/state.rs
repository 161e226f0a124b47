#![no_main]
//! See `infoplane_fuzz::state` (fuzz/src/lib.rs) for what this target does with its input.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| infoplane_fuzz::state(data));
