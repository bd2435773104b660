//! The workspace's own `uniffi-bindgen`, built from the same uniffi as the library, so generated
//! bindings always match it. Run through `scripts/bindgen.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
