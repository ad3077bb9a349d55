#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmos::invariants::artifact_round_trip(data));
