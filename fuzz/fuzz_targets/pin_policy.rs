//! `PinPolicy::from_json` on arbitrary text: it must never panic, and whatever it accepts must
//! survive `to_json` and read back as the same policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rukasec_core::tls::PinPolicy;

fuzz_target!(|data: &[u8]| {
    // The parser takes text; other bytes cannot reach it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = PinPolicy::from_json(text) else {
        return;
    };
    let json = policy.to_json();
    let again = PinPolicy::from_json(&json).expect("to_json output is a valid policy");
    assert_eq!(again, policy, "to_json round trip changed the policy");
    // Every pattern's own host (and one label below it) finds a domain, without panicking.
    for domain in policy.domains() {
        let text = domain.pattern().to_string();
        let parent = text.trim_start_matches("**.").trim_start_matches("*.");
        let below = format!("fuzz.{parent}");
        assert!(policy.find(&below).is_some() || policy.find(parent).is_some());
    }
});
