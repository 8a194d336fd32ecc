//! Policies as data: loading `policies/*.toml` with every error located, and judging analysed
//! packages against the rules.
//!
//! Rust here knows only generic assertion kinds (kernel config values, effective file state,
//! text content, sysctl values, existence); which package, path, option or key matters is
//! always the policy file's business.

pub mod eval;
pub mod load;
pub mod model;
pub mod spanned;

pub use eval::{evaluate, Analyzed, Finding, Status};
pub use load::{load_paths, load_sources, PolicyError, PolicyErrors};
pub use model::{Assertion, Globs, Location, Pairing, Presence, Rule, RuleSet, Severity};
