#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = rmos::invariants::filter_round_trip(text);
});
