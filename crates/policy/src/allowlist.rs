//! Privilege allow-lists: reviewed `[[allow]]` entries, each approving one file's most
//! privileged state (and anything less privileged), or one maintainer-script command whose
//! effect static reading cannot resolve. Read like a policy file: every error at once, each with
//! `file:line:column` and a code. The `privileges` assertion kind holds a set against one.
//!
//! ```toml
//! [[allow]]
//! package = "iputils-ping"            # glob
//! path = "/bin/ping"                  # /bin/x and /usr/bin/x are one file (usrmerge)
//! owner = "root"
//! group = "root"
//! mode = "4755"                       # approves this and fewer bits
//! capabilities = "cap_net_raw=ep"     # approves these (capability, set) pairs and fewer
//! reason = "ping opens raw ICMP sockets"
//! bug = "https://bugs.debian.org/..."
//!
//! [[allow]]
//! package = "exim4-base"
//! unresolved = { script = "postinst", command = "chmod $MODE $FILE" }
//! reason = "re-applies the admin's own dpkg-statoverride entries"
//! bug = "..."
//! ```

use crate::diagnostic::{get, Code, Doc, Location};
use debgate_analyze::effective::EndState;
use debgate_analyze::privileges::caps_subset;
use debgate_facts::caps::CapSet;
use debgate_facts::change::{normalise_command, Change, Operand};
use debgate_facts::path::usrmerge_same;
use debgate_facts::ScriptName;
use globset::{GlobBuilder, GlobMatcher};
use toml_span::Value;

/// The keys of an `[[allow]]` entry.
pub const KEYS: [&str; 9] = [
    "package",
    "path",
    "owner",
    "group",
    "mode",
    "capabilities",
    "unresolved",
    "reason",
    "bug",
];

/// The keys of an entry's `unresolved` table.
pub const UNRESOLVED_KEYS: [&str; 2] = ["script", "command"];

/// The reason `debgate privileges --format toml` writes, which a reviewer replaces.
pub const TODO_REASON: &str = "TODO: review";

/// One allow-list file.
#[derive(Debug, Clone)]
pub struct AllowList {
    /// As messages name it.
    pub file: String,
    pub entries: Vec<Allow>,
}

/// One `[[allow]]` entry.
#[derive(Debug, Clone)]
pub struct Allow {
    pub package: String,
    package_glob: GlobMatcher,
    pub approves: Approves,
    pub reason: String,
    pub bug: String,
    pub location: Location,
}

/// What an entry approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approves {
    /// A file's most privileged state.
    State {
        path: String,
        mode: u32,
        owner: String,
        group: String,
        caps: Option<CapSet>,
    },
    /// A command of a maintainer script whose effect is not known statically: matched by its
    /// text with whitespace normalised, never by its line, which moves with every debhelper
    /// change.
    Unresolved { script: ScriptName, command: String },
}

impl Allow {
    pub fn matches_package(&self, name: &str) -> bool {
        self.package_glob.is_match(name)
    }

    /// Whether the entry approves what is known of `state` of `path` in package `pkg`: every
    /// known attribute at most the entry's (an unknown one is the business of the change that
    /// left it unknown, approved by an `unresolved` entry).
    pub fn approves_known(&self, pkg: &str, path: &str, state: &EndState) -> bool {
        let Approves::State {
            path: p,
            mode,
            owner,
            group,
            caps,
        } = &self.approves
        else {
            return false;
        };
        if !self.matches_package(pkg) || !usrmerge_same(p, path) {
            return false;
        }
        let name_ok = |a: &Operand<String>, want: &String| a.known().is_none_or(|h| h == want);
        state.mode.known().is_none_or(|m| m & !mode == 0)
            && name_ok(&state.owner, owner)
            && name_ok(&state.group, group)
            && state
                .caps
                .known()
                .is_none_or(|c| caps_subset(c.as_ref(), caps.as_ref()))
    }

    /// Whether the entry approves the unresolved change `c` of package `pkg`.
    pub fn approves_change(&self, pkg: &str, c: &Change) -> bool {
        match &self.approves {
            Approves::Unresolved { script, command } => {
                self.matches_package(pkg) && *script == c.script && **command == *c.command
            }
            Approves::State { .. } => false,
        }
    }

    /// The path an entry names, if it names one.
    pub fn path(&self) -> Option<&str> {
        match &self.approves {
            Approves::State { path, .. } => Some(path),
            Approves::Unresolved { .. } => None,
        }
    }

    /// `iputils-ping /bin/ping 4755 root:root cap_net_raw=ep`, or
    /// `exim4-base postinst: chmod $MODE $FILE`.
    pub fn describe(&self) -> String {
        match &self.approves {
            Approves::State {
                path,
                mode,
                owner,
                group,
                caps,
            } => {
                let caps = caps
                    .map(|c| format!(" {}", c.to_text()))
                    .unwrap_or_default();
                format!("{} {path} {mode:04o} {owner}:{group}{caps}", self.package)
            }
            Approves::Unresolved { script, command } => {
                format!("{} {script}: {command}", self.package)
            }
        }
    }
}

/// Read an allow-list; problems go to `doc`'s diagnostics.
pub fn parse(doc: &mut Doc<'_>) -> AllowList {
    let mut out = AllowList {
        file: doc.file.to_string(),
        entries: Vec::new(),
    };
    let Some(table) = doc.parse("an allow-list") else {
        return out;
    };
    for (key, value) in &table {
        if key.name != "allow" {
            doc.error(
                key.span,
                Code::UnknownKey,
                format!("unknown top-level key `{}`; expected `allow`", key.name),
            );
            continue;
        }
        for item in doc.tables(value, "allow").unwrap_or_default() {
            if let Some(a) = entry(doc, item) {
                out.entries.push(a);
            }
        }
    }
    out
}

fn entry(doc: &mut Doc<'_>, value: &Value<'_>) -> Option<Allow> {
    let t = doc.table(value, "allow")?;
    let location = doc.location(value.span);
    let mark = doc.mark();
    let at = value.span;
    doc.unknown_keys(t, &KEYS, "in an allow-list entry", &KEYS);
    let reviewed = " (an approval needs a reason and a bug to track it)";
    let package = doc
        .required(t, "package", at, "allow-list entry", "")
        .and_then(|v| {
            let s = doc.nonempty_string(v, "package")?;
            match GlobBuilder::new(&s).build() {
                Ok(g) => Some((s, g.compile_matcher())),
                Err(e) => {
                    doc.error(
                        v.span,
                        Code::BadGlob,
                        format!("`package` pattern `{s}`: {}", e.kind()),
                    );
                    None
                }
            }
        });
    let allow_todo = doc.beside.allow_todo;
    let reason = doc
        .required(t, "reason", at, "allow-list entry", reviewed)
        .and_then(|v| {
            let s = doc.nonempty_string(v, "reason")?;
            if s.contains("TODO") && !allow_todo {
                doc.error(
                    v.span,
                    Code::TodoReason,
                    "the reason still says TODO: review the grant and say what it is for (or pass --allow-todo to try an unreviewed list)",
                );
                return None;
            }
            Some(s)
        });
    let bug = doc
        .required(t, "bug", at, "allow-list entry", reviewed)
        .and_then(|v| {
            // A bootstrapped list has `bug = ""` until it is reviewed.
            if allow_todo {
                doc.string(v, "bug")
            } else {
                doc.nonempty_string(v, "bug")
            }
        });
    let approves = match get(t, "unresolved") {
        Some(u) => {
            for k in ["path", "owner", "group", "mode", "capabilities"] {
                if let Some(v) = get(t, k) {
                    doc.error(
                        v.span,
                        Code::ConflictingKeys,
                        format!("an entry approves either an unresolved command or a state: `{k}` cannot go with `unresolved`"),
                    );
                }
            }
            unresolved(doc, u)
        }
        None => state(doc, t, at),
    };
    if doc.failed_since(mark) {
        return None;
    }
    let (package, package_glob) = package?;
    Some(Allow {
        package,
        package_glob,
        approves: approves?,
        reason: reason?,
        bug: bug?,
        location,
    })
}

fn unresolved(doc: &mut Doc<'_>, value: &Value<'_>) -> Option<Approves> {
    let t = doc.table(value, "unresolved")?;
    doc.unknown_keys(t, &UNRESOLVED_KEYS, "in `unresolved`", &UNRESOLVED_KEYS);
    let names: Vec<&str> = ScriptName::ALL.iter().map(|s| s.as_str()).collect();
    let script = doc
        .required(t, "script", value.span, "`unresolved`", "")
        .and_then(|v| doc.one_of(v, "script", &names))
        .and_then(|s| ScriptName::from_member(&s));
    let command = doc
        .required(t, "command", value.span, "`unresolved`", "")
        .and_then(|v| doc.nonempty_string(v, "command"));
    Some(Approves::Unresolved {
        script: script?,
        command: normalise_command(&command?),
    })
}

fn state(
    doc: &mut Doc<'_>,
    t: &toml_span::value::Table<'_>,
    at: toml_span::Span,
) -> Option<Approves> {
    let what = "allow-list entry";
    let why = " (or `unresolved`, to approve a command)";
    let path = doc.required(t, "path", at, what, why).and_then(|v| {
        let s = doc.nonempty_string(v, "path")?;
        if !s.starts_with('/') {
            doc.error(
                v.span,
                Code::BadValue,
                format!("`path` must be absolute, found `{s}`"),
            );
            return None;
        }
        Some(s)
    });
    let owner = doc
        .required(t, "owner", at, what, "")
        .and_then(|v| doc.nonempty_string(v, "owner"));
    let group = doc
        .required(t, "group", at, what, "")
        .and_then(|v| doc.nonempty_string(v, "group"));
    let mode = doc.required(t, "mode", at, what, "").and_then(|v| {
        let s = doc.string(v, "mode")?;
        if (3..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            u32::from_str_radix(&s, 8).ok()
        } else {
            doc.error(
                v.span,
                Code::BadValue,
                format!("mode `{s}` must be 3 or 4 octal digits, e.g. \"4755\""),
            );
            None
        }
    });
    let caps = match get(t, "capabilities") {
        None => Some(None),
        Some(v) => doc
            .string(v, "capabilities")
            .and_then(|s| match CapSet::from_text(&s) {
                Ok(c) if c.is_empty() => Some(None),
                Ok(c) => Some(Some(c)),
                Err(e) => {
                    doc.error(
                        v.span,
                        Code::UnknownCapability,
                        format!("capabilities `{s}`: {e} (write them as getcap prints them, e.g. cap_net_raw=ep)"),
                    );
                    None
                }
            }),
    };
    Some(Approves::State {
        path: path?,
        mode: mode?,
        owner: owner?,
        group: group?,
        caps: caps?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, allow_todo: bool) -> (AllowList, Vec<String>) {
        let mut doc = Doc::new("allow.toml", text);
        doc.beside.allow_todo = allow_todo;
        let list = parse(&mut doc);
        let errors = doc
            .finish()
            .into_iter()
            .map(|d| format!("{} {} {}", d.location, d.code, d.message))
            .collect();
        (list, errors)
    }

    #[test]
    fn every_error_at_once_with_its_place() {
        let (_, errors) = load(
            r#"
[[allow]]
package = "ping"
path = "bin/ping"
owner = "root"
mode = "47555"
capabilities = "cap_net_rawx=ep"
reason = "TODO: review"
bug = ""
colour = "red"
"#,
            false,
        );
        let text = errors.join("\n");
        for want in [
            "allow.toml:4:9 bad-value `path` must be absolute",
            "allow.toml:6:9 bad-value mode `47555`",
            "allow.toml:7:17 unknown-capability",
            "allow.toml:8:11 todo-reason",
            "allow.toml:9:7 bad-value `bug` must not be empty",
            "allow.toml:10:1 unknown-key unknown key `colour`",
            "allow.toml:2:1 missing-key allow-list entry has no `group`",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn a_bootstrap_loads_only_when_asked() {
        let text = r#"
[[allow]]
package = "ping"
path = "/bin/ping"
owner = "root"
group = "root"
mode = "0755"
capabilities = "cap_net_raw=ep"
reason = "TODO: review"
bug = ""
"#;
        assert!(!load(text, false).1.is_empty());
        let (list, errors) = load(text, true);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            list.entries[0].describe(),
            "ping /bin/ping 0755 root:root cap_net_raw=ep"
        );
    }

    #[test]
    fn an_entry_approves_less_and_nothing_more() {
        let (list, errors) = load(
            r#"
[[allow]]
package = "iputils-*"
path = "/bin/ping"
owner = "root"
group = "root"
mode = "0755"
capabilities = "cap_net_raw=ep"
reason = "raw ICMP sockets"
bug = "b1"
"#,
            false,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let e = &list.entries[0];
        let st = |mode: u32, caps: &str| EndState {
            mode: Operand::Known(mode),
            owner: Operand::Known("root".into()),
            group: Operand::Known("root".into()),
            caps: Operand::Known(CapSet::from_text(caps).ok().filter(|c| !c.is_empty())),
            unknown: vec![],
            via: vec![],
            rerun: false,
        };
        assert!(e.approves_known("iputils-ping", "/usr/bin/ping", &st(0o755, "cap_net_raw=p")));
        assert!(!e.approves_known("iputils-ping", "/usr/bin/ping", &st(0o4755, "")));
        assert!(!e.approves_known(
            "iputils-ping",
            "/usr/bin/ping",
            &st(0o755, "cap_net_raw,cap_net_admin=ep")
        ));
        assert!(!e.approves_known("fping", "/usr/bin/ping", &st(0o755, "")));
        assert!(!e.approves_known("iputils-ping", "/usr/bin/ping6", &st(0o755, "")));
    }

    #[test]
    fn unresolved_commands_match_by_text_not_layout() {
        let (list, errors) = load(
            r#"
[[allow]]
package = "exim4-base"
unresolved = { script = "postinst", command = "chmod  $MODE   $FILE" }
reason = "re-applies the admin's statoverrides"
bug = "b2"

[[allow]]
package = "x"
path = "/x"
unresolved = { script = "install", command = "" }
reason = "r"
bug = "b"
"#,
            false,
        );
        let text = errors.join("\n");
        assert!(text.contains("conflicting-keys"), "{text}");
        assert!(text.contains("script `install` is not one of"), "{text}");
        assert!(text.contains("`command` must not be empty"), "{text}");
        assert_eq!(list.entries.len(), 1);
        let c = Change {
            script: ScriptName::Postinst,
            line: 40,
            action: debgate_facts::change::Action::Chmod {
                mode: Operand::Unresolved("$MODE".into()),
            },
            target: debgate_facts::change::Target::Unresolved("$FILE".into()),
            conditional: true,
            recursive: false,
            command: normalise_command("chmod $MODE \\\n  $FILE").into(),
        };
        assert!(list.entries[0].approves_change("exim4-base", &c));
        assert!(!list.entries[0].approves_change("exim4", &c));
    }
}
