//! The sandbox: a per-case directory of shell helpers shared by every sequence, a fresh scratch
//! root per sequence, and the `bwrap` command line that runs one sequence's driver in it.
//!
//! Layout inside the sandbox (the scratch directory is `/`):
//!
//! - a merged-/usr root: `/bin`, `/sbin`, `/lib`, `/lib64` are links into `/usr`;
//!   `/etc/passwd` and `/etc/group` hold every name the case uses; `/var/lib/dpkg/info` holds
//!   the scripts and `/var/lib/dpkg/statoverride` the override database;
//! - `/.oracle/bin`: the host's real tools, each bound read-only; their shared objects are bound
//!   at their own paths (`/usr/lib/x86_64-linux-gnu/...`), and dash at `/usr/bin/sh`;
//! - `/.oracle/wrap` (first in `PATH`, and linked from `/usr/bin/chmod` etc.): the privilege
//!   commands with failure injection, `dpkg-statoverride` and `dpkg-divert` stand-ins, and
//!   stubs that succeed (`adduser`, `systemctl`, ...);
//! - `/.oracle/stub` (last in `PATH`): a stub for every other word the scripts contain, which
//!   logs its name and fails or succeeds like an injected failure;
//! - `/.oracle/lib`: the shell libraries (generator, unpack, debconf's `confmodule`);
//! - `/.oracle/state`: the sequence's generator state, logs and results.

use crate::debconf;
use crate::host::{merged_usr, HostTools};
use debgate_writer::case::{
    case_package_name, group_id, state_case_spec, unpack_order, user_id, StateCase,
};
use debgate_writer::EntryKind;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Single-quote `s` for the shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The privilege commands whose every call may fail (injected) instead of running.
pub const INJECTED: &[&str] = &["chmod", "chown", "chgrp", "install", "setcap"];

/// Commands that always succeed and do nothing but log.
pub const SUCCEEDING: &[&str] = &[
    "adduser",
    "addgroup",
    "useradd",
    "groupadd",
    "usermod",
    "deluser",
    "delgroup",
    "deb-systemd-helper",
    "deb-systemd-invoke",
    "systemctl",
    "update-rc.d",
    "invoke-rc.d",
    "update-alternatives",
    "ucf",
    "ucfr",
    "ldconfig",
    "dpkg-maintscript-helper",
    "dpkg-trigger",
];

/// Which of the absolute-path names (`/usr/sbin/NAME` rather than `/usr/bin/NAME`) scripts
/// may call the wrapped commands by.
const SBIN: &[&str] = &[
    "setcap",
    "getcap",
    "adduser",
    "addgroup",
    "useradd",
    "groupadd",
    "usermod",
    "deluser",
    "delgroup",
    "update-rc.d",
    "invoke-rc.d",
    "ldconfig",
];

/// base-passwd's users and groups, and a few every Debian system has; the sandbox adds every
/// name the case mentions.
const BASE_USERS: &[&str] = &[
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "_apt", "nobody",
];
const BASE_GROUPS: &[&str] = &[
    "root", "daemon", "bin", "sys", "adm", "tty", "disk", "lp", "mail", "news", "uucp", "man",
    "proxy", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip",
    "www-data", "backup", "operator", "list", "irc", "src", "shadow", "utmp", "video", "sasl",
    "plugdev", "staff", "games", "users", "nogroup", "netdev",
];

pub const PATH: &str = "/.oracle/wrap:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:\
                        /bin:/.oracle/bin:/.oracle/stub";

const COMMON_SH: &str = r#"# debgate oracle: the sequence's generator and log
S=/.oracle/state
R=/.oracle/bin
oracle_rand() {
    read -r __s < "$S/rng" || __s=1
    __s=$(( (__s * 1103515245 + 12345) % 2147483648 ))
    echo "$__s" > "$S/rng"
    __r=$(( __s >> 16 ))
}
oracle_fails() {
    read -r __p < "$S/fail" || __p=0
    oracle_rand
    [ $(( __r % 100 )) -lt "$__p" ]
}
oracle_log() { echo "$*" >> "$S/log"; }
"#;

const STUB_OK: &str = r#"#!/bin/sh
. /.oracle/lib/common.sh
oracle_log "stub ${0##*/} $*"
exit 0
"#;

const STUB_ANY: &str = r#"#!/bin/sh
. /.oracle/lib/common.sh
if oracle_fails; then oracle_log "stub ${0##*/} $* -> fails"; exit 1; fi
oracle_log "stub ${0##*/} $*"
exit 0
"#;

const STATOVERRIDE: &str = r#"#!/bin/sh
# debgate oracle: dpkg-statoverride over /var/lib/dpkg/statoverride, as dpkg 1.21 behaves
. /.oracle/lib/common.sh
db=/var/lib/dpkg/statoverride
oracle_log "dpkg-statoverride $*"
if oracle_fails; then
    oracle_log "  -> injected failure"
    echo "dpkg-statoverride: error: injected failure" >&2
    exit 2
fi
act= update= force=
while [ $# -gt 0 ]; do
    case $1 in
    --add|--remove|--list) act=${1#--} ;;
    --update) update=1 ;;
    --force|--force-all|--force-statoverride-add|--force-statoverride-remove) force=1 ;;
    --admindir|--root|--instdir) shift ;;
    --) shift; break ;;
    -*) ;;
    *) break ;;
    esac
    shift
done
lookup() {
    while read -r lu lg lm lp; do
        if [ "$lp" = "$1" ]; then return 0; fi
    done < "$db"
    return 1
}
drop() {
    keep=
    while read -r lu lg lm lp; do
        if [ "$lp" != "$1" ]; then keep="$keep$lu $lg $lm $lp
"; fi
    done < "$db"
    printf '%s' "$keep" > "$db"
}
case $act in
add)
    if [ $# -ne 4 ]; then echo "dpkg-statoverride: error: --add needs four arguments" >&2; exit 2; fi
    u=$1 g=$2 m=$3 p=$4
    case $u in '#'*) ;; *) if ! $R/getent passwd "$u" >/dev/null; then
        echo "dpkg-statoverride: error: user '$u' does not exist" >&2; exit 2; fi ;; esac
    case $g in '#'*) ;; *) if ! $R/getent group "$g" >/dev/null; then
        echo "dpkg-statoverride: error: group '$g' does not exist" >&2; exit 2; fi ;; esac
    case $m in ''|*[!0-7]*) echo "dpkg-statoverride: error: illegal mode '$m'" >&2; exit 2 ;; esac
    m=$(printf '%o' $((0$m)))
    if lookup "$p"; then
        if [ -z "$force" ]; then
            echo "dpkg-statoverride: error: an override for '$p' already exists; aborting" >&2
            exit 2
        fi
        drop "$p"
    fi
    echo "$u $g $m $p" >> "$db"
    if [ -n "$update" ]; then
        if [ -e "$p" ]; then
            $R/chown "${u#\#}:${g#\#}" "$p" || exit 2
            $R/chmod "$m" "$p" || exit 2
        else
            echo "dpkg-statoverride: warning: --update given but $p does not exist" >&2
        fi
    fi
    exit 0 ;;
remove)
    if [ $# -ne 1 ]; then echo "dpkg-statoverride: error: --remove needs one argument" >&2; exit 2; fi
    if lookup "$1"; then drop "$1"; exit 0; fi
    echo "dpkg-statoverride: warning: no override present" >&2
    if [ -n "$force" ]; then exit 0; fi
    exit 2 ;;
list)
    found=1
    while read -r lu lg lm lp; do
        if [ $# -eq 0 ]; then echo "$lu $lg $lm $lp"; found=0; continue; fi
        for glob in "$@"; do
            case $lp in $glob) echo "$lu $lg $lm $lp"; found=0; break ;; esac
        done
    done < "$db"
    exit $found ;;
*)
    echo "dpkg-statoverride: error: need an action option" >&2
    exit 2 ;;
esac
"#;

const DIVERT: &str = r#"#!/bin/sh
. /.oracle/lib/common.sh
oracle_log "dpkg-divert $*"
while [ $# -gt 0 ]; do
    case $1 in
    --truename) echo "$2"; exit 0 ;;
    --list|--listpackage) exit 0 ;;
    esac
    shift
done
exit 0
"#;

fn wrapper(name: &str) -> String {
    format!(
        "#!/bin/sh\n. /.oracle/lib/common.sh\n\
         if oracle_fails; then\n    oracle_log \"{name} $* -> injected failure\"\n    \
         echo \"{name}: injected failure\" >&2\n    exit 1\nfi\n\
         oracle_log \"{name} $*\"\nexec /.oracle/bin/{name} \"$@\"\n"
    )
}

/// Unpack functions: the same for every sequence of a case.
const UNPACK_FUNCTIONS: &str = r#"# debgate oracle: dpkg's unpack of the case's data.tar
# Like dpkg, every new object is chowned (even to root:root) and given its exact mode: a new
# object in a setgid directory would otherwise keep the directory's group, and GNU chmod keeps
# a directory's setgid bit unless the octal mode has a fifth digit (`00755`).
oracle_override() {
    while read -r __lu __lg __lm __lp; do
        if [ "$__lp" = "$1" ]; then __ou=${__lu#\#} __og=${__lg#\#} __om=$__lm; return 0; fi
    done < /var/lib/dpkg/statoverride
    return 1
}
oracle_dir() {  # PATH MODE USER GROUP: an existing directory is left as it is
    if [ -d "$1" ]; then return 0; fi
    if [ -e "$1" ] || [ -L "$1" ]; then $R/rm -f "$1"; fi
    $R/mkdir "$1"
    if oracle_override "$1"; then set -- "$1" "$__om" "$__ou" "$__og"; fi
    $R/chown "$3:$4" "$1"
    $R/chmod "0$2" "$1"
}
oracle_dirs() {  # MODE USER GROUP PATH...: oracle_dir on each, in order, with one mkdir
    __m=$1 __u=$2 __g=$3
    shift 3
    if [ -s /var/lib/dpkg/statoverride ]; then
        for __d; do oracle_dir "$__d" "$__m" "$__u" "$__g"; done
        return 0
    fi
    for __d; do
        shift
        if [ -d "$__d" ]; then continue; fi
        if [ -e "$__d" ] || [ -L "$__d" ]; then $R/rm -f "$__d"; fi
        set -- "$@" "$__d"
    done
    if [ $# -eq 0 ]; then return 0; fi
    $R/mkdir -- "$@"
    $R/chown -- "$__u:$__g" "$@"
    $R/chmod -- "0$__m" "$@"
}
oracle_file() {  # PATH MODE USER GROUP [CAPS]: a new inode renamed over the old name
    __n="$1.dpkg-new"
    if [ -e "$__n" ] || [ -L "$__n" ]; then $R/rm -rf "$__n"; fi
    printf '#!/bin/sh\n' > "$__n"
    __p=$1
    if oracle_override "$1"; then set -- "$__n" "$__om" "$__ou" "$__og" "$5"; else set -- "$__n" "$2" "$3" "$4" "$5"; fi
    $R/chown "$3:$4" "$1"
    $R/chmod "$2" "$1"
    if [ -n "$5" ]; then $R/setcap "$5" "$1"; fi
    $R/mv -fT "$1" "$__p"
}
oracle_symlink() {  # PATH TARGET USER GROUP
    __n="$1.dpkg-new"
    $R/rm -rf "$__n"
    $R/ln -s "$2" "$__n"
    $R/chown -h "$3:$4" "$__n"
    $R/mv -fT "$__n" "$1"
}
oracle_hardlink() {  # PATH TARGET
    $R/rm -f "$1"
    $R/ln "$2" "$1"
    if oracle_override "$1"; then $R/chown "$__ou:$__og" "$1"; $R/chmod "$__om" "$1"; fi
}
"#;

/// Per-case content shared (read-only) by every sequence.
pub struct CaseSandbox {
    /// Holds `lib/`, `wrap/` and `stub/`.
    dir: tempfile::TempDir,
    package: String,
    /// `name` -> uid/gid, for `/etc/passwd` and `/etc/group`.
    users: BTreeMap<String, u32>,
    groups: BTreeMap<String, u32>,
    /// Paths whose state is recorded whatever happens: the case's files.
    case_paths: Vec<String>,
    /// Maintainer scripts (and `templates`) written to `/var/lib/dpkg/info`.
    scripts: BTreeMap<String, String>,
    /// The ro-bind mounts: host path, sandbox path.
    binds: Vec<(PathBuf, String)>,
    /// Absolute names linked to wrappers or real tools: sandbox path -> link target.
    links: Vec<(String, String)>,
}

impl CaseSandbox {
    pub fn new(case: &StateCase, host: &HostTools) -> Result<CaseSandbox, String> {
        let dir = tempfile::Builder::new()
            .prefix("debgate-oracle-case-")
            .tempdir_in(temp_parent())
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        let io = |what: &str, e: io::Error| format!("{what}: {e}");
        let lib = dir.path().join("lib");
        let wrap = dir.path().join("wrap");
        let stub = dir.path().join("stub");
        for d in [&lib, &wrap, &stub] {
            fs::create_dir(d).map_err(|e| io("mkdir", e))?;
        }
        let write = |path: PathBuf, text: &str, exec: bool| -> Result<(), String> {
            fs::write(&path, text).map_err(|e| io(&path.display().to_string(), e))?;
            let mode = if exec { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .map_err(|e| io(&path.display().to_string(), e))
        };
        write(lib.join("common.sh"), COMMON_SH, false)?;
        write(lib.join("stub-ok"), STUB_OK, true)?;
        write(lib.join("stub-any"), STUB_ANY, true)?;
        let questions = case
            .scripts
            .get("templates")
            .map(|t| debconf::parse_templates(t))
            .unwrap_or_default();
        write(
            lib.join("confmodule"),
            &debconf::confmodule(&questions),
            false,
        )?;
        write(lib.join("unpack.sh"), &unpack_script(case)?, false)?;
        for name in INJECTED {
            write(wrap.join(name), &wrapper(name), true)?;
        }
        write(wrap.join("dpkg-statoverride"), STATOVERRIDE, true)?;
        write(wrap.join("dpkg-divert"), DIVERT, true)?;
        for name in SUCCEEDING {
            symlink("/.oracle/lib/stub-ok", wrap.join(name)).map_err(|e| io("symlink", e))?;
        }

        let real: BTreeSet<&str> = host.tools.iter().map(|(n, _)| n.as_str()).collect();
        let wrapped: BTreeSet<&str> = INJECTED
            .iter()
            .chain(SUCCEEDING)
            .copied()
            .chain(["dpkg-statoverride", "dpkg-divert", "sh"])
            .collect();
        let words = script_words(case);
        for w in &words.commands {
            if !real.contains(w.as_str()) && !wrapped.contains(w.as_str()) {
                symlink("/.oracle/lib/stub-any", stub.join(w)).map_err(|e| io("symlink", e))?;
            }
        }

        // Users and groups: the base set, the case's owners, every name-like script word.
        let mut user_names: BTreeSet<String> = BASE_USERS.iter().map(|s| s.to_string()).collect();
        let mut group_names: BTreeSet<String> = BASE_GROUPS.iter().map(|s| s.to_string()).collect();
        for f in &case.files {
            user_names.insert(f.owner.clone());
            group_names.insert(f.group.clone());
        }
        user_names.extend(words.names.iter().cloned());
        group_names.extend(words.names.iter().cloned());
        let users = assign_ids(&user_names, user_id);
        let groups = assign_ids(&group_names, group_id);

        let case_paths: Vec<String> = case.files.iter().map(|f| f.path.clone()).collect();
        let taken = |p: &str| case_paths.iter().any(|c| c == p);
        // Nothing the case ships may be hidden under a directory bind.
        let free_dir = |d: &str| !case_paths.iter().any(|c| c.starts_with(&format!("{d}/")));

        // The real tools and their libraries are copied into this directory once per case and
        // bound as a few directories: one bind mount per file costs more than the scripts.
        let mut binds: Vec<(PathBuf, String)> = Vec::new();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).map_err(|e| io("mkdir", e))?;
        for (name, path) in &host.tools {
            fs::copy(path, bin.join(name)).map_err(|e| io(&path.display().to_string(), e))?;
        }
        let mut lib_dirs: BTreeMap<String, Vec<&PathBuf>> = BTreeMap::new();
        for lib in &host.libs {
            let dest = merged_usr(lib);
            let parent = dest
                .parent()
                .map_or("/".into(), |p| p.to_string_lossy().into_owned());
            lib_dirs.entry(parent).or_default().push(lib);
        }
        for (n, (dest_dir, libs)) in lib_dirs.iter().enumerate() {
            if free_dir(dest_dir) {
                let copy = dir.path().join(format!("libs{n}"));
                fs::create_dir(&copy).map_err(|e| io("mkdir", e))?;
                // It stands for a system directory, which a case may ship too: 0755 as dpkg
                // and the base system leave it, not the temporary directory's 0700.
                fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))
                    .map_err(|e| io("chmod", e))?;
                for lib in libs {
                    let name = lib.file_name().unwrap_or_default();
                    fs::copy(lib, copy.join(name))
                        .map_err(|e| io(&lib.display().to_string(), e))?;
                }
                binds.push((copy, dest_dir.clone()));
            } else {
                for lib in libs {
                    let dest = merged_usr(lib).to_string_lossy().into_owned();
                    if !taken(&dest) {
                        binds.push(((*lib).clone(), dest));
                    }
                }
            }
        }
        let dash = host.tool("dash").ok_or("no dash")?;
        for p in ["/usr/bin/sh", "/usr/bin/dash"] {
            if !taken(p) {
                binds.push((dash.to_path_buf(), p.to_string()));
            }
        }
        if let Some(bash) = host.tool("bash") {
            if !taken("/usr/bin/bash") {
                binds.push((bash.to_path_buf(), "/usr/bin/bash".into()));
            }
        }

        let mut links = Vec::new();
        let mut wrapped_names: Vec<&str> = INJECTED.to_vec();
        wrapped_names.extend(SUCCEEDING);
        wrapped_names.extend(["dpkg-statoverride", "dpkg-divert"]);
        for name in wrapped_names {
            let dir = if SBIN.contains(&name) { "sbin" } else { "bin" };
            links.push((
                format!("/usr/{dir}/{name}"),
                format!("/.oracle/wrap/{name}"),
            ));
        }
        for (name, _) in &host.tools {
            if INJECTED.contains(&name.as_str()) || ["dash", "bash"].contains(&name.as_str()) {
                continue;
            }
            let dir = if SBIN.contains(&name.as_str()) {
                "sbin"
            } else {
                "bin"
            };
            links.push((format!("/usr/{dir}/{name}"), format!("/.oracle/bin/{name}")));
        }
        links.push((
            "/usr/share/debconf/confmodule".into(),
            "/.oracle/lib/confmodule".into(),
        ));
        links.push((
            "/usr/share/debconf/confmodule.sh".into(),
            "/.oracle/lib/confmodule".into(),
        ));
        links.retain(|(p, _)| !taken(p));

        let package = case_package_name(case);
        let scripts = case.scripts.clone();
        Ok(CaseSandbox {
            dir,
            package,
            users,
            groups,
            case_paths,
            scripts,
            binds,
            links,
        })
    }

    pub fn package(&self) -> &str {
        &self.package
    }

    pub fn has_script(&self, name: &str) -> bool {
        self.scripts.contains_key(name)
    }

    /// Lay out a fresh scratch root for one sequence; `driver` is the sequence's driver script.
    pub fn scratch(&self, driver: &str, rng_seed: u32, fail_percent: u32) -> io::Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("debgate-oracle-root-")
            .tempdir_in(temp_parent())?;
        let root = dir.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755))?;
        for d in [
            "usr/bin",
            "usr/sbin",
            "usr/lib",
            "usr/lib64",
            "usr/share/debconf",
            "usr/local/bin",
            "usr/local/sbin",
            "etc",
            "var/lib/dpkg/info",
            "var/log",
            "var/cache",
            "root",
            "run",
            "tmp",
            ".oracle/state",
        ] {
            fs::create_dir_all(root.join(d))?;
        }
        fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777))?;
        // Mount points of the binds, made here as a base system has them (0755), since a case
        // may ship these directories too and bwrap would make them 0700.
        for (src, dest) in &self.binds {
            let rel = std::path::Path::new(dest.trim_start_matches('/'));
            let dir = if src.is_dir() {
                Some(rel)
            } else {
                rel.parent()
            };
            if let Some(dir) = dir {
                let mut at = root.to_path_buf();
                for part in dir.components() {
                    at.push(part);
                    if !at.exists() {
                        fs::create_dir(&at)?;
                        fs::set_permissions(&at, fs::Permissions::from_mode(0o755))?;
                    }
                }
            }
        }
        for (name, target) in [
            ("bin", "usr/bin"),
            ("sbin", "usr/sbin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            symlink(target, root.join(name))?;
        }
        let mut passwd = String::new();
        let nogroup = self.groups.get("nogroup").copied().unwrap_or(65534);
        for (name, uid) in &self.users {
            let gid = self.groups.get(name).copied().unwrap_or(nogroup);
            let home = if name == "root" {
                "/root"
            } else {
                "/nonexistent"
            };
            passwd.push_str(&format!("{name}:x:{uid}:{gid}::{home}:/usr/sbin/nologin\n"));
        }
        let mut group = String::new();
        for (name, gid) in &self.groups {
            group.push_str(&format!("{name}:x:{gid}:\n"));
        }
        fs::write(root.join("etc/passwd"), passwd)?;
        fs::write(root.join("etc/group"), group)?;
        fs::write(
            root.join("etc/nsswitch.conf"),
            "passwd: files\ngroup: files\nshadow: files\n",
        )?;
        fs::write(root.join("var/lib/dpkg/statoverride"), "")?;
        for (name, text) in &self.scripts {
            let path = root.join(format!("var/lib/dpkg/info/{}.{name}", self.package));
            fs::write(&path, text)?;
            let mode = if name == "templates" { 0o644 } else { 0o755 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
        for (path, target) in &self.links {
            let p = root.join(path.trim_start_matches('/'));
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            symlink(target, p)?;
        }
        let state = root.join(".oracle/state");
        fs::write(state.join("rng"), format!("{rng_seed}\n"))?;
        fs::write(state.join("fail"), format!("{fail_percent}\n"))?;
        fs::write(state.join("driver"), driver)?;
        for f in ["runs", "log", "out"] {
            fs::write(state.join(f), "")?;
        }
        Ok(Scratch { dir })
    }

    /// The command that runs the driver of `scratch` in the sandbox, killed after `limit`.
    pub fn command(&self, host: &HostTools, scratch: &Scratch, limit: Duration) -> Command {
        let mut cmd = Command::new(&host.timeout);
        cmd.arg("-s")
            .arg("KILL")
            .arg(format!("{}", limit.as_secs().max(1)))
            .arg(&host.bwrap)
            .arg("--bind")
            .arg(scratch.dir.path())
            .arg("/");
        for sub in ["bin", "lib", "wrap", "stub"] {
            cmd.arg("--ro-bind")
                .arg(self.dir.path().join(sub))
                .arg(format!("/.oracle/{sub}"));
        }
        for (src, dest) in &self.binds {
            cmd.arg("--ro-bind").arg(src).arg(dest);
        }
        cmd.args([
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
            "--new-session",
            "--cap-add",
            "ALL",
            "--chdir",
            "/",
            "/bin/sh",
            "/.oracle/state/driver",
        ]);
        cmd.env_clear()
            .env("PATH", PATH)
            .env("HOME", "/root")
            .env("LANG", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Paths recorded at the end of every sequence, besides the new ones.
    pub fn case_paths(&self) -> &[String] {
        &self.case_paths
    }
}

/// Where temporary roots go: `$DEBGATE_ORACLE_TMP`, else `/dev/shm` (a tmpfs, which keeps
/// `security.capability` and makes a sequence several times faster than a disk), else the
/// system's temporary directory.
fn temp_parent() -> PathBuf {
    if let Some(dir) = std::env::var_os("DEBGATE_ORACLE_TMP") {
        return PathBuf::from(dir);
    }
    let shm = PathBuf::from("/dev/shm");
    let writable =
        fs::metadata(&shm).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0);
    if writable {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// One sequence's root, removed on drop.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn state_file(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(".oracle/state").join(name)).unwrap_or_default()
    }
}

/// Ids for names: the stable id from the writer, bumped past any id already taken.
fn assign_ids(names: &BTreeSet<String>, id: fn(&str) -> u32) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let mut used = BTreeSet::new();
    // Fixed ids first, so a base name never moves because of a case's name.
    let mut ordered: Vec<&String> = names.iter().collect();
    ordered.sort_by_key(|n| (id(n) >= 10_000, n.as_str()));
    for n in ordered {
        let mut v = id(n);
        while !used.insert(v) {
            v += 1;
        }
        out.insert(n.clone(), v);
    }
    out
}

struct Words {
    /// Words that may be run as commands.
    commands: BTreeSet<String>,
    /// Words that may be user or group names.
    names: BTreeSet<String>,
}

fn script_words(case: &StateCase) -> Words {
    let mut commands = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (key, text) in &case.scripts {
        if key == "templates" {
            continue;
        }
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || "_.+-:=".contains(c))) {
            for part in token.split(['=', ':']) {
                let cmd_like = part.len() <= 64
                    && part
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !part.chars().all(|c| c.is_ascii_digit());
                if cmd_like && commands.len() < 4000 {
                    commands.insert(part.to_string());
                }
            }
            for part in token.split(['=', ':', '.']) {
                let part = part
                    .strip_prefix("-o")
                    .or_else(|| part.strip_prefix("-g"))
                    .unwrap_or(part);
                let name_like = !part.is_empty()
                    && part.len() <= 32
                    && part
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c));
                if name_like && names.len() < 4000 {
                    names.insert(part.to_string());
                }
            }
        }
    }
    Words { commands, names }
}

/// `unpack.sh`: the functions, then `oracle_unpack` with one call per data.tar entry in the
/// order a tar extraction meets them.
fn unpack_script(case: &StateCase) -> Result<String, String> {
    let spec = state_case_spec(case).map_err(|e| e.to_string())?;
    let caps: BTreeMap<&str, &str> = case
        .files
        .iter()
        .filter_map(|f| Some((f.path.as_str(), f.caps.as_deref()?)))
        .collect();
    let mut s = String::from(UNPACK_FUNCTIONS);
    s.push_str("oracle_unpack() {\n");
    // Directories in a row with the same mode and owner go in one `oracle_dirs` call (one
    // mkdir, chown and chmod for all): a real package has hundreds, and three processes for
    // each would cost more than its scripts.
    let mut dirs: Option<(String, Vec<String>)> = None;
    let flush = |s: &mut String, dirs: &mut Option<(String, Vec<String>)>| {
        if let Some((attrs, paths)) = dirs.take() {
            s.push_str(&format!("    oracle_dirs {attrs} \\\n"));
            for p in &paths {
                s.push_str(&format!("        {} \\\n", sh_quote(p)));
            }
            s.push_str("        ;\n");
        }
    };
    for f in unpack_order(&spec.files) {
        if f.path == "/" {
            continue;
        }
        let p = sh_quote(&f.path);
        let (u, g) = (sh_quote(&f.owner), sh_quote(&f.group));
        let mode = format!("{:04o}", f.mode);
        let target = sh_quote(f.link_target.as_deref().unwrap_or_default());
        if f.kind == EntryKind::Dir {
            let attrs = format!("{mode} {u} {g}");
            match &mut dirs {
                Some((a, paths)) if *a == attrs && paths.len() < 500 => paths.push(f.path.clone()),
                _ => {
                    flush(&mut s, &mut dirs);
                    dirs = Some((attrs, vec![f.path.clone()]));
                }
            }
            continue;
        }
        flush(&mut s, &mut dirs);
        let line = match f.kind {
            EntryKind::Dir => unreachable!("directories are batched above"),
            EntryKind::File => format!(
                "oracle_file {p} {mode} {u} {g} {}",
                sh_quote(caps.get(f.path.as_str()).copied().unwrap_or_default())
            ),
            EntryKind::Symlink => format!("oracle_symlink {p} {target} {u} {g}"),
            EntryKind::HardLink => format!("oracle_hardlink {p} {target}"),
            other => return Err(format!("{}: cannot unpack a {}", f.path, other.as_str())),
        };
        s.push_str("    ");
        s.push_str(&line);
        s.push('\n');
    }
    flush(&mut s, &mut dirs);
    s.push_str("    :\n}\n");
    Ok(s)
}
