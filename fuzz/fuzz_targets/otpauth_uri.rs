//! `OtpAuthUri::parse` on arbitrary text: it must never panic; whatever it accepts must write
//! back (`to_uri`) to a URI that parses to the same fields and secret, writes back identically,
//! and whose `Debug` shows neither the account nor the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rukasec_core::otp::{OtpAuthUri, OtpKind};

fuzz_target!(|data: &[u8]| {
    // The parser takes text; other bytes cannot reach it.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = OtpAuthUri::parse(text) else {
        return;
    };
    let written = uri.to_uri();
    let again = OtpAuthUri::parse(written.expose_secret()).expect("to_uri output parses");
    assert_eq!(again.kind(), uri.kind());
    assert_eq!(again.algorithm(), uri.algorithm());
    assert_eq!(again.digits(), uri.digits());
    assert_eq!(again.account(), uri.account());
    assert_eq!(again.issuer(), uri.issuer());
    assert!(again.to_uri() == written, "to_uri is not stable");
    let debug = format!("{uri:?}");
    assert!(!debug.contains(uri.account()), "Debug shows the account");
    // The same codes from both (the secret survived the round trip).
    match (uri.kind(), uri.into_hotp(), again.into_hotp()) {
        (OtpKind::Hotp { counter }, Ok(a), Ok(b)) => {
            assert!(a.code(counter).expect("crypto") == b.code(counter).expect("crypto"));
        }
        (OtpKind::Totp { .. }, Err(_), Err(_)) => {}
        _ => panic!("into_hotp disagrees with kind"),
    }
});
