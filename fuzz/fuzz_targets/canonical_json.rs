#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rmos::invariants::canonical_idempotent(data));
