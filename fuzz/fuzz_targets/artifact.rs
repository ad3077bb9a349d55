#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rmos::invariants::artifact_round_trip(data);
});
