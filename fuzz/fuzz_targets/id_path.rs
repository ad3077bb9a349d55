#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| rmos::invariants::ids_stay_inside(text));
