//! `debgate check --archive SPEC`: the packages of apt repositories
//! ([`debgate_archive::read::Repositories`]), judged as one set.

use crate::report::{CheckReport, PackageSummary};
/// The repository reading every command shares, re-exported for the binary.
pub use debgate_archive::read::{ArchiveArgs, ReadPackage, Repositories, Shard, Tick};
use debgate_pipeline::{AnalyzedPackage, Settings};
use debgate_policy::RuleSet;

/// A checked repository run: the report, and what the user must be told once (a repository
/// read unverified).
pub struct ArchiveCheck {
    pub report: CheckReport,
    pub notices: Vec<String>,
    /// The packages read, each with its place in the indexes: what a `--shard` run writes for
    /// `debgate merge`.
    pub analyzed: Vec<(usize, AnalyzedPackage)>,
    /// The packages not read, (place, file, why); place 0 for an index paragraph that cannot
    /// be used.
    pub unreadable: Vec<(usize, String, String)>,
}

impl ArchiveCheck {
    /// What a `--shard` run writes besides its report, in index order.
    pub fn shard_items(&self) -> Vec<crate::merge::ShardItem<'_>> {
        let mut items: Vec<(usize, crate::merge::ShardItem<'_>)> = self
            .unreadable
            .iter()
            .map(|(ordinal, file, error)| {
                (
                    *ordinal,
                    crate::merge::ShardItem::Unreadable {
                        ordinal: *ordinal,
                        file,
                        error,
                    },
                )
            })
            .chain(self.analyzed.iter().map(|(ordinal, a)| {
                (
                    *ordinal,
                    crate::merge::ShardItem::Facts {
                        ordinal: *ordinal,
                        package: &a.package,
                    },
                )
            }))
            .collect();
        items.sort_by_key(|(ordinal, _)| *ordinal);
        items.into_iter().map(|(_, item)| item).collect()
    }
}

/// Check every selected package of the repositories. `Err` is why no run can happen (a bad
/// SPEC, a chain that does not verify): exit 2, as apt stops.
pub fn check_archives(
    rules: &RuleSet,
    args: &ArchiveArgs<'_>,
    settings: &Settings,
    progress: &(dyn Fn(Tick) + Sync),
) -> Result<ArchiveCheck, String> {
    let repos = Repositories::open(
        args,
        &|name| rules.shard_key(name),
        &rules.content_fingerprint(),
    )?;
    let want = |p: &str| rules.wants_content(p);
    let mut packages: Vec<PackageSummary> = Vec::new();
    let mut unreadable: Vec<(usize, String, String)> = Vec::new();
    for (index, e) in &repos.unusable {
        packages.push(PackageSummary::failed(index, e));
        unreadable.push((0, index.display().to_string(), e.clone()));
    }
    let mut analyzed: Vec<(usize, AnalyzedPackage)> = Vec::new();
    let read = repos.read_all(settings, &want, progress);
    for (i, (label, result)) in read.into_iter().enumerate() {
        let ordinal = repos.ordinal(i);
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push((ordinal, a));
            }
            Err(e) => {
                packages.push(PackageSummary::failed(&label, &e));
                unreadable.push((ordinal, label.display().to_string(), e));
            }
        }
    }
    let findings = crate::findings(rules, analyzed.iter().map(|(_, a)| a));
    Ok(ArchiveCheck {
        report: CheckReport::new(packages, findings),
        notices: repos.notices,
        analyzed,
        unreadable,
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
