//! Which paired files changed in content: by the SHA-256 of their bytes where both sides hashed
//! them, else by MD5 (a side's real one, or its `md5sums` claim). Privileged files come first,
//! since a changed setuid binary is what a release manager reads first.

use crate::report::{ContentChange, ContentChanges, UnknownContent};
use debgate_analyze::privileges::{inventory, Scope};
use debgate_facts::{hex, Entry, EntryKind, FileDigest, Hashed, Md5sums, Package};
use debgate_pipeline::{AnalyzedPackage, Settings};
use debgate_reader::{ReadOptions, ScriptTargets};
use std::collections::{BTreeMap, HashMap};

/// Per side: why each privileged path is security-relevant (`new: 4755 root:root`), and, when
/// a grant's target is unknown, the change that may hit any file.
struct Privileged {
    paths: BTreeMap<String, Vec<String>>,
    any: Option<String>,
}

fn privileged(a: &AnalyzedPackage, side: &str) -> Privileged {
    let inv = inventory(&a.changes, &a.state, Scope::default());
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &inv.files {
        let why = paths.entry(f.file.path.clone()).or_default();
        for s in &f.states {
            why.push(format!("{side}: {}", s.state.text()));
        }
    }
    let any = match (inv.unresolved.first(), inv.blind.first()) {
        (Some(c), _) => Some(format!(
            "{side}: {}:{} may grant a privilege to any file (its target is unknown)",
            c.script, c.line
        )),
        (None, Some(part)) => Some(format!(
            "{side}: a script part static reading cannot follow may grant a privilege to any file ({part})"
        )),
        (None, None) => None,
    };
    Privileged { paths, any }
}

/// A side's digest of one file: its real bytes' (both algorithms), or its md5sums claim.
enum Known<'a> {
    Bytes(&'a debgate_facts::FileDigest),
    Claim(&'a [u8; 16]),
}

/// One side's entries by path: `Package::entry` searches, and a kernel has thousands.
struct Side<'a> {
    p: &'a Package,
    by_path: HashMap<&'a str, &'a Entry>,
    /// Digests from reading the package again (see [`rehash`]).
    again: BTreeMap<String, FileDigest>,
}

impl<'a> Side<'a> {
    fn new(p: &'a Package) -> Side<'a> {
        Side {
            p,
            by_path: p.entries.iter().map(|e| (e.path.as_str(), e)).collect(),
            again: BTreeMap::new(),
        }
    }

    fn digest(&self, path: &str) -> Option<&FileDigest> {
        self.p.digests.get(path).or_else(|| self.again.get(path))
    }

    fn is_regular(&self, path: &str) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|e| matches!(e.kind, EntryKind::File | EntryKind::HardLink))
    }

    /// The name md5sums lists `path` by: its member's own name.
    fn member<'b>(&self, path: &'b str) -> &'b str
    where
        'a: 'b,
    {
        self.by_path
            .get(path)
            .and_then(|e| e.member.as_deref())
            .unwrap_or(path)
    }

    /// `path`'s md5sums claim.
    fn claim(&self, path: &str) -> Option<&'a [u8; 16]> {
        self.p.md5sums.get(self.member(path))
    }

    fn is_conffile(&self, path: &str) -> bool {
        self.p
            .conffiles
            .iter()
            .any(|c| c.path == path || c.path == self.member(path))
    }
}

/// Read `p` again to hash `paths`: files privileged on the other side only, which this side
/// had no reason to hash as it streamed by. Rare (a privilege gained or given up), and only
/// those files are hashed; nothing else is kept.
fn rehash(
    p: &Package,
    paths: &[String],
    settings: &Settings,
    reread: crate::Reread<'_>,
) -> Result<BTreeMap<String, FileDigest>, String> {
    let targets = |_: &[debgate_facts::Script]| ScriptTargets {
        paths: paths.iter().map(|p| (p.clone(), false)).collect(),
        unknown: false,
    };
    let opts = ReadOptions {
        limits: settings.limits.clone(),
        digests: Some(&targets),
        ..ReadOptions::default()
    };
    let again = reread(&p.file, &opts)?;
    Ok(paths
        .iter()
        .filter_map(|path| again.digests.get(path).map(|d| (path.clone(), *d)))
        .collect())
}

/// What one side knows of `path`'s content, or why it knows nothing.
fn known<'a>(s: &'a Side<'a>, path: &str) -> Result<Known<'a>, String> {
    let p = s.p;
    if let Some(d) = s.digest(path) {
        return Ok(Known::Bytes(d));
    }
    let member = s.member(path);
    match &p.md5sums {
        Md5sums::Listed(_) => p
            .md5sums
            .get(member)
            .map(Known::Claim)
            .ok_or_else(|| format!("{} md5sums does not list it", p.name())),
        Md5sums::Absent => Err(format!("{} has no md5sums and it was not hashed", p.name())),
        Md5sums::Unusable(why) => Err(why.clone()),
        Md5sums::NotRead => Err("content was not read".to_string()),
    }
}

/// How a side was read, in words, for the notes.
fn side_note(side: &str, p: &Package) -> Option<String> {
    match (&p.md5sums, p.hashed) {
        (Md5sums::Unusable(why), _) => Some(format!(
            "{side}: {why}; content changes of files it would cover are unknown"
        )),
        (_, Some(Hashed::AllNoMd5sums)) => Some(format!(
            "{side}: no md5sums; every regular file was hashed instead"
        )),
        (_, Some(Hashed::AllUnknownTarget)) => Some(format!(
            "{side}: a maintainer script may grant a privilege to a file it names in a way static reading cannot resolve, so every regular file was hashed"
        )),
        _ => None,
    }
}

/// Compare the content of every pair of paths (`old`, `new`) that is a regular file on both
/// sides.
pub(crate) fn compare(
    old: &AnalyzedPackage,
    new: &AnalyzedPackage,
    both: &[(String, String)],
    settings: &Settings,
    reread: crate::Reread<'_>,
) -> ContentChanges {
    let (op, np) = (&old.package, &new.package);
    let (mut os, mut ns) = (Side::new(op), Side::new(np));
    let mut out = ContentChanges::default();
    out.notes.extend(
        [side_note("old", op), side_note("new", np)]
            .into_iter()
            .flatten(),
    );
    let (opriv, npriv) = (privileged(old, "old"), privileged(new, "new"));
    // A file privileged on one side only was hashed on that side alone: the other side's bytes
    // are hashed by reading its package again, so that md5sums is never all that is known of
    // a privileged file's content.
    let (mut need_old, mut need_new) = (Vec::new(), Vec::new());
    for (o, n) in both {
        let privileged = opriv.paths.contains_key(o) || npriv.paths.contains_key(n);
        if !privileged || !os.is_regular(o) || !ns.is_regular(n) {
            continue;
        }
        if os.digest(o).is_none() {
            need_old.push(o.clone());
        }
        if ns.digest(n).is_none() {
            need_new.push(n.clone());
        }
    }
    for (side, s, need) in [("old", &mut os, need_old), ("new", &mut ns, need_new)] {
        if need.is_empty() {
            continue;
        }
        match rehash(s.p, &need, settings, reread) {
            Ok(found) => s.again = found,
            Err(e) => out.notes.push(format!(
                "{side}: reading {} again to hash {} file(s) privileged on the other side failed: {e}",
                s.p.file.display(),
                need.len()
            )),
        }
    }
    let (os, ns) = (os, ns);
    let unusable = |p: &Package| matches!(p.md5sums, Md5sums::Unusable(_));
    for (o, n) in both {
        if !os.is_regular(o) || !ns.is_regular(n) {
            continue;
        }
        let mut why: Vec<String> = Vec::new();
        why.extend(opriv.paths.get(o).into_iter().flatten().cloned());
        why.extend(npriv.paths.get(n).into_iter().flatten().cloned());
        if why.is_empty() {
            why.extend(opriv.any.iter().chain(&npriv.any).cloned());
        }
        let security = !why.is_empty();
        let (ok, nk) = (known(&os, o), known(&ns, n));
        for (side, s, path, k) in [("old", &os, o, &ok), ("new", &ns, n, &nk)] {
            if let (Ok(Known::Bytes(d)), Some(claim)) = (k, s.claim(path)) {
                if *claim != d.md5 {
                    out.md5sums_wrong.push(format!(
                        "{side} {path}: md5sums claims {}, the bytes hash to {}",
                        hex(claim),
                        hex(&d.md5)
                    ));
                }
            }
        }
        let (ok, nk) = match (ok, nk) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                out.unknown_count += 1;
                // A whole md5sums that is unusable is said once, in the notes.
                let said = (unusable(op) && !op.digests.contains_key(o.as_str()))
                    || (unusable(np) && !np.digests.contains_key(n.as_str()));
                if !said || security {
                    out.unknown.push(UnknownContent {
                        path: n.clone(),
                        why: e,
                        security,
                    });
                }
                continue;
            }
        };
        out.compared += 1;
        let (by, od, nd) = match (&ok, &nk) {
            (Known::Bytes(a), Known::Bytes(b)) => (
                "bytes",
                format!("sha256:{}", hex(&a.sha256)),
                format!("sha256:{}", hex(&b.sha256)),
            ),
            (a, b) => {
                let md5 = |k: &Known<'_>| match k {
                    Known::Bytes(d) => d.md5,
                    Known::Claim(c) => **c,
                };
                let by = if matches!((a, b), (Known::Claim(_), Known::Claim(_))) {
                    "md5sums"
                } else {
                    "bytes-and-md5sums"
                };
                (
                    by,
                    format!("md5:{}", hex(&md5(a))),
                    format!("md5:{}", hex(&md5(b))),
                )
            }
        };
        if od == nd {
            continue;
        }
        out.changed.push(ContentChange {
            path: n.clone(),
            old_path: (o != n).then(|| o.clone()),
            compared_by: by,
            old_digest: od,
            new_digest: nd,
            security,
            why,
            conffile: os.is_conffile(o) || ns.is_conffile(n),
        });
    }
    out.changed
        .sort_by(|a, b| (!a.security, &a.path).cmp(&(!b.security, &b.path)));
    out.unknown
        .sort_by(|a, b| (!a.security, &a.path).cmp(&(!b.security, &b.path)));
    out
}
