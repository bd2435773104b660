//! `rukasec vault` and `rukasec keygen`: the encrypted vault from the command line, its keys
//! wrapped by a key file ([`FileKeyWrapper`]; for operators and tests, not for phones).
//!
//! Values go in through stdin and come out on stdout as raw bytes; nothing else ever prints a
//! value. Exit codes (see `failure.rs`): 3 not found, 4 integrity, 5 key unavailable, 8 locked
//! out, 9 not unlocked.
//!
//! Every vault this command opens has an unlock gate ([`UnlockGate`], the CLI's policy from
//! `unlock.rs`), with the PIN of `--unlock-with` as its authenticator or, without it, none: so
//! `get` of an internal, confidential or restricted item is refused
//! (`user-authentication-required`) unless the PIN is given and right. Only `get` reads values,
//! so only `get` (and `set-pin`, to replace a PIN) reads the PIN file; the other commands accept
//! `--unlock-with` and do not need it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use rukasec_core::events::EventBus;
use rukasec_core::secret::SecretBytes;
use rukasec_core::unlock::{Authenticator, UnlockGate, UnlockGrant};
use rukasec_core::vault::wrappers::FileKeyWrapper;
use rukasec_core::vault::{DEFAULT_JOURNAL_CAPACITY, DataClass, MAX_VALUE_LEN, Vault};
use rukasec_core::{Error, RukaSec};

use crate::failure::{self, Failure};
use crate::unlock::{
    self, AccountAttemptStore, ITERATIONS, PinAuthenticator, PinVerifier, SALT_LEN,
    UNLOCK_NAMESPACE, UnlockWith,
};

/// `rukasec vault --dir DIR --kek-file FILE [--account ID] [--unlock-with ...] <command>`.
#[derive(Args)]
pub struct VaultArgs {
    /// The vault's directory (created if needed); the database is DIR/vault.sqlite3.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The 32-byte root key file that wraps the account's keys (make one with `rukasec keygen`).
    #[arg(long, value_name = "FILE")]
    kek_file: PathBuf,
    /// The customer account whose items to use (compared byte for byte).
    #[arg(long, value_name = "ID", default_value = "default")]
    account: String,
    /// Keep rollback anchors in DIR (outside the vault's directory and its backups): a restored
    /// older copy of the vault is then refused (exit 4).
    #[arg(long, value_name = "DIR")]
    anchor_dir: Option<PathBuf>,
    /// Unlock with the account's PIN: pin-file:PATH, the PIN being the file's first line
    /// (trimmed; never printed). `get` needs it for internal, confidential and restricted
    /// items; `set-pin` to replace a PIN. Wrong PINs count towards a lockout (exit 8).
    #[arg(long, value_name = "pin-file:PATH", value_parser = unlock::parse_unlock_with)]
    unlock_with: Option<UnlockWith>,
    #[command(subcommand)]
    command: VaultCommand,
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Store the value read from stdin (all of it, raw bytes) under NAME. Durable on exit 0.
    Put {
        /// The item's name.
        name: String,
        /// The item's namespace.
        #[arg(long, default_value = "default")]
        namespace: String,
        /// The item's data class (each class has its own data key).
        #[arg(long, value_enum, default_value_t = Class::Confidential)]
        class: Class,
        /// Time to live in seconds; without it the item stays until deleted.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        ttl: Option<u64>,
    },
    /// Write NAME's value to stdout (raw bytes, no newline added). Exit 3 if absent or expired;
    /// internal, confidential and restricted items need --unlock-with (exit 9 without it).
    Get {
        /// The item's name.
        name: String,
        /// The item's namespace.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
    /// The names in a namespace that have not expired, one per line.
    List {
        /// The namespace.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
    /// Delete NAME. Exit 3 if it does not exist.
    Delete {
        /// The item's name.
        name: String,
        /// The item's namespace.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
    /// Re-wrap the account's keys under a new key file; afterwards only that file opens it.
    RotateKek {
        /// The new root key file (make one with `rukasec keygen`).
        #[arg(long, value_name = "FILE")]
        new_kek_file: PathBuf,
    },
    /// New data key for one class (or every class) and re-encrypt its items under it.
    RotateDek {
        /// The class to rotate; all four when absent.
        #[arg(long, value_enum)]
        class: Option<Class>,
    },
    /// Delete the account: its keys, then its items. With a key file, copies of the database
    /// stay readable until the key file itself is destroyed.
    DeleteAccount,
    /// Start the account again after a key-unavailable error: deletes its keys and items.
    ResetAccount,
    /// Delete every expired item of every account and print how many.
    PurgeExpired,
    /// Set the account's PIN (the first line of FILE, at least 4 characters), kept as a salted
    /// PBKDF2-HMAC-SHA256 hash, never in plain. Replacing a PIN needs the current one
    /// (--unlock-with pin-file:OLD), checked like any unlock.
    SetPin {
        /// The file holding the new PIN on its first line.
        #[arg(long, value_name = "FILE")]
        pin_file: PathBuf,
    },
}

/// The data classes, as command-line values.
#[derive(Clone, Copy, ValueEnum)]
enum Class {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl From<Class> for DataClass {
    fn from(class: Class) -> Self {
        match class {
            Class::Public => Self::Public,
            Class::Internal => Self::Internal,
            Class::Confidential => Self::Confidential,
            Class::Restricted => Self::Restricted,
        }
    }
}

/// Runs one `rukasec vault` command.
pub fn run(args: VaultArgs, out: &mut impl Write) -> Result<(), Failure> {
    let mut wrapper = key_file(&args.kek_file)?;
    if let Some(dir) = &args.anchor_dir {
        wrapper = wrapper
            .with_anchor_dir(dir)
            .map_err(|e| Failure::from(e).context(dir.display()))?;
    }
    refuse_reserved(&args.command)?;
    let vault = RukaSec::new(None)
        .open_vault(&args.dir, Arc::new(wrapper))
        .map_err(|e| Failure::from(e).context(args.dir.display()))?;
    let vault = Arc::new(vault);
    // This command's events go to the vault's journal (`rukasec events`), delivered before the
    // process ends whatever the outcome.
    let _journal = vault.event_journal(DEFAULT_JOURNAL_CAPACITY);
    let _flush = FlushOnDrop(vault.events());
    let account = args.account.as_str();
    let unlocks = matches!(
        args.command,
        VaultCommand::Get { .. } | VaultCommand::SetPin { .. }
    );
    let (pin, authenticator) = match &args.unlock_with {
        Some(UnlockWith::PinFile(path)) if unlocks => {
            let pin = unlock::read_pin(path)?;
            let verifier = unlock::load_verifier(&vault, account)?;
            let state = if verifier.is_some() {
                Pin::Given
            } else {
                Pin::NotSet
            };
            let authenticator: Arc<dyn Authenticator> =
                Arc::new(PinAuthenticator::new(pin, verifier));
            (state, Some(authenticator))
        }
        // Commands that do not unlock do not read the PIN file.
        _ => (Pin::NotGiven, None),
    };
    // Always a gate: without --unlock-with it has no authenticator, and only classes that
    // need nothing (public) can be read. Its events are journaled with the vault's.
    let gate = Arc::new(UnlockGate::new(
        unlock::cli_policy(),
        authenticator,
        Arc::new(AccountAttemptStore::new(&vault, account)),
        vault.events(),
    )?);
    vault.attach_unlock_gate(Arc::clone(&gate))?;
    match args.command {
        VaultCommand::Put {
            name,
            namespace,
            class,
            ttl,
        } => {
            let value = read_value(std::io::stdin().lock())?;
            let class = DataClass::from(class);
            vault.put(
                account,
                &namespace,
                &name,
                value.expose_secret(),
                class,
                ttl.map(Duration::from_secs),
            )?;
            writeln!(out, "stored {namespace}/{name} ({class})")?;
        }
        VaultCommand::Get { name, namespace } => {
            let class = vault
                .class_of(account, &namespace, &name)?
                .ok_or_else(|| item_not_found(&namespace, &name))?;
            let grant = unlock_for(&gate, class, account, "read a vault item", pin)?;
            let value = vault
                .get_granted(&grant, account, &namespace, &name)?
                .ok_or_else(|| item_not_found(&namespace, &name))?;
            // `get` is the one place a value is meant to be printed.
            out.write_all(value.expose_secret())?;
        }
        VaultCommand::List { namespace } => {
            for name in vault.list(account, &namespace)? {
                writeln!(out, "{name}")?;
            }
        }
        VaultCommand::Delete { name, namespace } => {
            if !vault.delete(account, &namespace, &name)? {
                return Err(item_not_found(&namespace, &name));
            }
            writeln!(out, "deleted {namespace}/{name}")?;
        }
        VaultCommand::RotateKek { new_kek_file } => {
            let new_wrapper = key_file(&new_kek_file)?;
            if !vault.has_account(account)? {
                return Err(account_not_found());
            }
            vault.rotate_kek_to(account, &new_wrapper)?;
            writeln!(
                out,
                "the account's keys are now wrapped by {}; the old key file no longer opens it",
                new_kek_file.display()
            )?;
        }
        VaultCommand::RotateDek { class } => {
            let classes = class.map_or(DataClass::ALL.to_vec(), |c| vec![c.into()]);
            if !vault.has_account(account)? {
                return Err(account_not_found());
            }
            rotate_dek(&vault, account, &classes, out)?;
        }
        VaultCommand::DeleteAccount => {
            if !vault.delete_account(account)? {
                return Err(account_not_found());
            }
            writeln!(out, "deleted the account's keys and items")?;
            writeln!(
                out,
                "note: a key file cannot be destroyed by the vault; copies of the database stay \
                 readable with {} until it is destroyed",
                args.kek_file.display()
            )?;
        }
        VaultCommand::ResetAccount => {
            if !vault.reset_account(account)? {
                return Err(account_not_found());
            }
            writeln!(out, "reset the account: its keys and items are deleted")?;
        }
        VaultCommand::PurgeExpired => {
            let purged = vault.purge_expired()?;
            writeln!(out, "purged: {purged}")?;
        }
        VaultCommand::SetPin { pin_file } => {
            let new_pin = unlock::read_new_pin(&pin_file)?;
            match pin {
                Pin::NotSet => {}
                Pin::NotGiven if unlock::load_verifier(&vault, account)?.is_none() => {}
                Pin::NotGiven => {
                    return Err(Failure::new(
                        failure::USER_AUTHENTICATION_REQUIRED,
                        "this account has a PIN: give the current one with --unlock-with \
                         pin-file:PATH to replace it",
                    ));
                }
                // The most a PIN protects, so the unlock it takes is a restricted one.
                Pin::Given => {
                    unlock_for(&gate, DataClass::Restricted, account, "change the PIN", pin)?;
                }
            }
            unlock::store_verifier(&vault, account, &PinVerifier::new(&new_pin)?)?;
            writeln!(
                out,
                "PIN set for this account (PBKDF2-HMAC-SHA256, {ITERATIONS} iterations, \
                 {SALT_LEN}-byte random salt; the PIN itself is not stored); read internal, \
                 confidential and restricted items with --unlock-with pin-file:PATH"
            )?;
        }
    }
    Ok(())
}

/// What `--unlock-with` brought.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pin {
    /// No `--unlock-with`.
    NotGiven,
    /// A PIN file, but the account has no PIN.
    NotSet,
    /// A PIN file, and the account has a PIN to check it against.
    Given,
}

/// Makes `class` readable through the gate (prompting through the PIN authenticator when it
/// has one), with messages that say what to do.
fn unlock_for(
    gate: &UnlockGate,
    class: DataClass,
    account: &str,
    reason: &str,
    pin: Pin,
) -> Result<UnlockGrant, Failure> {
    let result = unlock::block_on(gate.unlock(class, Some(account), reason))?;
    result.map_err(|error| match (error, pin) {
        (Error::UserAuthenticationRequired, Pin::NotGiven) => Failure::new(
            failure::USER_AUTHENTICATION_REQUIRED,
            format!("reading a {class} item needs an unlock: give --unlock-with pin-file:PATH"),
        ),
        (Error::UserAuthenticationRequired, Pin::NotSet) => Failure::new(
            failure::USER_AUTHENTICATION_REQUIRED,
            "this account has no PIN: set one with `rukasec vault set-pin --pin-file FILE`",
        ),
        (Error::AuthenticationFailed { remaining_attempts }, _) => Failure::new(
            failure::AUTHENTICATION_FAILED,
            format!("wrong PIN; {}", failure::attempts_left(remaining_attempts)),
        ),
        (other, _) => Failure::from(other),
    })
}

/// The namespace of the PIN verifier and the unlock counter is not for commands: deleting the
/// counter would end a lockout, replacing the verifier would change the PIN without it.
fn refuse_reserved(command: &VaultCommand) -> Result<(), Failure> {
    let namespace = match command {
        VaultCommand::Put { namespace, .. }
        | VaultCommand::Get { namespace, .. }
        | VaultCommand::List { namespace }
        | VaultCommand::Delete { namespace, .. } => namespace,
        _ => return Ok(()),
    };
    if namespace == UNLOCK_NAMESPACE {
        return Err(Failure::new(
            failure::USAGE,
            format!(
                "the namespace {UNLOCK_NAMESPACE} is reserved for the account's PIN verifier and \
                 unlock counter (see set-pin)"
            ),
        ));
    }
    Ok(())
}

/// `rukasec keygen FILE`: a new random 32-byte key file, readable by its owner only. Never
/// overwrites.
pub fn keygen(file: &Path, out: &mut impl Write) -> Result<(), Failure> {
    if file.exists() {
        return Err(Failure::new(
            failure::INVALID_INPUT,
            "the file exists; a key file is never overwritten",
        )
        .context(file.display()));
    }
    FileKeyWrapper::generate_file(file).map_err(|e| Failure::from(e).context(file.display()))?;
    writeln!(out, "wrote a new 32-byte key file {}", file.display())?;
    Ok(())
}

fn rotate_dek(
    vault: &Vault,
    account: &str,
    classes: &[DataClass],
    out: &mut impl Write,
) -> Result<(), Failure> {
    for class in classes {
        let progress = vault.rotate_dek(account, *class)?;
        writeln!(
            out,
            "{class}: {} re-encrypted, data key version {}",
            progress.reencrypted, progress.active_version
        )?;
    }
    Ok(())
}

/// Delivers the events emitted so far (to the journal) when the command ends.
struct FlushOnDrop(Arc<EventBus>);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        // A journal that cannot keep up within this long loses the rest, as a slow listener.
        let _ = self.0.flush(Duration::from_secs(5));
    }
}

fn key_file(path: &Path) -> Result<FileKeyWrapper, Failure> {
    FileKeyWrapper::from_file(path).map_err(|e| Failure::from(e).context(path.display()))
}

/// Reads all of `input`, up to one byte more than the vault accepts (the vault rejects it).
fn read_value(input: impl Read) -> Result<SecretBytes, Failure> {
    let limit = u64::try_from(MAX_VALUE_LEN)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    let read = input.take(limit).read_to_end(&mut bytes);
    // Wrapped before anything else can fail, so the bytes are wiped either way.
    let value = SecretBytes::new(bytes);
    read.map_err(|e| Failure::from(e).context("reading the value from stdin"))?;
    Ok(value)
}

fn item_not_found(namespace: &str, name: &str) -> Failure {
    Failure::new(
        failure::NOT_FOUND,
        format!("no item {namespace}/{name} in this account (absent or expired)"),
    )
}

fn account_not_found() -> Failure {
    Failure::new(failure::NOT_FOUND, "no such account in this vault")
}
