//! docs/ERRORS.md lists every variant of every exported error enum: the table app developers
//! switch on must not fall behind the code. Read from the sources themselves, so a new variant
//! without a row fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

const ERRORS_MD: &str = include_str!("../../docs/ERRORS.md");

const SOURCES: [(&str, &str); 6] = [
    ("credentials.rs", include_str!("credentials.rs")),
    ("error.rs", include_str!("error.rs")),
    ("otp.rs", include_str!("otp.rs")),
    ("signing.rs", include_str!("signing.rs")),
    ("tls.rs", include_str!("tls.rs")),
    ("vault.rs", include_str!("vault.rs")),
];

/// `(enum, variant)` for every `uniffi::Error` enum in `source`.
fn exported_variants(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = source.lines().peekable();
    let mut derive_is_error = false;
    while let Some(line) = lines.next() {
        if line.starts_with("#[derive(") {
            derive_is_error = line.contains("uniffi::Error");
            continue;
        }
        let Some(name) = line
            .strip_prefix("pub enum ")
            .and_then(|rest| rest.strip_suffix(" {"))
        else {
            continue;
        };
        if !derive_is_error {
            continue;
        }
        for body in lines.by_ref() {
            if body == "}" {
                break;
            }
            let Some(member) = body.strip_prefix("    ") else {
                continue;
            };
            let ident: String = member
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let rest = &member[ident.len()..];
            if ident.starts_with(|c: char| c.is_ascii_uppercase()) && (rest == " {" || rest == ",")
            {
                found.push((name.to_owned(), ident));
            }
        }
    }
    found
}

#[test]
fn every_exported_error_variant_has_a_row_in_errors_md() {
    let variants: Vec<_> = SOURCES
        .iter()
        .flat_map(|(_, source)| exported_variants(source))
        .collect();
    // The enums this test must see (a parser that found nothing would pass vacuously).
    for area in [
        "RukaSecError",
        "VaultError",
        "KeyWrapperError",
        "TlsError",
        "SignatureError",
        "CredentialError",
    ] {
        assert!(
            variants.iter().filter(|(e, _)| e == area).count() >= 4,
            "{area}: too few variants parsed: {variants:?}"
        );
    }
    assert_eq!(
        variants.iter().filter(|(e, _)| e == "OtpError").count(),
        3,
        "OtpError: {variants:?}"
    );
    let missing: Vec<String> = variants
        .iter()
        .map(|(e, v)| format!("`{e}.{v}`"))
        .filter(|cell| !ERRORS_MD.contains(&format!("| {cell} |")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ERRORS.md lacks rows for {missing:?}"
    );
    // And no row names a variant that no longer exists.
    let rows = ERRORS_MD
        .lines()
        .filter(|line| line.starts_with("| `") && line.contains("Error."))
        .count();
    assert_eq!(rows, variants.len(), "stale rows in docs/ERRORS.md");
}
