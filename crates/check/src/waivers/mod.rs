//! Waivers as data: accepted exceptions to rules, each with a reason and a bug, optionally
//! expiring. Loaded like policies (TOML with spans, every error at once with `file:line:column`
//! and a stable code, through the policy crate's diagnostics) and applied to a check's findings.
//!
//! A waiver that accepts nothing is reported as unused, as lintian reports unused overrides, so
//! that stale exceptions get noticed and removed.

mod apply;
mod date;
mod load;

pub use apply::{AppliedWaiver, Applier, WaiverNotice, WaiverState};
pub use date::Date;

use debgate_policy::{Finding, Location};
use globset::GlobMatcher;

/// The default waiver file, read when present and no `--waivers` is given: a maintainer runs
/// debgate from the source package's top directory, where `debian/` holds the packaging and
/// its lintian overrides too.
pub const DEFAULT_WAIVERS: &str = "debian/debgate-waivers.toml";

/// One accepted exception, as declared.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub package: String,
    pub(crate) package_glob: GlobMatcher,
    pub path: Option<String>,
    pub(crate) path_glob: Option<GlobMatcher>,
    pub reason: String,
    pub bug: String,
    pub expires: Option<Date>,
    pub location: Location,
}

impl Waiver {
    /// Whether this waiver names the finding. A set-level finding (no package) is named only by
    /// the package glob `*`; a waiver with a path names only findings with a matching path.
    pub(crate) fn covers(&self, f: &Finding) -> bool {
        if f.rule != self.rule {
            return false;
        }
        let package_ok = match &f.package {
            Some(p) => self.package_glob.is_match(p),
            None => self.package == "*",
        };
        let path_ok = match (&self.path_glob, &f.path) {
            (None, _) => true,
            (Some(g), Some(p)) => g.is_match(p),
            (Some(_), None) => false,
        };
        package_ok && path_ok
    }
}

/// The waivers of one or more files, in declaration order (the first that covers a finding
/// applies).
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    pub waivers: Vec<Waiver>,
}
