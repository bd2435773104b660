//! `rukasec pin FILE...`

use std::io::Write;
use std::path::PathBuf;

use rukasec_core::RukaSec;

use crate::failure::Failure;

/// Prints `sha256/<base64>  <subject>` for every certificate of every file, in order.
pub fn run(files: &[PathBuf], out: &mut impl Write) -> Result<(), Failure> {
    let core = RukaSec::new(None);
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| Failure::from(e).context(file.display()))?;
        let certificates = core
            .certificates(&bytes)
            .map_err(|e| Failure::from(e).context(file.display()))?;
        for certificate in certificates {
            writeln!(out, "{}  {}", certificate.pin, certificate.subject)?;
        }
    }
    Ok(())
}
