//! `rukasec self-test`

use std::io::Write;

use rukasec_core::RukaSec;
use rukasec_core::selftest::SelfTestReport;

use crate::failure::Failure;

/// Runs the known-answer tests, prints one line per test, fails when any failed.
pub fn run(out: &mut impl Write) -> Result<(), Failure> {
    let core = RukaSec::new(None);
    let report = core.self_test();
    print_report(&report, out)?;
    if report.passed {
        Ok(())
    } else {
        Err(Failure::new(
            "self-test",
            format!("failed: {}", report.failed_names().join(", ")),
        ))
    }
}

/// One line per KAT, then a summary line.
pub fn print_report(report: &SelfTestReport, out: &mut impl Write) -> std::io::Result<()> {
    for result in &report.results {
        let verdict = if result.passed { "ok" } else { "FAILED" };
        writeln!(out, "  {verdict:<6} {}", result.name)?;
    }
    let passed = report.results.iter().filter(|r| r.passed).count();
    writeln!(
        out,
        "  self-test: {passed} of {} passed in {} us",
        report.results.len(),
        report.duration.as_micros()
    )
}
