//! Kernel facts as data, and what a rule judged on one kernel config sees.
//!
//! Which option marks which architecture or compiler, and which kernel default a sysctl key has,
//! are declared in policy files (`[kernel]` tables), never in Rust: the tidy rule that no Rust
//! names a config option stands. [`Kernel`] is one config of the set with what is derived from
//! it; [`SetSysctl`] is the set's sysctl.d settings in the order they are applied; together they
//! give a key's effective value on that kernel.

use crate::diagnostic::{get, Code, Doc, Location};
use crate::set::{Member, SetContext};
use crate::value::is_option;
use debgate_analyze::kconfig::Kconfig;
use debgate_analyze::sysctl::{self, Setting};
use debgate_facts::Package;
use toml_span::Value;

/// The keys of `[kernel]`.
pub const KERNEL_KEYS: [&str; 3] = ["arch", "compiler", "sysctl-default"];

/// The keys of one compiler in `[kernel.compiler]`.
pub const COMPILER_KEYS: [&str; 2] = ["option", "version"];

/// The keys of a `[[kernel.sysctl-default]]`.
pub const SYSCTL_DEFAULT_KEYS: [&str; 4] = ["key", "kconfig", "values", "value"];

/// One sysctl key's kernel default: `value`, unless `kconfig` has a value listed in `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlDefault {
    pub key: String,
    pub kconfig: Option<String>,
    /// The option's value (`y`, `n`, ...) and the default it gives.
    pub values: Vec<(String, String)>,
    pub value: Option<String>,
    pub location: Location,
}

/// The `[kernel]` tables of every loaded policy file.
#[derive(Debug, Clone, Default)]
pub struct KernelData {
    /// Architecture name and the option that is `y` on it.
    pub arch: Vec<(String, String)>,
    /// Compiler name, the option that is `y` when it built the kernel, and the option holding
    /// its version.
    pub compiler: Vec<(String, String, Option<String>)>,
    pub sysctl_defaults: Vec<SysctlDefault>,
}

impl KernelData {
    /// Read one file's `[kernel]` table into `self`; a name declared twice with different
    /// options is an error (two files disagreeing about what marks x86_64 is a real mistake).
    pub fn load(&mut self, doc: &mut Doc<'_>, value: &Value<'_>) {
        let Some(t) = doc.table(value, "kernel") else {
            return;
        };
        doc.unknown_keys(t, &KERNEL_KEYS, "in [kernel]", &KERNEL_KEYS);
        if let Some(v) = get(t, "arch") {
            for (name, option, span) in option_table(doc, v, "kernel.arch") {
                if let Some((_, o)) = self.arch.iter().find(|(n, _)| *n == name) {
                    if *o != option {
                        doc.error(
                            span,
                            Code::BadValue,
                            format!("architecture `{name}` is already marked by {o}"),
                        );
                    }
                    continue;
                }
                self.arch.push((name, option));
            }
        }
        if let Some(v) = get(t, "compiler") {
            self.compilers(doc, v);
        }
        if let Some(v) = get(t, "sysctl-default") {
            for item in doc.tables(v, "kernel.sysctl-default").unwrap_or_default() {
                if let Some(d) = sysctl_default(doc, item) {
                    if self.sysctl_defaults.iter().any(|x| x.key == d.key) {
                        doc.error(
                            item.span,
                            Code::BadValue,
                            format!("sysctl key `{}` already has a kernel default", d.key),
                        );
                        continue;
                    }
                    self.sysctl_defaults.push(d);
                }
            }
        }
    }

    fn compilers(&mut self, doc: &mut Doc<'_>, v: &Value<'_>) {
        let Some(t) = doc.table(v, "kernel.compiler") else {
            return;
        };
        for (key, item) in t {
            let Some(c) = doc.table(item, &format!("kernel.compiler.{}", key.name)) else {
                continue;
            };
            doc.unknown_keys(
                c,
                &["option", "version"],
                "in a compiler",
                &["option", "version"],
            );
            let option = doc
                .required(c, "option", item.span, "compiler", "")
                .and_then(|o| config_option(doc, o, "option"));
            let version = match get(c, "version") {
                None => Some(None),
                Some(o) => config_option(doc, o, "version").map(Some),
            };
            if let (Some(option), Some(version)) = (option, version) {
                self.compiler.push((key.name.to_string(), option, version));
            }
        }
    }

    /// Whether a compiler or architecture called `name` is declared.
    pub fn knows_arch(&self, name: &str) -> bool {
        self.arch.iter().any(|(n, _)| n == name)
    }

    pub fn knows_compiler(&self, name: &str) -> bool {
        self.compiler.iter().any(|(n, _, _)| n == name)
    }
}

/// `{ name = "OPTION", ... }`: each name with its option.
fn option_table(
    doc: &mut Doc<'_>,
    v: &Value<'_>,
    what: &str,
) -> Vec<(String, String, toml_span::Span)> {
    let Some(t) = doc.table(v, what) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, item) in t {
        if let Some(o) = config_option(doc, item, &key.name) {
            out.push((key.name.to_string(), o, item.span));
        }
    }
    out
}

fn config_option(doc: &mut Doc<'_>, v: &Value<'_>, what: &str) -> Option<String> {
    let s = doc.string(v, what)?;
    if !is_option(&s) {
        doc.error(
            v.span,
            Code::BadValue,
            format!("`{s}` is not a kernel config option name (CONFIG_...)"),
        );
        return None;
    }
    Some(s)
}

fn sysctl_default(doc: &mut Doc<'_>, item: &Value<'_>) -> Option<SysctlDefault> {
    let t = doc.table(item, "kernel.sysctl-default")?;
    let mark = doc.mark();
    doc.unknown_keys(
        t,
        &SYSCTL_DEFAULT_KEYS,
        "in a sysctl default",
        &SYSCTL_DEFAULT_KEYS,
    );
    let key = doc
        .required(t, "key", item.span, "sysctl default", "")
        .and_then(|v| doc.nonempty_string(v, "key"));
    let kconfig = get(t, "kconfig").and_then(|v| config_option(doc, v, "kconfig"));
    let mut values = Vec::new();
    if let Some(v) = get(t, "values") {
        if let Some(vt) = doc.table(v, "values") {
            for (k, val) in vt {
                if let Some(s) = doc.string(val, &k.name) {
                    values.push((k.name.to_string(), s));
                }
            }
        }
    }
    let value = get(t, "value").and_then(|v| doc.string(v, "value"));
    if kconfig.is_none() && !values.is_empty() {
        doc.error(
            item.span,
            Code::MissingKey,
            "`values` needs `kconfig`, the option whose value chooses the default",
        );
    }
    if value.is_none() && values.is_empty() {
        doc.error(
            item.span,
            Code::MissingKey,
            "a sysctl default needs `value` or `kconfig` with `values`",
        );
    }
    if doc.failed_since(mark) {
        return None;
    }
    Some(SysctlDefault {
        key: sysctl::normalise_key(&key?),
        kconfig,
        values,
        value,
        location: doc.location(item.span),
    })
}

/// One kernel config file of the set, parsed once, with what is derived from it.
pub struct Kernel<'a> {
    /// The name of the package that ships it.
    pub package: &'a str,
    pub path: String,
    /// The parsed config, or why it could not be read (not captured, over the content cap).
    pub config: Result<Kconfig, String>,
}

impl<'a> Kernel<'a> {
    pub fn new(package: &'a Package, path: &str) -> Kernel<'a> {
        let config = crate::kinds::content(package, path).map(|c| Kconfig::parse(&c.text()));
        Kernel {
            package: package.name(),
            path: path.to_string(),
            config,
        }
    }

    /// The architecture: the one declared whose option is `y`; `Ok(None)` when none is (an
    /// architecture the data does not list); an error when several are, or the config is
    /// unreadable.
    pub fn arch(&self, data: &KernelData) -> Result<Option<String>, String> {
        let config = self.config.as_ref().map_err(Clone::clone)?;
        let on: Vec<&(String, String)> = data
            .arch
            .iter()
            .filter(|(_, o)| config.value(o) == "y")
            .collect();
        match on.as_slice() {
            [] => Ok(None),
            [(name, _)] => Ok(Some(name.clone())),
            many => Err(format!(
                "{} marks several architectures: {}",
                self.path,
                many.iter()
                    .map(|(n, o)| format!("{n} ({o}=y)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The compiler that built the kernel, with its version number if declared.
    pub fn compiler(&self, data: &KernelData) -> Result<Option<(String, Option<i128>)>, String> {
        let config = self.config.as_ref().map_err(Clone::clone)?;
        Ok(data
            .compiler
            .iter()
            .find(|(_, o, _)| config.value(o) == "y")
            .map(|(n, _, v)| {
                let version = v
                    .as_deref()
                    .and_then(|v| crate::value::number(config.value(v)));
                (n.clone(), version)
            }))
    }

    /// `(major, minor, patch)` from the config's header.
    pub fn version(&self) -> Result<[u32; 3], String> {
        let config = self.config.as_ref().map_err(Clone::clone)?;
        config.version().ok_or_else(|| match config.release() {
            Some(r) => format!(
                "{}: the release `{r}` in its header is not a version",
                self.path
            ),
            None => format!(
                "{} has no `# Linux/... Kernel Configuration` header naming its version",
                self.path
            ),
        })
    }

    /// The kernel's default for `key`, and where it comes from.
    pub fn sysctl_default(&self, data: &KernelData, key: &str) -> Option<(String, String)> {
        let key = sysctl::normalise_key(key);
        let d = data.sysctl_defaults.iter().find(|d| d.key == key)?;
        if let (Some(opt), Ok(config)) = (&d.kconfig, &self.config) {
            let have = config.value(opt);
            if let Some((_, v)) = d.values.iter().find(|(when, _)| when == have) {
                return Some((
                    v.clone(),
                    format!("kernel default from {opt}={have} in {}", self.package),
                ));
            }
        }
        let from = match (&d.kconfig, &self.config) {
            (Some(opt), Ok(c)) => format!(
                "kernel default with {opt}={} in {}",
                c.value(opt),
                self.package
            ),
            // The option that chooses the default can't be read: the default is not known.
            (Some(_), Err(_)) => return None,
            (None, _) => format!("kernel default declared at {}", d.location),
        };
        d.value.clone().map(|v| (v, from))
    }
}

/// Every sysctl.d setting of the set, in the order they are applied, with its package.
pub struct SetSysctl<'a> {
    pub settings: Vec<(Setting, &'a Member)>,
    /// sysctl.d files over the content cap: what they set is not known.
    pub truncated: Vec<String>,
}

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<'a> {
    /// A sysctl.d line, with its package.
    File(Setting, &'a Member),
    /// The kernel's default, described.
    Default(String),
}

impl<'a> SetSysctl<'a> {
    /// The settings of the set's packages that `select` keeps (by name).
    pub fn of(set: &'a SetContext, select: &dyn Fn(&str) -> bool) -> SetSysctl<'a> {
        let mut files: Vec<(&str, &'a Member, &'a debgate_facts::Content)> = Vec::new();
        let mut truncated = Vec::new();
        for (member, path, c) in &set.sysctl {
            let member = set.member(*member);
            if select(&member.name) {
                files.push((path.as_str(), member, c));
                if c.truncated {
                    truncated.push(path.clone());
                }
            }
        }
        let paths: Vec<&str> = files.iter().map(|(p, _, _)| *p).collect();
        let mut settings = Vec::new();
        for idx in sysctl::application_order(&paths) {
            let (path, member, content) = files[idx];
            let text = content.text();
            for s in sysctl::parse(path, &text) {
                settings.push((s, member));
            }
        }
        SetSysctl {
            settings,
            truncated,
        }
    }

    /// The line that wins for `key`.
    pub fn winner(&self, key: &str) -> Option<&(Setting, &'a Member)> {
        let key = sysctl::normalise_key(key);
        self.settings
            .iter()
            .rev()
            .find(|(s, _)| sysctl::key_matches(&s.key, &key))
    }

    /// Every line that sets `key`, as evidence.
    pub fn evidence(&self, key: &str) -> Vec<String> {
        let key = sysctl::normalise_key(key);
        self.settings
            .iter()
            .filter(|(s, _)| sysctl::key_matches(&s.key, &key))
            .map(|(s, _)| format!("{}:{}: {} = {}", s.file, s.line, s.key, s.value))
            .collect()
    }

    /// `key`'s effective value on `kernel`: the last sysctl.d line, else the kernel's default;
    /// `Err` says why it is not known.
    pub fn effective(
        &self,
        key: &str,
        kernel: Option<(&Kernel<'_>, &KernelData)>,
    ) -> Result<(String, Source<'a>), String> {
        if let Some((s, p)) = self.winner(key) {
            return Ok((s.value.clone(), Source::File(s.clone(), p)));
        }
        let mut why = format!("no sysctl.d file in the set sets {key}");
        if !self.truncated.is_empty() {
            why.push_str(&format!(
                " (not all of {} was read: over the content cap)",
                self.truncated.join(", ")
            ));
        }
        match kernel {
            None => Err(format!(
                "{why}, and the set has no kernel whose default would apply"
            )),
            Some((k, data)) => match k.sysctl_default(data, key) {
                Some((v, from)) => Ok((v, Source::Default(from))),
                None => Err(format!(
                    "{why}, and no policy declares the kernel's default for it"
                )),
            },
        }
    }
}

impl Source<'_> {
    pub fn describe(&self) -> String {
        match self {
            Source::File(s, _) => format!("{}:{}", s.file, s.line),
            Source::Default(d) => d.clone(),
        }
    }
}
