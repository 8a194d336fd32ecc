//! Pairing the packages of two sets: by name first, then by the `[[pairing]]` rules of the
//! loaded policies for names that carry a version (a kernel ABI).

use debgate_pipeline::AnalyzedPackage;
use debgate_policy::RuleSet;
use std::collections::BTreeMap;

/// One pair, by index into each side.
#[derive(Debug, Clone)]
pub struct Pair {
    pub old: usize,
    pub new: usize,
    /// `(pairing id, old abi, new abi)` when a pairing rule made the pair.
    pub by: Option<(String, String, String)>,
}

#[derive(Debug, Default)]
pub struct Pairing {
    pub pairs: Vec<Pair>,
    pub added: Vec<usize>,
    pub removed: Vec<usize>,
    /// Extra copies of a package and architecture on one side, `(copy, the newest kept)`: the
    /// newest is what a side holds, as apt's candidate; the copy is neither added nor removed.
    pub duplicate_old: Vec<(usize, usize)>,
    pub duplicate_new: Vec<(usize, usize)>,
}

pub use debgate_pipeline::candidates::compare_versions;
use debgate_pipeline::candidates::{duplicates, version_order};

fn newest_first(pkgs: &[AnalyzedPackage], idx: &mut [usize]) {
    idx.sort_by(|&a, &b| {
        let (va, vb) = (
            pkgs[a].package.control.version(),
            pkgs[b].package.control.version(),
        );
        version_order(vb, va)
    });
}

/// Pair the two sides. When a side holds several packages of one name or key (a pool), the
/// newest of each side are paired and the rest are listed as added or removed.
pub fn pair(rules: &RuleSet, old: &[AnalyzedPackage], new: &[AnalyzedPackage]) -> Pairing {
    // Extra copies of a package and architecture are set aside: each side pairs its candidates.
    let mut out = Pairing {
        duplicate_old: duplicates(&old.iter().collect::<Vec<_>>()),
        duplicate_new: duplicates(&new.iter().collect::<Vec<_>>()),
        ..Pairing::default()
    };
    let by_name = |pkgs: &[AnalyzedPackage], dups: &[(usize, usize)]| {
        let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, a) in pkgs.iter().enumerate() {
            if !dups.iter().any(|(copy, _)| *copy == i) {
                m.entry(a.package.name().to_string()).or_default().push(i);
            }
        }
        for v in m.values_mut() {
            newest_first(pkgs, v);
        }
        m
    };
    let old_names = by_name(old, &out.duplicate_old);
    let mut new_names = by_name(new, &out.duplicate_new);
    let mut left_old = Vec::new();
    for (name, mut olds) in old_names {
        match new_names.get_mut(&name) {
            Some(news) if !news.is_empty() => {
                out.pairs.push(Pair {
                    old: olds.remove(0),
                    new: news.remove(0),
                    by: None,
                });
                left_old.extend(olds);
            }
            _ => left_old.extend(olds),
        }
    }
    let left_new: Vec<usize> = new_names.into_values().flatten().collect();

    // Second pass: names that differ only in their `abi` group.
    type Keyed = BTreeMap<String, Vec<(usize, String, String)>>;
    let keyed = |pkgs: &[AnalyzedPackage], idx: &[usize], unkeyed: &mut Vec<usize>| {
        let mut m: Keyed = BTreeMap::new();
        for &i in idx {
            match rules.pairing_key(pkgs[i].package.name()) {
                Some((p, key, abi)) => m.entry(key).or_default().push((i, p.id.clone(), abi)),
                None => unkeyed.push(i),
            }
        }
        for v in m.values_mut() {
            let mut order: Vec<usize> = v.iter().map(|(i, _, _)| *i).collect();
            newest_first(pkgs, &mut order);
            v.sort_by_key(|(i, _, _)| order.iter().position(|o| o == i));
        }
        m
    };
    let old_keyed = keyed(old, &left_old, &mut out.removed);
    let mut new_keyed = keyed(new, &left_new, &mut out.added);
    for (key, mut olds) in old_keyed {
        if let Some(news) = new_keyed.get_mut(&key).filter(|n| !n.is_empty()) {
            let (o, id, old_abi) = olds.remove(0);
            let (n, _, new_abi) = news.remove(0);
            out.pairs.push(Pair {
                old: o,
                new: n,
                by: Some((id, old_abi, new_abi)),
            });
        }
        out.removed.extend(olds.into_iter().map(|(i, _, _)| i));
    }
    out.added
        .extend(new_keyed.into_values().flatten().map(|(i, _, _)| i));
    out
}
