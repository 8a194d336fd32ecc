//! `debgate test-policy`: each expectation that does not hold, with what the rule concluded,
//! each rule without a passing or failing case, and a summary line per case file.

use crate::RenderError;
use debgate_check::cases::CaseReport;
use debgate_facts::text::one_line;
use std::io::Write;

pub fn policy_tests_text(reports: &[CaseReport], out: &mut dyn Write) -> Result<(), RenderError> {
    for r in reports {
        for o in r.outcomes.iter().filter(|o| !o.ok) {
            let got: Vec<String> = o
                .got
                .iter()
                .map(|(s, m)| format!("{}: {}", s.as_str(), one_line(m)))
                .collect();
            writeln!(
                out,
                "FAIL {}: case `{}`: {} should be {}, got {}",
                o.location,
                one_line(&o.case),
                o.rule,
                o.want.as_str(),
                if got.is_empty() {
                    "no result".to_string()
                } else {
                    got.join(" | ")
                }
            )?;
        }
        for (what, rules) in [("passes", &r.never_pass), ("fails", &r.never_fail)] {
            if !rules.is_empty() {
                writeln!(out, "note {}: no case {what} {}", r.file, rules.join(", "))?;
            }
        }
        let cases: std::collections::BTreeSet<&str> =
            r.outcomes.iter().map(|o| o.case.as_str()).collect();
        writeln!(
            out,
            "{}: {} case(s), {} expectation(s), {} failed ({})",
            r.file,
            cases.len(),
            r.outcomes.len(),
            r.failed(),
            r.policy
        )?;
    }
    out.flush()?;
    Ok(())
}
