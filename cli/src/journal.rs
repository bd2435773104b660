//! `rukasec events`: the security events a vault's journal kept (`vault::EventJournal`), oldest
//! first, and acknowledging them once uploaded.
//!
//! Every `rukasec vault` command records its events (unlock failures and lockouts, integrity
//! failures, rotations, deletions) in the vault's journal, so an operator can see afterwards what
//! happened to a vault, as an app's uploader would. Events never hold secrets; the journal is
//! readable without unlocking, with the vault's key file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use rukasec_core::RukaSec;
use rukasec_core::vault::wrappers::FileKeyWrapper;
use rukasec_core::vault::{DEFAULT_JOURNAL_CAPACITY, JournalEntry};

use crate::failure::Failure;
use crate::utc;

/// `rukasec events --dir DIR --kek-file FILE [--acknowledge SEQ]`.
#[derive(Args)]
pub struct EventsArgs {
    /// The vault's directory.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The vault's root key file.
    #[arg(long, value_name = "FILE")]
    kek_file: PathBuf,
    /// Remove the entries up to and including SEQ (uploaded), then print what is left.
    #[arg(long, value_name = "SEQ")]
    acknowledge: Option<u64>,
}

/// Runs `rukasec events`.
pub fn run(args: EventsArgs, out: &mut impl Write) -> Result<(), Failure> {
    let wrapper = FileKeyWrapper::from_file(&args.kek_file)
        .map_err(|e| Failure::from(e).context(args.kek_file.display()))?;
    let vault = RukaSec::new(None)
        .open_vault(&args.dir, Arc::new(wrapper))
        .map_err(|e| Failure::from(e).context(args.dir.display()))?;
    let vault = Arc::new(vault);
    // Reading only: a journal that does not record this command's own events.
    let journal = rukasec_core::vault::EventJournal::new(&vault, DEFAULT_JOURNAL_CAPACITY);
    if let Some(seq) = args.acknowledge {
        let removed = journal.acknowledge(seq)?;
        writeln!(out, "acknowledged {removed} entries up to {seq}")?;
    }
    let entries = journal.entries()?;
    if entries.is_empty() {
        writeln!(out, "no events")?;
    }
    for entry in &entries {
        writeln!(out, "{}", line(entry))?;
    }
    Ok(())
}

/// `SEQ TIME SEVERITY KIND key=value ...`, details in key order.
fn line(entry: &JournalEntry) -> String {
    let event = &entry.event;
    let mut text = format!(
        "{} {} {} {}",
        entry.seq,
        utc::rfc3339_ceil(i64::try_from(event.timestamp_ms).unwrap_or(i64::MAX)),
        event.severity.as_str(),
        event.kind.as_str()
    );
    for (key, value) in &event.details {
        text.push_str(&format!(" {key}={value}"));
    }
    text
}
