//! `rukasec keygen`: new keys on disk, for the vault (`keygen FILE`) or for request signing
//! (`keygen --out KEY.pem`), and reading signing keys back for `sign`, `verify` and `dpop`.
//!
//! Why a signing key in a file at all, when on a phone it lives in the platform keystore or the
//! vault: servers, test rigs and operators need to make and check signed requests exactly as
//! the app does, with the very same code, and a PKCS#8 PEM file is what their other tools
//! (openssl, JOSE libraries) read too. The private key is written once, with mode 0600, and a
//! key file is never overwritten (a key lost by accident cannot be re-enrolled by accident).
//! The public half is printed in the forms a server enrols: the JWK, its RFC 7638 thumbprint
//! (a natural `keyid`) and the SubjectPublicKeyInfo PEM that `verify --public-key` reads,
//! which `--public-out` also writes to a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};
use rukasec_core::secret::SecretString;
use rukasec_core::signing::{PublicKeyInfo, SoftwareKey};

use crate::failure::{Failure, INVALID_INPUT};

/// `rukasec keygen FILE` (vault key file) or `rukasec keygen --out KEY.pem` (signing key).
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["file", "out"])))]
pub struct KeygenArgs {
    /// Write a new random 32-byte key file for `vault --kek-file` here (must not exist).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Instead, write a new P-256 request-signing key here as PKCS#8 PEM (mode 0600; must not
    /// exist), for `sign --key` and `dpop --key`; its public key is printed.
    #[arg(long, value_name = "KEY.pem")]
    out: Option<PathBuf>,
    /// With --out: also write the public key here (SubjectPublicKeyInfo PEM, must not exist),
    /// for `verify --public-key`.
    #[arg(long, value_name = "PUB.pem", requires = "out")]
    public_out: Option<PathBuf>,
}

/// Runs `rukasec keygen`.
pub fn run(args: KeygenArgs, out: &mut impl Write) -> Result<(), Failure> {
    match (args.file, args.out) {
        (_, Some(key_file)) => signing_keygen(&key_file, args.public_out.as_deref(), out),
        (Some(file), None) => crate::vault::keygen(&file, out),
        // clap's group requires one of them.
        (None, None) => Err(Failure::new(
            crate::failure::USAGE,
            "give FILE (a vault key file) or --out KEY.pem (a signing key)",
        )),
    }
}

/// `keygen --out KEY.pem [--public-out PUB.pem]`: a new signing key, and its public half.
fn signing_keygen(
    key_file: &Path,
    public_out: Option<&Path>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    // Both checked before anything is written, so a refusal leaves no half-made key behind.
    for path in std::iter::once(key_file).chain(public_out) {
        if path.exists() {
            return Err(exists(path));
        }
    }
    let key = SoftwareKey::generate()?;
    let public = key.public_key();
    let pem = key.to_pkcs8_pem()?;
    // Writing the private key to its file is what `keygen --out` is for.
    write_new(key_file, pem.expose_secret().as_bytes(), true)?;
    if let Some(public_file) = public_out
        && let Err(failure) = write_new(public_file, public.spki_pem.as_bytes(), false)
    {
        // Without its public half written as asked, the new key is not kept either (it was
        // never shown to anyone); a failure to remove it changes nothing in what is reported.
        let _ = std::fs::remove_file(key_file);
        return Err(failure);
    }
    writeln!(
        out,
        "wrote a new P-256 signing key {} (PKCS#8 PEM, mode 0600)",
        key_file.display()
    )?;
    if let Some(public_file) = public_out {
        writeln!(
            out,
            "wrote its public key {} (SubjectPublicKeyInfo PEM)",
            public_file.display()
        )?;
    }
    writeln!(out, "thumbprint: {}", public.thumbprint)?;
    writeln!(out, "jwk: {}", public.jwk)?;
    write!(out, "{}", public.spki_pem)?;
    Ok(())
}

/// Writes `bytes` to a new file at `path` (never an existing one), synced; mode 0600 when
/// `private` (on Unix; others get the platform's default).
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists(path)
        } else {
            Failure::from(e).context(path.display())
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::from(e).context(path.display()))
}

/// The refusal to write over an existing key file.
fn exists(path: &Path) -> Failure {
    Failure::new(
        INVALID_INPUT,
        "the file exists; a key file is never overwritten",
    )
    .context(path.display())
}

/// The signing key in `path`: PKCS#8 PEM (`PRIVATE KEY`) or SEC1 PEM (`EC PRIVATE KEY`, as
/// `openssl ecparam -genkey` writes), unencrypted, P-256.
pub fn load_key(path: &Path) -> Result<SoftwareKey, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::from(e).context(path.display()))?;
    // Held as a secret from here on, so the PEM text is wiped when dropped.
    let pem = SecretString::new(text);
    // Parsing the key needs its PEM text.
    SoftwareKey::from_pkcs8_pem(pem.expose_secret())
        .map_err(|e| Failure::from(e).context(path.display()))
}

/// The public key in `path`: SubjectPublicKeyInfo, PEM (`PUBLIC KEY`) or DER, P-256.
pub fn load_public_key(path: &Path) -> Result<PublicKeyInfo, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure::from(e).context(path.display()))?;
    PublicKeyInfo::from_spki(&bytes).map_err(|e| {
        let private = bytes
            .windows(b"PRIVATE KEY".len())
            .any(|window| window == b"PRIVATE KEY");
        let failure = if private {
            Failure::new(
                INVALID_INPUT,
                "this is a private key; give its public key (`keygen --out KEY.pem --public-out \
                 PUB.pem` writes one)",
            )
        } else {
            Failure::from(e)
        };
        failure.context(path.display())
    })
}
