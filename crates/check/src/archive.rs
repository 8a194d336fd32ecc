//! `debgate check --archive SPEC`: the packages of apt repositories
//! ([`debgate_archive::read::Repositories`]), judged as one set.

use crate::report::{CheckReport, PackageSummary};
/// The repository reading every command shares, re-exported for the binary.
pub use debgate_archive::read::{ArchiveArgs, ReadPackage, Repositories, Shard};
use debgate_pipeline::{AnalyzedPackage, Settings};
use debgate_policy::RuleSet;

/// A checked repository run: the report, and what the user must be told once (a repository
/// read unverified).
pub struct ArchiveCheck {
    pub report: CheckReport,
    pub notices: Vec<String>,
}

/// Check every selected package of the repositories. `Err` is why no run can happen (a bad
/// SPEC, a chain that does not verify): exit 2, as apt stops.
pub fn check_archives(
    rules: &RuleSet,
    args: &ArchiveArgs<'_>,
    settings: &Settings,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ArchiveCheck, String> {
    let repos = Repositories::open(args, &|name| rules.shard_key(name))?;
    let want = |p: &str| rules.wants_content(p);
    let mut packages: Vec<PackageSummary> = repos
        .unusable
        .iter()
        .map(|(index, e)| PackageSummary::failed(index, e))
        .collect();
    let mut analyzed: Vec<AnalyzedPackage> = Vec::new();
    for (label, result) in repos.read_all(settings, &want, progress) {
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(&label, &e)),
        }
    }
    Ok(ArchiveCheck {
        report: CheckReport::new(packages, crate::findings(rules, &analyzed)),
        notices: repos.notices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_abis_of_a_kernel_are_in_one_part() {
        let rules = crate::bundled_rules().unwrap();
        let (old, new) = ("linux-image-6.1.0-50-amd64", "linux-image-6.1.0-57-amd64");
        assert!(
            rules.pairing_key(old).is_some(),
            "the bundled pairing keys kernels"
        );
        for n in 2..=16 {
            let part = |name| (1..=n).find(|&k| Shard { k, n }.holds(&rules.shard_key(name)));
            assert_eq!(part(old), part(new), "{n} parts");
        }
    }
}
