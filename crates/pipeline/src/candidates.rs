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
    let key = |i: usize| {
        let c = &set[i].package.control;
        (c.package(), c.architecture())
    };
    let version = |i: usize| set[i].package.control.version();
    let mut best: Vec<usize> = Vec::new();
    for i in 0..set.len() {
        match best.iter_mut().find(|j| key(**j) == key(i)) {
            Some(j) if version_order(version(i), version(*j)).is_gt() => *j = i,
            Some(_) => {}
            None => best.push(i),
        }
    }
    (0..set.len())
        .filter(|i| !best.contains(i))
        .filter_map(|i| best.iter().find(|j| key(**j) == key(i)).map(|&j| (i, j)))
        .collect()
}
