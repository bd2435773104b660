//! OTP enrolments kept in the vault, so the secret an authenticator holds is encrypted at rest
//! under the account's Restricted data key, never in the app's own preferences or files.
//!
//! One item per enrolment: namespace [`OTP_NAMESPACE`], a name the app chooses (its id for the
//! enrolment), class Restricted (a credential: with an unlock gate, reading it needs a recent
//! strong authentication), no expiry. The value is the enrolment's `otpauth://` URI as
//! [`OtpAuthUri::to_uri`] writes it, UTF-8 (docs/FORMAT.md §16). Why the URI and not a binary
//! record: it is the format every issuer and authenticator already agrees on, its one parser
//! here is strict and fuzzed, and it carries everything an enrolment has (kind, period or
//! counter, algorithm, digits, account name, issuer), so no second format needs a parser of
//! its own. A later format would start with a version byte below 0x20, which no URI does.
//!
//! A stored value that does not parse was written by RukaSec and authenticated by the vault,
//! so it is a fault of RukaSec or of the store: [`Error::Integrity`], never the value.

use super::OtpAuthUri;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use crate::unlock::UnlockGrant;
use crate::vault::{DataClass, Vault};

/// The vault namespace of OTP enrolments (reserved: docs/FORMAT.md).
pub const OTP_NAMESPACE: &str = "rukasec.otp";

/// Stores `enrolment` (its secret included) for `account` under `name`, class Restricted,
/// replacing any enrolment of that name. Durable when it returns.
///
/// # Errors
/// As [`Vault::put`]: `InvalidInput` for empty or oversized ids, `KeyUnavailable`,
/// `Integrity`, `KeyWrapper`, `Storage`, `CryptoUnavailable`.
pub fn save(vault: &Vault, account: &str, name: &str, enrolment: &OtpAuthUri) -> Result<()> {
    let uri = enrolment.to_uri();
    vault.put(
        account,
        OTP_NAMESPACE,
        name,
        // Exposed: encrypted into the vault at once; `uri` is wiped when it drops.
        uri.expose_secret().as_bytes(),
        DataClass::Restricted,
        None,
    )
}

/// The enrolment stored for `account` under `name`, or `None`.
///
/// # Errors
/// As [`Vault::get`]; with an unlock gate, `UserAuthenticationRequired` unless Restricted is
/// open (a blocking read never prompts: use [`load_granted`] after an unlock).
/// [`Error::Integrity`] when the stored value is not an enrolment.
pub fn load(vault: &Vault, account: &str, name: &str) -> Result<Option<OtpAuthUri>> {
    vault
        .get(account, OTP_NAMESPACE, name)?
        .map(|value| parse(&value))
        .transpose()
}

/// [`load`] with the grant of an unlock ([`UnlockGate::unlock`](crate::unlock::UnlockGate::unlock)),
/// for a policy that wants a fresh authentication for each Restricted read.
///
/// # Errors
/// As [`load`].
pub fn load_granted(
    vault: &Vault,
    grant: &UnlockGrant,
    account: &str,
    name: &str,
) -> Result<Option<OtpAuthUri>> {
    vault
        .get_granted(grant, account, OTP_NAMESPACE, name)?
        .map(|value| parse(&value))
        .transpose()
}

/// Deletes the enrolment `name` of `account`; returns whether it existed.
///
/// # Errors
/// As [`Vault::delete`].
pub fn delete(vault: &Vault, account: &str, name: &str) -> Result<bool> {
    vault.delete(account, OTP_NAMESPACE, name)
}

fn parse(value: &SecretBytes) -> Result<OtpAuthUri> {
    // Exposed: parsed in place; the text is not copied (the parser copies only the decoded
    // secret, into a SecretBytes).
    let text = std::str::from_utf8(value.expose_secret()).map_err(|_| Error::Integrity)?;
    OtpAuthUri::parse(text).map_err(|_| Error::Integrity)
}
