//! Where a path lands through the directories a package itself ships as symbolic links.
//!
//! dpkg unpacks the member `./etc/x/job` by opening `/etc/x/job` on the installed system: when
//! the package shipped `./etc/x` as a symlink to `/etc/cron.d` earlier in data.tar, the file
//! lands at `/etc/cron.d/job`, and a maintainer script's `chmod 4755 /etc/x/job` changes that
//! file too. [`Links`] does this resolution on the package's own symlink entries only: nothing
//! on the host is consulted, and the usrmerge aliases (`/bin` -> `/usr/bin`), which are the
//! system's links and not the package's, stay with [`crate::path::usrmerge_canonical`].
//!
//! The directories of a path are followed, never its last component: a member replaces what
//! its own name held, and a link that is itself the last component is an entry of its own.
//! Absolute targets start again at `/`; relative ones go on from the link's directory, `..`
//! taking the parent of the directory reached so far (as the kernel does, not lexically).
//! A path that would go above `/`, that crosses more links than [`MAX_LINK_HOPS`] (a loop),
//! that crosses a link with an empty target, or that grows longer than [`MAX_RESOLVED_LEN`]
//! is unresolvable: a [`LinkError`], never a guess.

use crate::{Entry, EntryKind};
use std::collections::HashMap;
use thiserror::Error;

/// Symbolic links followed while resolving one path, at most: the kernel's own bound
/// (`MAXSYMLINKS`), so a chain the kernel follows is followed, and one it refuses with `ELOOP`
/// is unresolvable.
pub const MAX_LINK_HOPS: usize = 40;

/// The longest path a resolution may reach, in bytes: Linux's `PATH_MAX`. It also bounds the
/// work and memory a hostile chain of links can cost.
pub const MAX_RESOLVED_LEN: usize = 4096;

/// Where a path lands when it crosses at least one of the package's symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path it lands at, normalised (`/etc/cron.d/job`).
    pub path: String,
    /// The package's symlinks crossed on the way, each by where it is, in the order crossed.
    pub links: Vec<String>,
}

/// Why a path through the package's symlinks cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("through symlink `{}` -> `{}`, it leads above `/`", link.escape_debug(), target.escape_debug())]
    Escapes { link: String, target: String },
    #[error("through more than {MAX_LINK_HOPS} symlinks, a loop (the last was `{}` -> `{}`)", link.escape_debug(), target.escape_debug())]
    Loop { link: String, target: String },
    #[error("through symlink `{}`, whose target is empty", link.escape_debug())]
    EmptyTarget { link: String },
    #[error("through symlink `{}` -> `{}`, it grows longer than {MAX_RESOLVED_LEN} bytes", link.escape_debug(), target.escape_debug())]
    TooLong { link: String, target: String },
}

/// One node of the trie of link locations: a path component that leads to a link, or is one.
#[derive(Debug, Clone, Default)]
struct Node {
    children: HashMap<String, usize>,
    /// The symlink's target as written, when a link is at this path.
    target: Option<String>,
}

/// The symlinks a package ships, by where they are, for resolving paths through them.
///
/// Kept as a trie of path components, so that resolving costs one short hash per component
/// whatever the depth, and a path that leaves the trie costs nothing more.
#[derive(Debug, Clone)]
pub struct Links {
    /// Node 0 is `/`.
    nodes: Vec<Node>,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            nodes: vec![Node::default()],
        }
    }
}

/// The components of a path, without empty ones and `.`.
fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}

impl Links {
    pub fn new() -> Links {
        Links::default()
    }

    /// Every symlink entry of a package wherever it is in data.tar: what a maintainer script
    /// meets once the package is unpacked. The entries' paths are where they landed (as the
    /// reader gives them).
    pub fn of(entries: &[Entry]) -> Links {
        let mut links = Links::new();
        for e in entries {
            if let (EntryKind::Symlink, Some(t)) = (e.kind, &e.link_target) {
                links.add(&e.path, t);
            }
        }
        links
    }

    /// True when the package ships no symlink at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1 && self.nodes[0].target.is_none()
    }

    /// Record a symlink at `at` (a normalised absolute path) pointing at `target` as written.
    pub fn add(&mut self, at: &str, target: &str) {
        let mut node = 0;
        for c in components(at) {
            node = match self.nodes[node].children.get(c) {
                Some(&n) => n,
                None => {
                    self.nodes.push(Node::default());
                    let n = self.nodes.len() - 1;
                    self.nodes[node].children.insert(c.to_string(), n);
                    n
                }
            };
        }
        if node != 0 {
            self.nodes[node].target = Some(target.to_string());
        }
    }

    /// Where `path` (absolute) lands through the directories that are the package's symlinks.
    /// `Ok(None)` when it crosses none (it stays as given); never consults the host.
    pub fn resolve<'a>(&'a self, path: &'a str) -> Result<Option<Resolved>, LinkError> {
        if self.is_empty() || !self.may_cross(path) {
            return Ok(None);
        }
        // Components still to walk, as a stack (next on top); those walked, each with its trie
        // node (None once the walk has left the trie: no link lies below).
        let mut rest: Vec<&str> = components(path).rev().collect();
        let mut done: Vec<(&str, Option<usize>)> = Vec::new();
        let mut len = 0usize;
        let mut crossed: Vec<String> = Vec::new();
        let joined = |done: &[(&str, Option<usize>)]| -> String {
            if done.is_empty() {
                return "/".to_string();
            }
            done.iter().fold(String::new(), |mut s, (c, _)| {
                s.push('/');
                s.push_str(c);
                s
            })
        };
        let last_link = |crossed: &[String]| crossed.last().cloned().unwrap_or_default();
        while let Some(c) = rest.pop() {
            if c == ".." {
                match done.pop() {
                    Some((p, _)) => len -= p.len() + 1,
                    // Above `/` without a link of the package on the way: the path as given is
                    // not this resolution's business.
                    None if crossed.is_empty() => return Ok(None),
                    None => {
                        let link = last_link(&crossed);
                        let target = self.target_of(&link);
                        return Err(LinkError::Escapes { link, target });
                    }
                }
                continue;
            }
            let parent = done.last().map_or(Some(0), |(_, n)| *n);
            let node = parent.and_then(|p| self.nodes[p].children.get(c).copied());
            done.push((c, node));
            len += c.len() + 1;
            if len > MAX_RESOLVED_LEN {
                let link = last_link(&crossed);
                let target = self.target_of(&link);
                return Err(LinkError::TooLong { link, target });
            }
            if rest.is_empty() {
                // The last component is the path's own name: never followed.
                break;
            }
            let Some(target) = node.and_then(|n| self.nodes[n].target.as_deref()) else {
                continue;
            };
            let link = joined(&done);
            if target.is_empty() {
                return Err(LinkError::EmptyTarget { link });
            }
            if crossed.len() == MAX_LINK_HOPS {
                return Err(LinkError::Loop {
                    link,
                    target: target.to_string(),
                });
            }
            crossed.push(link);
            // Go on from the link's directory, or from `/` for an absolute target.
            done.pop();
            len -= c.len() + 1;
            if target.starts_with('/') {
                done.clear();
                len = 0;
            }
            rest.extend(components(target).rev());
        }
        if crossed.is_empty() {
            return Ok(None);
        }
        Ok(Some(Resolved {
            path: joined(&done),
            links: crossed,
        }))
    }

    /// Whether `path` may cross a link: it meets one before its last component, or has a `.`
    /// or `..` the full walk must handle. False for almost every member, without allocating.
    fn may_cross(&self, path: &str) -> bool {
        let mut node = 0;
        let mut parts = path.split('/').filter(|c| !c.is_empty()).peekable();
        while let Some(c) = parts.next() {
            if c == "." || c == ".." {
                return true;
            }
            let Some(&n) = self.nodes[node].children.get(c) else {
                // Below a path no link lies under: only `..` could lead back, and it is
                // checked for in what remains.
                return parts.any(|c| c == "..");
            };
            if parts.peek().is_some() && self.nodes[n].target.is_some() {
                return true;
            }
            node = n;
        }
        false
    }

    /// The target of the link at `at`, for error messages.
    fn target_of(&self, at: &str) -> String {
        let mut node = 0;
        for c in components(at) {
            match self.nodes[node].children.get(c) {
                Some(&n) => node = n,
                None => return String::new(),
            }
        }
        self.nodes[node].target.clone().unwrap_or_default()
    }
}

/// Where each entry of a package lands, in archive order, as dpkg unpacks them: an entry is
/// resolved through the symlinks that come **before** it (a member under a link that comes
/// later is written to a real directory first, and is just what it says). `Ok(None)` for an
/// entry that crosses no symlink. A symlink entry that is itself unresolvable leads nowhere
/// known, so it is not followed by later entries (they are reported through their own walk).
pub fn resolve_entries(entries: &[Entry]) -> Vec<Result<Option<Resolved>, LinkError>> {
    let mut links = Links::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let r = links.resolve(&e.path);
        if let (EntryKind::Symlink, Some(t), Ok(r)) = (e.kind, &e.link_target, &r) {
            let at = r.as_ref().map_or(e.path.as_str(), |r| r.path.as_str());
            links.add(at, t);
        }
        out.push(r);
    }
    out
}

/// Where a maintainer script's literal target lands through the symlinks the package ships
/// (all of them: the script runs after the unpack). `Ok(None)` when it crosses none.
pub fn resolve_target(entries: &[Entry], path: &str) -> Result<Option<Resolved>, LinkError> {
    Links::of(entries).resolve(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(path: &str, kind: EntryKind, target: Option<&str>) -> Entry {
        Entry {
            path: path.to_string(),
            raw_path: None,
            raw_link_target: None,
            kind,
            mode: 0o755,
            uid: 0,
            gid: 0,
            owner: None,
            group: None,
            size: 0,
            link_target: target.map(str::to_string),
            xattrs: BTreeMap::new(),
            member: None,
            through: Vec::new(),
            device: None,
        }
    }

    fn link(path: &str, target: &str) -> Entry {
        entry(path, EntryKind::Symlink, Some(target))
    }

    fn file(path: &str) -> Entry {
        entry(path, EntryKind::File, None)
    }

    fn links(pairs: &[(&str, &str)]) -> Links {
        let mut l = Links::new();
        for (at, t) in pairs {
            l.add(at, t);
        }
        l
    }

    fn lands(l: &Links, path: &str) -> Option<(String, Vec<String>)> {
        l.resolve(path)
            .expect("resolvable")
            .map(|r| (r.path, r.links))
    }

    fn some(path: &str, links: &[&str]) -> Option<(String, Vec<String>)> {
        Some((
            path.to_string(),
            links.iter().map(|s| s.to_string()).collect(),
        ))
    }

    #[test]
    fn absolute_target() {
        let l = links(&[("/etc/x", "/etc/cron.d")]);
        assert_eq!(
            lands(&l, "/etc/x/job"),
            some("/etc/cron.d/job", &["/etc/x"])
        );
        assert_eq!(
            lands(&l, "/etc/x/a/b"),
            some("/etc/cron.d/a/b", &["/etc/x"])
        );
    }

    #[test]
    fn relative_target_from_the_links_directory() {
        let l = links(&[
            ("/etc/x", "cron.d"),
            ("/usr/share/doc/p", "../../lib/p/doc"),
            ("/opt/up", "./../etc/./"),
        ]);
        assert_eq!(
            lands(&l, "/etc/x/job"),
            some("/etc/cron.d/job", &["/etc/x"])
        );
        assert_eq!(
            lands(&l, "/usr/share/doc/p/README"),
            some("/usr/lib/p/doc/README", &["/usr/share/doc/p"])
        );
        assert_eq!(lands(&l, "/opt/up/y"), some("/etc/y", &["/opt/up"]));
    }

    #[test]
    fn the_last_component_and_unrelated_paths_are_not_followed() {
        let l = links(&[("/etc/x", "/etc/cron.d")]);
        assert_eq!(lands(&l, "/etc/x"), None, "the link itself");
        assert_eq!(lands(&l, "/etc/xy/job"), None);
        assert_eq!(lands(&l, "/etc/cron.d/job"), None);
        assert_eq!(lands(&l, "/"), None);
        assert_eq!(lands(&Links::new(), "/etc/x/job"), None);
    }

    #[test]
    fn chains_are_followed() {
        // A link to a link, and a link whose target crosses another link.
        let l = links(&[
            ("/a", "/b"),
            ("/b", "c"),
            ("/c/d", "/etc"),
            ("/usr/lib/x", "/a/d/cron.d"),
        ]);
        assert_eq!(lands(&l, "/a/f"), some("/c/f", &["/a", "/b"]));
        assert_eq!(
            lands(&l, "/a/d/cron.d/job"),
            some("/etc/cron.d/job", &["/a", "/b", "/c/d"])
        );
        assert_eq!(
            lands(&l, "/usr/lib/x/job"),
            some("/etc/cron.d/job", &["/usr/lib/x", "/a", "/b", "/c/d"])
        );
    }

    #[test]
    fn dot_dot_after_a_link_is_the_targets_parent() {
        // As the kernel walks it: /etc/x/.. is /etc/cron.d/.. = /etc, not lexically /etc.
        let l = links(&[("/srv/x", "/etc/cron.d")]);
        assert_eq!(
            lands(&l, "/srv/x/../passwd"),
            some("/etc/passwd", &["/srv/x"])
        );
    }

    #[test]
    fn a_loop_is_unresolvable() {
        let l = links(&[("/a", "b"), ("/b", "/a")]);
        match l.resolve("/a/x") {
            Err(LinkError::Loop { .. }) => {}
            other => panic!("{other:?}"),
        }
        let me = links(&[("/etc/x", "x")]);
        assert!(matches!(
            me.resolve("/etc/x/y"),
            Err(LinkError::Loop { .. })
        ));
        // A chain of exactly the kernel's bound is followed.
        let mut chain = Links::new();
        for i in 0..MAX_LINK_HOPS - 1 {
            chain.add(&format!("/l{i}"), &format!("/l{}", i + 1));
        }
        chain.add(&format!("/l{}", MAX_LINK_HOPS - 1), "/end");
        let r = chain.resolve("/l0/f").unwrap().unwrap();
        assert_eq!((r.path.as_str(), r.links.len()), ("/end/f", MAX_LINK_HOPS));
        chain.add(&format!("/l{}", MAX_LINK_HOPS - 1), "/l40");
        chain.add("/l40", "/end");
        assert!(matches!(
            chain.resolve("/l0/f"),
            Err(LinkError::Loop { .. })
        ));
    }

    #[test]
    fn a_link_above_the_root_is_unresolvable() {
        let l = links(&[("/etc/x", "../../../cron.d"), ("/y", "")]);
        match l.resolve("/etc/x/job") {
            Err(e @ LinkError::Escapes { .. }) => {
                assert!(
                    e.to_string().contains("`/etc/x` -> `../../../cron.d`"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            l.resolve("/y/z"),
            Err(LinkError::EmptyTarget { .. })
        ));
    }

    #[test]
    fn a_growing_chain_is_bounded() {
        let long = "d/".repeat(1500);
        let mut l = links(&[("/a", &format!("/{long}b"))]);
        let r = l.resolve("/a/x").unwrap().unwrap();
        assert_eq!(r.path.len(), 3004);
        // A second link there makes it longer than PATH_MAX.
        l.add(&format!("/{long}b"), &format!("{}f", "e/".repeat(600)));
        match l.resolve("/a/x") {
            Err(e @ LinkError::TooLong { .. }) => assert!(e.to_string().contains("4096"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn entries_resolve_through_earlier_links_only() {
        let entries = [
            file("/etc/early/job"),
            link("/etc/early", "/etc/cron.d"),
            link("/etc/x", "/etc/cron.d"),
            file("/etc/x/job"),
            // A link under a link lands at its target's place, and is followed from there.
            link("/etc/x/y", "/var/spool"),
            file("/etc/x/y/z"),
            link("/loop", "/loop"),
            file("/loop/a"),
        ];
        let got = resolve_entries(&entries);
        assert_eq!(got[0], Ok(None), "a member before its link is ordinary");
        assert_eq!(got[1], Ok(None));
        assert_eq!(
            got[3].as_ref().unwrap().as_ref().unwrap().path,
            "/etc/cron.d/job"
        );
        let y = got[4].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(y.path, "/etc/cron.d/y");
        let z = got[5].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(z.path, "/var/spool/z");
        assert_eq!(z.links, ["/etc/x", "/etc/cron.d/y"]);
        assert!(matches!(got[7], Err(LinkError::Loop { .. })));
    }

    #[test]
    fn script_targets_resolve_through_every_link() {
        let entries = [
            link("/etc/x", "/etc/cron.d"),
            file("/etc/x/job"),
            file("/bin/tool"),
        ];
        let r = resolve_target(&entries, "/etc/x/job").unwrap().unwrap();
        assert_eq!(r.path, "/etc/cron.d/job");
        // usrmerge is not the package's business.
        assert_eq!(resolve_target(&entries, "/bin/tool"), Ok(None));
    }
}
