//! Judging packages: the set (loose packages, or each upload's) against the rules and debgate's
//! own checks, with waivers, into the reports whose JSON shape is our contract. Reading and
//! analysing the packages is `debgate_pipeline`'s, re-exported here.

pub mod archive;
pub mod builtin;
pub mod cases;
pub mod inspect;
pub mod merge;
pub mod privileges;
pub mod report;
pub mod selection;
pub mod upload;
pub mod waivers;

pub use builtin::{package_rules, with_builtin_rules, DPKG_CANNOT_UNPACK, MEMBER_THROUGH_SYMLINK};
/// For `--keyring`: whether a signature verifier is installed, asked once before any upload.
pub use debgate_upload::{SignatureError, Verifier};
pub use inspect::{inspect, InspectReport};
pub use report::{CheckReport, CheckResult, PackageSummary, Summary, UploadSummary};
pub use upload::{check_inputs, check_inputs_with_progress, upload_rules, with_upload_rules};
pub use waivers::{Date, Waivers, DEFAULT_WAIVERS};

/// The shared pipeline, re-exported so that callers of `check` need only this crate.
pub use debgate_pipeline::{
    analyze_file, analyze_package, collect_check_inputs, collect_inputs, inputs, read_all,
    read_all_with_progress, AnalyzedPackage, Cache, CacheLimits, CheckInputs, InputError, Settings,
};

pub(crate) use debgate_pipeline::schedule;
use debgate_policy::{evaluate, Analyzed, RuleSet};
use std::path::PathBuf;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// The policy files compiled into the binary (`policies/*.toml`).
pub fn bundled_policies() -> &'static [(&'static str, &'static str)] {
    bundled::BUNDLED
}

/// Load every bundled policy (each reading the files bundled with it) together with `extra`
/// policies from `(name, text)`, whose allow-lists are read from the host.
pub fn load_bundled_and(extra: &[(&str, &str)]) -> Result<RuleSet, debgate_policy::Diagnostics> {
    let mut sources: Vec<debgate_policy::Source<'_>> = bundled_policies()
        .iter()
        .map(|(name, text)| debgate_policy::Source {
            name,
            text,
            bundled: true,
        })
        .collect();
    sources.extend(extra.iter().map(|(name, text)| debgate_policy::Source {
        name,
        text,
        bundled: false,
    }));
    let opts = debgate_policy::LoadOptions {
        embedded: bundled::BUNDLED_FILES,
        allow_todo: false,
    };
    debgate_policy::load_sources_with(&sources, &opts)
}

/// Load the bundled policies of the default set (`[policy] default = true`): what a run
/// without `--policy` judges.
pub fn bundled_rules() -> Result<RuleSet, debgate_policy::Diagnostics> {
    match selection::select(&[], &[]) {
        Ok((rules, _)) => Ok(rules),
        Err(selection::SelectError::Policy(d)) => Err(d),
        // The bundled files are ours and tested: any other failure is a build defect.
        Err(e) => Err(debgate_policy::Diagnostics(vec![
            debgate_policy::Diagnostic {
                location: debgate_policy::Location::whole("policies/"),
                code: debgate_policy::Code::NoRules,
                message: e.to_string(),
            },
        ])),
    }
}

/// Check a set of package files against the rules. Unreadable packages are reported in the
/// result (and make the run exit 2); the others are still judged, as one set.
pub fn check(rules: &RuleSet, files: &[PathBuf], settings: &Settings) -> CheckReport {
    let want = |p: &str| rules.wants_content(p);
    let mut analyzed = Vec::new();
    let mut packages = Vec::new();
    for (f, result) in files.iter().zip(read_all(files, settings, &want)) {
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(f, &e)),
        }
    }
    CheckReport::new(
        packages,
        findings(rules, &analyzed, builtin::Copies::Unexpected),
    )
}

/// Every finding over one set of packages: the policies' rules over the set as apt would
/// install it (of two copies of a package, the highest version, as apt's candidate), then
/// debgate's own package checks on every package read, then the copies set aside (what they
/// mean: `copies`).
pub(crate) fn findings<'a>(
    rules: &RuleSet,
    set: impl IntoIterator<Item = &'a AnalyzedPackage>,
    copies: builtin::Copies,
) -> Vec<debgate_policy::Finding> {
    let set: Vec<&AnalyzedPackage> = set.into_iter().collect();
    let (kept, duplicates) = builtin::candidates(&set, copies);
    let views: Vec<Analyzed<'_>> = kept.iter().map(|a| a.view()).collect();
    let mut results = evaluate(rules, &views);
    results.extend(builtin::package_findings(set));
    results.extend(duplicates);
    results
}
