//! Each file's effective state after installation: the **set** of states a successfully
//! configured package can leave it in, computed from data.tar and the paths of every counted
//! maintainer-script run (ARCHITECTURE.md, "The effective-state model").

use debgate_facts::caps::CapSet;
use debgate_facts::change::{Action, Change, ModeSpec, Operand, Target};
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::symlinks::Links;
use debgate_facts::{EntryKind, Package, ScriptName};
use debgate_script::{Analysis, End, Step};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Where a fact came from: `data.tar` or `postinst:14`.
pub const FROM_DATA: &str = "data.tar";

/// Default for the number of distinct states kept per file; past it the rest are joined into one
/// state whose attributes are unknown (so rules fail closed rather than pass on a guess).
pub const MAX_STATES_PER_FILE: usize = 4096;

/// An attribute of a state: known, or unknown with the reason (`mode set by postinst:64 chmod
/// $mode: not resolved`).
pub type Attr<T> = Operand<T>;

/// One end state of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndState {
    #[serde(serialize_with = "mode_json")]
    pub mode: Attr<u32>,
    #[serde(serialize_with = "name_json")]
    pub owner: Attr<String>,
    #[serde(serialize_with = "name_json")]
    pub group: Attr<String>,
    /// `None` inside: no capabilities.
    #[serde(rename = "capabilities", serialize_with = "caps_json")]
    pub caps: Attr<Option<CapSet>>,
    /// What could not be resolved, and where.
    pub unknown: Vec<String>,
    /// The script lines that lead here, in order (`postinst:9 failed`, `postinst:19`).
    pub via: Vec<String>,
    /// Only a sequence of runs reaches this state (a re-run from what an earlier run left).
    pub rerun: bool,
}

fn mode_json<S: Serializer>(m: &Attr<u32>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Operand::Known(m) => s.serialize_str(&format!("{m:04o}")),
        Operand::Unresolved(_) => s.serialize_none(),
    }
}

fn name_json<S: Serializer>(m: &Attr<String>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Operand::Known(n) => s.serialize_str(n),
        Operand::Unresolved(_) => s.serialize_none(),
    }
}

fn caps_json<S: Serializer>(m: &Attr<Option<CapSet>>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Operand::Known(c) => s.serialize_str(&c.map(|c| c.to_text()).unwrap_or_default()),
        Operand::Unresolved(_) => s.serialize_none(),
    }
}

impl EndState {
    pub fn setuid(&self) -> Option<bool> {
        self.mode.known().map(|m| m & 0o4000 != 0)
    }

    pub fn setgid(&self) -> Option<bool> {
        self.mode.known().map(|m| m & 0o2000 != 0)
    }

    /// `4755 root:root cap_net_raw=ep`, with `?` for what is unknown: the form of
    /// `testdata/states` and of messages.
    pub fn text(&self) -> String {
        let mode = self
            .mode
            .known()
            .map_or("?".to_string(), |m| format!("{m:04o}"));
        let name = |a: &Attr<String>| a.known().cloned().unwrap_or_else(|| "?".into());
        let mut s = format!("{mode} {}:{}", name(&self.owner), name(&self.group));
        match &self.caps {
            Operand::Known(Some(c)) => {
                s.push(' ');
                s.push_str(&c.to_text());
            }
            Operand::Known(None) => {}
            Operand::Unresolved(_) => s.push_str(" ?"),
        }
        s
    }

    /// `via postinst:9 failed → postinst:19`, or `as shipped`.
    pub fn provenance(&self) -> String {
        if self.via.is_empty() {
            "as shipped".into()
        } else {
            format!("via {}", self.via.join(" → "))
        }
    }
}

/// The state of one path once the package is installed and configured: its possible end
/// states, and their join (the fields kept from before states were a set; see `join`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileState {
    pub path: String,
    /// `None` for a path only a script names, whose type data.tar doesn't say.
    pub kind: Option<EntryKind>,
    /// Join: the mode bits of every end state OR-ed.
    pub mode: u32,
    /// Join: the owner when every end state agrees, else `*`.
    pub owner: String,
    /// Join: the group when every end state agrees, else `*`.
    pub group: String,
    /// Join: every capability of any end state; `None` when none has any.
    pub caps: Option<CapSet>,
    /// The xattr in data.tar could not be decoded (a grant the kernel would refuse to apply,
    /// but a sign of tampering all the same).
    pub caps_error: Option<String>,
    /// True when there is more than one end state.
    pub conditional: bool,
    /// Provenance of every fact that may shape this file, in order.
    pub sources: Vec<String>,
    /// Every state the file can be left in.
    pub states: Vec<EndState>,
    /// The state as data.tar ships it, before scripts; `None` when data.tar has no such path.
    #[serde(skip)]
    pub shipped: Option<Box<EndState>>,
}

impl FileState {
    pub fn setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }

    pub fn setgid(&self) -> bool {
        self.mode & 0o2000 != 0
    }

    /// True when scripts may leave the file other than data.tar shipped it.
    pub fn changed_by_scripts(&self) -> bool {
        match &self.shipped {
            None => true,
            Some(s) => self.states.iter().any(|st| !st.same_attributes(s)),
        }
    }

    pub fn caps_text(&self) -> String {
        self.caps.map(|c| c.to_text()).unwrap_or_default()
    }

    /// `root:root 0755 cap_net_raw=ep`, the join's summary.
    pub fn summary(&self) -> String {
        let mut s = format!("{}:{} {:04o}", self.owner, self.group, self.mode);
        match self.caps {
            Some(c) => {
                s.push(' ');
                s.push_str(&c.to_text());
            }
            None => s.push_str(" no capabilities"),
        }
        if self.states.iter().any(|s| !s.unknown.is_empty()) {
            s.push_str(" (partly unknown)");
        }
        s
    }
}

impl EndState {
    /// This state after one more change (to ask "what if a change whose target static reading
    /// could not resolve hit this file?").
    pub fn after(&self, c: &Change, is_dir: bool) -> EndState {
        let k = key_of(self);
        let mut via = self.via.clone();
        via.push(c.source());
        let at = Place {
            is_dir,
            setgid_parent_group: None,
        };
        end_state(&apply(&k, c, &at), via, self.rerun)
    }
}

fn key_of(s: &EndState) -> Key {
    let r = |a: &Attr<String>| match a {
        Operand::Known(v) => Ok(v.clone()),
        Operand::Unresolved(e) => Err(e.clone()),
    };
    Key {
        mode: match &s.mode {
            Operand::Known(m) => Ok(*m),
            Operand::Unresolved(e) => Err(e.clone()),
        },
        owner: r(&s.owner),
        group: r(&s.group),
        caps: match &s.caps {
            Operand::Known(c) => Ok(c.map(tuple)),
            Operand::Unresolved(e) => Err(e.clone()),
        },
    }
}

impl EndState {
    /// The same mode, owner, group and capabilities, however each was reached.
    pub fn same_attributes(&self, other: &EndState) -> bool {
        self.mode == other.mode
            && self.owner == other.owner
            && self.group == other.group
            && self.caps == other.caps
    }
}

/// The effective state of every path in the package.
#[derive(Debug, Clone, Default)]
pub struct EffectiveState {
    pub files: BTreeMap<String, FileState>,
    /// Changes of counted runs whose target could not be resolved statically: they may touch
    /// any file of the set.
    pub unresolved: Vec<Change>,
    /// Files whose state set hit the bound and was joined.
    pub bounded: Vec<String>,
    /// Parts of counted scripts the analyzer could not read (`postinst:1: not a shell
    /// script`): what they do is missing from the states, so rules on this package fail closed.
    pub blind: Vec<String>,
}

impl EffectiveState {
    /// Look a path up, also under its usrmerge twin (`/bin/x` and `/usr/bin/x` are one file on
    /// a merged system).
    pub fn get(&self, path: &str) -> Option<&FileState> {
        self.files.get(path).or_else(|| {
            let canon = usrmerge_canonical(path);
            self.files
                .values()
                .find(|f| usrmerge_canonical(&f.path) == canon)
        })
    }

    /// Compute every file's end states from data.tar plus the analyses of the package's
    /// scripts.
    pub fn compute(pkg: &Package, analyses: &[(ScriptName, &Analysis)]) -> EffectiveState {
        let model = Model::new(pkg, analyses);
        let mut files = BTreeMap::new();
        let mut bounded = Vec::new();
        for key in model.keys() {
            let (fs, hit) = model.file(&key);
            if hit {
                bounded.push(key.clone());
            }
            files.insert(key, fs);
        }
        let mut unresolved = Vec::new();
        for c in &model.changes {
            if matches!(c.target, Target::Unresolved(_))
                && model.counted(c)
                && !unresolved.contains(*c)
            {
                unresolved.push((*c).clone());
            }
        }
        let blind = analyses
            .iter()
            .filter(|(s, _)| *s != ScriptName::Config)
            .flat_map(|(_, a)| a.blind())
            .map(|d| d.to_string())
            .collect();
        EffectiveState {
            files,
            unresolved,
            bounded,
            blind,
        }
    }
}

/// A step of a path, as it bears on one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FStep {
    Do(usize),
    Any(Vec<usize>),
    Failed(usize),
    Choice(Vec<Vec<FStep>>),
}

/// One counted run's path, with changes as indices into [`Model::changes`].
struct ModelPath {
    script: ScriptName,
    steps: Vec<Step>,
    end: End,
}

/// The package's scripts flattened: every change, every counted path.
struct Model<'a> {
    pkg: &'a Package,
    /// Entries by path: a package may ship tens of thousands.
    by_path: HashMap<&'a str, &'a debgate_facts::Entry>,
    changes: Vec<&'a Change>,
    paths: Vec<ModelPath>,
    has_postinst: bool,
    /// Hard-link groups: each shipped path to the canonical names of its inode.
    links: HashMap<String, Vec<String>>,
    /// Script targets that cross a directory the package ships as a symlink: literal target ->
    /// where it lands (`None`: it cannot be placed, so it may be any file).
    through: HashMap<String, Option<String>>,
}

/// A state under computation: the attributes, without provenance (which is kept beside).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    mode: Result<u32, String>,
    owner: Result<String, String>,
    group: Result<String, String>,
    caps: Result<Option<(u64, u64, u64)>, String>,
}

impl<'a> Model<'a> {
    fn new(pkg: &'a Package, analyses: &[(ScriptName, &'a Analysis)]) -> Model<'a> {
        let mut changes = Vec::new();
        let mut paths = Vec::new();
        for (script, a) in analyses {
            let off = changes.len();
            changes.extend(a.changes.iter());
            for run in &a.runs {
                for p in &run.paths {
                    let steps = offset(&p.steps, off);
                    paths.push(ModelPath {
                        script: *script,
                        steps,
                        end: p.end,
                    });
                }
            }
        }
        let has_postinst = analyses.iter().any(|(s, _)| *s == ScriptName::Postinst);
        // Hard links: a tar hard link names the first name of its inode.
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &pkg.entries {
            if e.kind == EntryKind::HardLink {
                if let Some(t) = &e.link_target {
                    let root = usrmerge_canonical(t);
                    let g = groups.entry(root.clone()).or_insert_with(|| vec![root]);
                    g.push(usrmerge_canonical(&e.path));
                }
            }
        }
        let mut links = HashMap::new();
        for g in groups.values() {
            for name in g {
                links.insert(name.clone(), g.clone());
            }
        }
        let package_links = Links::of(&pkg.entries);
        let mut through = HashMap::new();
        for t in changes.iter().filter_map(|c| c.target.path()) {
            if through.contains_key(t) {
                continue;
            }
            match package_links.resolve(t) {
                Ok(None) => {}
                r => {
                    through.insert(t.to_string(), r.ok().flatten().map(|r| r.path));
                }
            }
        }
        let by_path = pkg.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        Model {
            pkg,
            by_path,
            changes,
            paths,
            has_postinst,
            links,
            through,
        }
    }

    /// Where a script's literal target lands: through the package's symlinked directories
    /// (`None` when that cannot be known), else as written.
    fn lands(&self, t: &str) -> Option<String> {
        match self.through.get(t) {
            Some(r) => r.clone(),
            None => Some(t.to_string()),
        }
    }

    /// Does a change of this script shape the installed state at all?
    fn counted(&self, c: &Change) -> bool {
        !matches!(c.script, ScriptName::Config)
    }

    /// Every path with a state: data.tar's entries and the literal targets of counted changes.
    fn keys(&self) -> Vec<String> {
        let mut keys: BTreeSet<String> = self.pkg.entries.iter().map(|e| e.path.clone()).collect();
        let canon: BTreeSet<String> = keys.iter().map(|k| usrmerge_canonical(k)).collect();
        for c in &self.changes {
            if let (Target::Path(p), true) = (&c.target, self.counted(c)) {
                if matches!(c.action, Action::StatOverrideRemove) {
                    continue;
                }
                let Some(p) = self.lands(p) else { continue };
                if !canon.contains(&usrmerge_canonical(&p)) {
                    keys.insert(p);
                }
            }
        }
        keys.into_iter().collect()
    }

    /// How change `c` bears on the file `key` (canonical): `Some(true)` when it surely acts on
    /// this inode if it runs, `Some(false)` when it may (through another hard-linked name that
    /// an `install` may have replaced), `None` when not at all.
    fn bears(&self, c: &Change, key: &str) -> Option<bool> {
        let Target::Path(t) = &c.target else {
            return None;
        };
        if matches!(c.action, Action::StatOverrideRemove) {
            return None;
        }
        if matches!(c.action, Action::StatOverrideAdd { update: false, .. }) {
            // Registered only: applied at a later unpack (see `overrides`).
            return None;
        }
        let Some(t) = self.lands(t) else {
            // Through a symlink that leads nowhere known: it may be this file.
            return Some(false);
        };
        let t = usrmerge_canonical(&t);
        if t == key || (c.recursive && key.starts_with(&format!("{t}/"))) {
            return Some(true);
        }
        let group = self.links.get(key)?;
        if !group.contains(&t) {
            return None;
        }
        // install through another name makes a new inode there: this one is untouched.
        if matches!(c.action, Action::Install { .. }) {
            return None;
        }
        let replaced = self.changes.iter().any(|o| {
            matches!(o.action, Action::Install { .. })
                && o.target
                    .path()
                    .and_then(|p| self.lands(p))
                    .map(|p| usrmerge_canonical(&p))
                    .as_deref()
                    == Some(t.as_str())
        });
        Some(!replaced)
    }

    /// The steps of a path that bear on one file.
    fn project(&self, steps: &[Step], key: &str) -> Vec<FStep> {
        let mut out = Vec::new();
        for s in steps {
            match s {
                Step::Do(i) => match self.bears(self.changes[*i], key) {
                    Some(true) => out.push(FStep::Do(*i)),
                    Some(false) => out.push(FStep::Any(vec![*i])),
                    None => {}
                },
                Step::May(i) => {
                    if self.bears(self.changes[*i], key).is_some() {
                        out.push(FStep::Any(vec![*i]));
                    }
                }
                Step::Failed(i) => {
                    if self.bears(self.changes[*i], key).is_some() {
                        out.push(FStep::Failed(*i));
                    }
                }
                Step::Any(v) => {
                    let v: Vec<usize> = v
                        .iter()
                        .copied()
                        .filter(|i| self.bears(self.changes[*i], key).is_some())
                        .collect();
                    if !v.is_empty() {
                        out.push(FStep::Any(v));
                    }
                }
                Step::Choice(alts) => {
                    let mut alts: Vec<Vec<FStep>> =
                        alts.iter().map(|a| self.project(a, key)).collect();
                    alts.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                    alts.dedup();
                    if alts.iter().any(|a| !a.is_empty()) {
                        out.push(FStep::Choice(alts));
                    }
                }
            }
        }
        out
    }

    /// Statoverrides any counted script registers for this literal path (dpkg matches them by
    /// the path as the package ships it: no usrmerge aliasing).
    fn overrides(&self, path: &str) -> Vec<usize> {
        (0..self.changes.len())
            .filter(|&i| {
                let c = self.changes[i];
                matches!(c.action, Action::StatOverrideAdd { .. })
                    && c.target.path() == Some(path)
                    && self.counted(c)
            })
            .collect()
    }

    /// The states of one file, and whether the bound was hit.
    fn file(&self, key_path: &str) -> (FileState, bool) {
        let entry = self.by_path.get(key_path).copied();
        let key = usrmerge_canonical(key_path);
        let is_dir = entry.is_some_and(|e| e.kind == EntryKind::Dir);
        let (shipped, caps_error) = match entry {
            Some(e) => {
                let (caps, err) = match e.capabilities() {
                    None => (None, None),
                    Some(Ok(c)) => (Some(c.to_set()).filter(|s| !s.is_empty()), None),
                    Some(Err(err)) => (None, Some(err.to_string())),
                };
                (
                    Key {
                        mode: Ok(e.mode & 0o7777),
                        owner: Ok(e.owner_name()),
                        group: Ok(e.group_name()),
                        caps: Ok(caps.map(tuple)),
                    },
                    err,
                )
            }
            None => {
                let why = format!("{key_path} is not shipped by this package");
                (
                    Key {
                        mode: Err(why.clone()),
                        owner: Err(why.clone()),
                        group: Err(why.clone()),
                        caps: Err(why),
                    },
                    None,
                )
            }
        };
        // dpkg matches an override by the member's own name, even one written through a link.
        let override_name = entry.and_then(|e| e.member.as_deref()).unwrap_or(key_path);
        // Most files no script touches: their one end state is data.tar's.
        if entry.is_some()
            && self.overrides(override_name).is_empty()
            && !self
                .changes
                .iter()
                .any(|c| self.counted(c) && self.bears(c, &key).is_some())
        {
            let state = end_state(&shipped, Vec::new(), false);
            let fs = join(
                key_path,
                entry.map(|e| e.kind),
                caps_error,
                vec![FROM_DATA.to_string()],
                vec![state.clone()],
                Some(Box::new(state)),
            );
            return (fs, false);
        }
        // install gives a new file its parent's group when the parent directory is setgid.
        let parent = key_path
            .rsplit_once('/')
            .map(|(d, _)| d)
            .filter(|d| !d.is_empty());
        let setgid_parent_group = parent
            .and_then(|d| self.by_path.get(d))
            .filter(|e| e.kind == EntryKind::Dir && e.mode & 0o2000 != 0)
            .map(|e| e.group_name());
        let mut st = States::new(
            Place {
                is_dir,
                setgid_parent_group,
            },
            &self.changes,
        );
        // The unpacked package: as shipped; for a directory, also after what preinst did to
        // it on an upgrade. A registered override is applied by a later unpack (a reinstall):
        // dpkg reads its override database once per run, so even a preinst's `--add` waits
        // for the next run. It skips a directory that already exists.
        st.add(shipped.clone(), Vec::new(), true);
        for i in self.overrides(override_name) {
            if !is_dir {
                let k = apply_override(&shipped, self.changes[i]);
                let via = vec![format!(
                    "{} (applied at a later unpack)",
                    self.changes[i].source()
                )];
                st.add(k, via, false);
            }
        }
        let projected = |script: ScriptName| -> Vec<(Vec<FStep>, End)> {
            let mut v: Vec<(Vec<FStep>, End)> = self
                .paths
                .iter()
                .filter(|p| p.script == script)
                .map(|p| (self.project(&p.steps, &key), p.end))
                .collect();
            v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            v.dedup();
            v
        };
        if is_dir {
            for (steps, _) in projected(ScriptName::Preinst) {
                let from = st.initial();
                for (k, via) in from {
                    for (k2, via2) in st.prefixes(&k, &via, &steps) {
                        st.add(k2, via2, true);
                    }
                }
            }
        }
        let postinst = projected(ScriptName::Postinst);
        let mut transforms: Vec<Vec<FStep>> = postinst.iter().map(|(s, _)| s.clone()).collect();
        transforms.extend(projected(ScriptName::Prerm).into_iter().map(|(s, _)| s));
        transforms.extend(projected(ScriptName::Postrm).into_iter().map(|(s, _)| s));
        transforms.retain(|t| !t.is_empty());
        transforms.dedup();
        let first_run: Vec<(Key, Vec<String>)> = st.initial();
        // Reachable: closure of the unpacked states under every prefix of every counted path.
        st.close(&transforms);
        // Final: the end of a successful postinst path from a reachable state.
        let successful: Vec<&Vec<FStep>> = postinst
            .iter()
            .filter(|(_, e)| e.can_succeed())
            .map(|(s, _)| s)
            .collect();
        let mut finals: BTreeMap<Key, (Vec<String>, bool)> = BTreeMap::new();
        if self.has_postinst && !successful.is_empty() {
            // One run from the unpacked package first, so that a state one run gives is told
            // by that run's lines; then re-runs from every other reachable state.
            for (k, via) in &first_run {
                for p in &successful {
                    for (k2, via2) in st.ends(k, &next_run(via), p) {
                        let e = finals.entry(k2).or_insert((via2.clone(), false));
                        if via2.len() < e.0.len() {
                            e.0 = via2;
                        }
                    }
                }
            }
            for (k, via) in st.reachable() {
                for p in &successful {
                    for (k2, via2) in st.ends(&k, &next_run(&via), p) {
                        let e = finals.entry(k2).or_insert((via2.clone(), true));
                        if e.1 && via2.len() < e.0.len() {
                            e.0 = via2;
                        }
                    }
                }
            }
        } else {
            // No postinst (or none that can succeed): what unpack and the other scripts leave.
            let first: BTreeSet<Key> = first_run.iter().map(|(k, _)| k.clone()).collect();
            for (k, via) in st.reachable() {
                let rerun = !first.contains(&k);
                finals.insert(k, (via, rerun));
            }
        }
        let hit = st.hit || finals.len() > MAX_STATES_PER_FILE;
        let mut states: Vec<EndState> = finals
            .into_iter()
            .map(|(k, (via, rerun))| end_state(&k, via, rerun))
            .collect();
        if hit {
            states = vec![bounded_state(&states)];
        }
        let shipped_state = entry.map(|_| Box::new(end_state(&shipped, Vec::new(), false)));
        let mut sources = Vec::new();
        if entry.is_some() {
            sources.push(FROM_DATA.to_string());
        }
        for c in &self.changes {
            if self.counted(c)
                && (self.bears(c, &key).is_some()
                    || (matches!(c.action, Action::StatOverrideAdd { .. })
                        && c.target.path() == Some(key_path)))
            {
                let s = c.source();
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
        }
        let fs = join(
            key_path,
            entry.map(|e| e.kind),
            caps_error,
            sources,
            states,
            shipped_state,
        );
        (fs, hit)
    }
}

/// A script's steps with its change indices moved past the changes of the scripts before it.
fn offset(steps: &[Step], off: usize) -> Vec<Step> {
    steps
        .iter()
        .map(|s| match s {
            Step::Do(i) => Step::Do(i + off),
            Step::May(i) => Step::May(i + off),
            Step::Failed(i) => Step::Failed(i + off),
            Step::Any(v) => Step::Any(v.iter().map(|i| i + off).collect()),
            Step::Choice(alts) => Step::Choice(alts.iter().map(|a| offset(a, off)).collect()),
        })
        .collect()
}

fn tuple(c: CapSet) -> (u64, u64, u64) {
    (c.effective, c.permitted, c.inheritable)
}

fn untuple(t: (u64, u64, u64)) -> CapSet {
    CapSet {
        effective: t.0,
        permitted: t.1,
        inheritable: t.2,
    }
}

/// The state sets of one file under computation.
struct States<'m, 'a> {
    at: Place,
    changes: &'m [&'a Change],
    /// Every state reached, with its first provenance and whether it is a first-run start.
    seen: BTreeMap<Key, Vec<String>>,
    initial: Vec<(Key, Vec<String>)>,
    hit: bool,
}

impl<'m, 'a> States<'m, 'a> {
    fn new(at: Place, changes: &'m [&'a Change]) -> Self {
        States {
            at,
            changes,
            seen: BTreeMap::new(),
            initial: Vec::new(),
            hit: false,
        }
    }

    fn add(&mut self, k: Key, via: Vec<String>, first_run: bool) {
        if !self.seen.contains_key(&k) {
            self.seen.insert(k.clone(), via.clone());
        }
        if first_run && !self.initial.iter().any(|(x, _)| *x == k) {
            self.initial.push((k, via));
        }
    }

    fn initial(&self) -> Vec<(Key, Vec<String>)> {
        self.initial.clone()
    }

    fn reachable(&self) -> Vec<(Key, Vec<String>)> {
        self.seen
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Close the reachable set under every prefix of every transform.
    fn close(&mut self, transforms: &[Vec<FStep>]) {
        let mut queue: VecDeque<Key> = self.seen.keys().cloned().collect();
        while let Some(k) = queue.pop_front() {
            if self.seen.len() > MAX_STATES_PER_FILE {
                self.hit = true;
                return;
            }
            let via = self.seen.get(&k).cloned().unwrap_or_default();
            for t in transforms {
                for (k2, via2) in self.prefixes(&k, &next_run(&via), t) {
                    if !self.seen.contains_key(&k2) {
                        self.seen.insert(k2.clone(), via2);
                        queue.push_back(k2);
                    }
                }
            }
        }
    }

    /// Every state after some prefix of `steps` from `k` (including `k` itself).
    fn prefixes(&self, k: &Key, via: &[String], steps: &[FStep]) -> Vec<(Key, Vec<String>)> {
        let mut all = vec![(k.clone(), via.to_vec())];
        self.run(vec![(k.clone(), via.to_vec())], steps, &mut Some(&mut all));
        dedup(all)
    }

    /// The states at the end of `steps` from `k`.
    fn ends(&self, k: &Key, via: &[String], steps: &[FStep]) -> Vec<(Key, Vec<String>)> {
        dedup(self.run(vec![(k.clone(), via.to_vec())], steps, &mut None))
    }

    /// Apply `steps` to every state of `cur`; with `all`, also collect every state on the way.
    fn run(
        &self,
        mut cur: Vec<(Key, Vec<String>)>,
        steps: &[FStep],
        all: &mut Option<&mut Vec<(Key, Vec<String>)>>,
    ) -> Vec<(Key, Vec<String>)> {
        for s in steps {
            cur = match s {
                FStep::Choice(alts) => {
                    let mut next = Vec::new();
                    for a in alts {
                        next.extend(self.run(cur.clone(), a, all));
                    }
                    dedup(next)
                }
                _ => self.step(cur, s),
            };
            if let Some(all) = all {
                all.extend(cur.iter().cloned());
            }
        }
        cur
    }

    fn step(&self, cur: Vec<(Key, Vec<String>)>, s: &FStep) -> Vec<(Key, Vec<String>)> {
        match s {
            FStep::Do(i) => cur
                .into_iter()
                .map(|(k, mut via)| {
                    via.push(self.changes[*i].source());
                    (apply(&k, self.changes[*i], &self.at), via)
                })
                .collect(),
            FStep::Failed(i) => cur
                .into_iter()
                .map(|(k, mut via)| {
                    via.push(format!("{} failed", self.changes[*i].source()));
                    (k, via)
                })
                .collect(),
            FStep::Any(group) => {
                // Any of the group, any number of times, in any order: a closure.
                let mut out: BTreeMap<Key, Vec<String>> = BTreeMap::new();
                let mut queue: VecDeque<(Key, Vec<String>)> = cur.into_iter().collect();
                while let Some((k, via)) = queue.pop_front() {
                    if out.contains_key(&k) {
                        continue;
                    }
                    if out.len() > MAX_STATES_PER_FILE {
                        break;
                    }
                    out.insert(k.clone(), via.clone());
                    for i in group {
                        let k2 = apply(&k, self.changes[*i], &self.at);
                        if !out.contains_key(&k2) {
                            let mut v2 = via.clone();
                            v2.push(self.changes[*i].source());
                            queue.push_back((k2, v2));
                        }
                    }
                }
                out.into_iter().collect()
            }
            FStep::Choice(_) => self.run(cur, std::slice::from_ref(s), &mut None),
        }
    }
}

fn dedup(v: Vec<(Key, Vec<String>)>) -> Vec<(Key, Vec<String>)> {
    let mut seen = BTreeMap::new();
    for (k, via) in v {
        seen.entry(k).or_insert(via);
    }
    seen.into_iter().collect()
}

/// Why an attribute became unknown: `mode set by postinst:64 chmod $mode: not resolved`.
/// Why an attribute is unknown when `c` set it with an operand static reading could not resolve:
/// the text of [`Operand::Unresolved`] in an end state, so that a reader of the state can tell
/// which change left it unknown.
pub fn unresolved(what: &str, c: &Change) -> String {
    format!(
        "{what} set by {} {}: not resolved",
        c.source(),
        c.action.describe()
    )
}

fn name_of(o: &Operand<String>, what: &str, c: &Change) -> Result<String, String> {
    match o {
        Operand::Known(n) => Ok(n.clone()),
        Operand::Unresolved(_) => Err(unresolved(what, c)),
    }
}

/// One change applied to one state, with the kernel's, coreutils' and dpkg's semantics.
/// Where the file is, as far as a change's effect depends on it.
struct Place {
    is_dir: bool,
    /// The group of the parent directory when it is setgid (as shipped).
    setgid_parent_group: Option<String>,
}

fn apply(k: &Key, c: &Change, at: &Place) -> Key {
    let is_dir = at.is_dir;
    let mut k = k.clone();
    match &c.action {
        Action::SetCaps { caps } => {
            k.caps = match caps {
                Operand::Known(set) => Ok(Some(*set).filter(|s| !s.is_empty()).map(tuple)),
                Operand::Unresolved(_) => Err(unresolved("capabilities", c)),
            }
        }
        Action::RemoveCaps => k.caps = Ok(None),
        Action::Chmod { mode } => {
            k.mode = chmod(&k.mode, mode, is_dir, c);
        }
        Action::Chown { owner, group } => {
            if let Some(o) = owner {
                k.owner = name_of(o, "owner", c);
            }
            if let Some(g) = group {
                k.group = name_of(g, "group", c);
            }
            clear_on_chown(&mut k, is_dir);
        }
        Action::StatOverrideAdd {
            owner, group, mode, ..
        } => {
            // `--update`: chown, then chmod, at once.
            k.owner = name_of(owner, "owner", c);
            k.group = name_of(group, "group", c);
            clear_on_chown(&mut k, is_dir);
            k.mode = match mode {
                Operand::Known(m) => Ok(*m & 0o7777),
                Operand::Unresolved(_) => Err(unresolved("mode", c)),
            };
        }
        Action::StatOverrideRemove => {}
        Action::Install {
            owner,
            group,
            mode,
            directory,
        } => {
            let in_place = *directory && is_dir;
            if !in_place {
                // A new inode: no capabilities.
                k.caps = Ok(None);
            }
            k.owner = match owner {
                Some(o) => name_of(o, "owner", c),
                None if in_place => k.owner,
                None => Ok("root".into()),
            };
            k.group = match group {
                Some(g) => name_of(g, "group", c),
                None if in_place => k.group,
                None => Ok(at
                    .setgid_parent_group
                    .clone()
                    .unwrap_or_else(|| "root".into())),
            };
            k.mode = match mode {
                Some(Operand::Known(m)) => match m.apply(0o755, *directory) {
                    Ok(v) => Ok(v),
                    Err(_) => Err(unresolved("mode", c)),
                },
                Some(Operand::Unresolved(_)) => Err(unresolved("mode", c)),
                None if in_place => k.mode,
                None => Ok(0o755),
            };
        }
    }
    k
}

fn chmod(
    old: &Result<u32, String>,
    mode: &Operand<ModeSpec>,
    is_dir: bool,
    c: &Change,
) -> Result<u32, String> {
    match (mode, old) {
        (Operand::Unresolved(_), _) => Err(unresolved("mode", c)),
        // An octal mode sets every bit, whatever the old mode was (but a directory's setuid
        // and setgid, which only an unknown old mode could hold).
        (Operand::Known(ModeSpec::Octal(v) | ModeSpec::OctalExact(v)), Err(e)) => {
            if is_dir && matches!(mode, Operand::Known(ModeSpec::Octal(_))) {
                Err(e.clone())
            } else {
                Ok(*v)
            }
        }
        (Operand::Known(_), Err(e)) => Err(e.clone()),
        (Operand::Known(spec), Ok(m)) => spec.apply(*m, is_dir).map_err(|_| unresolved("mode", c)),
    }
}

/// The kernel drops setuid, setgid (when group-executable) and file capabilities when a
/// non-directory changes owner, even to the same owner.
fn clear_on_chown(k: &mut Key, is_dir: bool) {
    if is_dir {
        return;
    }
    if let Ok(m) = &mut k.mode {
        *m &= !0o4000;
        if *m & 0o010 != 0 {
            *m &= !0o2000;
        }
    }
    k.caps = Ok(None);
}

/// The state an unpack gives a non-directory with a registered override.
fn apply_override(shipped: &Key, c: &Change) -> Key {
    let Action::StatOverrideAdd {
        owner, group, mode, ..
    } = &c.action
    else {
        return shipped.clone();
    };
    Key {
        owner: name_of(owner, "owner", c),
        group: name_of(group, "group", c),
        mode: match mode {
            Operand::Known(m) => Ok(*m & 0o7777),
            Operand::Unresolved(_) => Err(unresolved("mode", c)),
        },
        caps: Ok(None),
    }
}

fn attr<T>(r: &Result<T, String>) -> Attr<T>
where
    T: Clone,
{
    match r {
        Ok(v) => Operand::Known(v.clone()),
        Err(e) => Operand::Unresolved(e.clone()),
    }
}

/// Marks where one run ends and the next begins in a provenance, until [`tidy_via`] turns it
/// into `then` before the next run's first line.
const NEXT_RUN: &str = "\u{0}next run";

fn next_run(via: &[String]) -> Vec<String> {
    let mut v = via.to_vec();
    if !v.is_empty() && v.last().map(String::as_str) != Some(NEXT_RUN) {
        v.push(NEXT_RUN.to_string());
    }
    v
}

/// `[postinst:12, NEXT, postinst:12 failed]` → `[postinst:12, then postinst:12 failed]`.
fn tidy_via(via: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = false;
    for v in via {
        if v == NEXT_RUN {
            pending = true;
        } else if pending {
            out.push(format!("then {v}"));
            pending = false;
        } else {
            out.push(v);
        }
    }
    out
}

fn end_state(k: &Key, via: Vec<String>, rerun: bool) -> EndState {
    let via = tidy_via(via);
    let mut unknown: Vec<String> = Vec::new();
    for e in [
        k.mode.as_ref().err(),
        k.owner.as_ref().err(),
        k.group.as_ref().err(),
        k.caps.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        if !unknown.contains(e) {
            unknown.push(e.clone());
        }
    }
    EndState {
        mode: attr(&k.mode),
        owner: attr(&k.owner),
        group: attr(&k.group),
        caps: match &k.caps {
            Ok(c) => Operand::Known(c.map(untuple)),
            Err(e) => Operand::Unresolved(e.clone()),
        },
        unknown,
        via,
        rerun,
    }
}

/// Past the bound: one state that holds everything, so every rule that looks fails closed.
fn bounded_state(states: &[EndState]) -> EndState {
    let why = format!("more than {MAX_STATES_PER_FILE} end states; joined");
    EndState {
        mode: Operand::Unresolved(why.clone()),
        owner: Operand::Unresolved(why.clone()),
        group: Operand::Unresolved(why.clone()),
        caps: Operand::Unresolved(why.clone()),
        unknown: vec![why],
        via: states.first().map(|s| s.via.clone()).unwrap_or_default(),
        rerun: true,
    }
}

/// The join of the states, for the fields that predate state sets: mode bits OR-ed,
/// capabilities united, owner and group kept when every state agrees, else `*`.
fn join(
    path: &str,
    kind: Option<EntryKind>,
    caps_error: Option<String>,
    sources: Vec<String>,
    states: Vec<EndState>,
    shipped: Option<Box<EndState>>,
) -> FileState {
    let mode = states
        .iter()
        .filter_map(|s| s.mode.known())
        .fold(0, |a, m| a | m);
    let agree = |f: &dyn Fn(&EndState) -> Option<&String>| -> String {
        let mut it = states.iter().map(f);
        match it.next().flatten() {
            Some(first) if states.iter().map(f).all(|x| x == Some(first)) => first.clone(),
            _ => "*".into(),
        }
    };
    let owner = agree(&|s| s.owner.known());
    let group = agree(&|s| s.group.known());
    let mut caps: Option<CapSet> = None;
    for s in &states {
        if let Operand::Known(Some(c)) = &s.caps {
            let u = caps.get_or_insert_with(CapSet::default);
            u.effective |= c.effective;
            u.permitted |= c.permitted;
            u.inheritable |= c.inheritable;
        }
    }
    FileState {
        path: path.to_string(),
        kind,
        mode,
        owner,
        group,
        caps,
        caps_error,
        conditional: states.len() > 1,
        sources,
        states,
        shipped,
    }
}
