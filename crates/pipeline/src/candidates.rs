//! A set as apt would install it: of several copies of one package and architecture, the
//! highest version (dpkg's order) is the candidate. `check` judges the candidates and warns of
//! the other copies; `diff` pairs the candidates and lists the other copies.

use crate::AnalyzedPackage;
use std::cmp::Ordering;

/// dpkg's order of two versions; `None` when either does not parse.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let pa = a.parse::<debversion::Version>().ok()?;
    let pb = b.parse::<debversion::Version>().ok()?;
    Some(pa.cmp(&pb))
}

/// dpkg's order, falling back to text order for a version that does not parse (the reader
/// accepts any control field; a bad version must not stop the run), so that sorting is total.
pub fn version_order(a: &str, b: &str) -> Ordering {
    compare_versions(a, b).unwrap_or_else(|| a.cmp(b))
}

/// The extra copies in `set`: `(copy, candidate)` indices, for each package and architecture
/// that appears more than once (the first of equal versions is the candidate).
pub fn duplicates(set: &[&AnalyzedPackage]) -> Vec<(usize, usize)> {
    let ids: Vec<(&str, &str, &str)> = set
        .iter()
        .map(|a| {
            let c = &a.package.control;
            (c.package(), c.architecture(), c.version())
        })
        .collect();
    duplicates_of(&ids)
}

/// [`duplicates`] of packages known by `(name, architecture, version)` alone, as a run that
/// does not hold the packages keeps them.
pub fn duplicates_of(ids: &[(&str, &str, &str)]) -> Vec<(usize, usize)> {
    // The candidate so far of each (name, architecture): a map, since a suite has tens of
    // thousands of packages.
    let mut best: std::collections::HashMap<(&str, &str), usize> = Default::default();
    for (i, (name, arch, version)) in ids.iter().enumerate() {
        match best.entry((name, arch)) {
            std::collections::hash_map::Entry::Occupied(mut j) => {
                if version_order(version, ids[*j.get()].2).is_gt() {
                    j.insert(i);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    (0..ids.len())
        .filter_map(|i| {
            let (name, arch, _) = ids[i];
            let j = best[&(name, arch)];
            (j != i).then_some((i, j))
        })
        .collect()
}
