//! Policies as data: loading `policies/*.toml` with every error located, and judging analysed
//! packages against the rules.
//!
//! Rust here knows only generic assertion kinds (kernel config values, effective file state,
//! text content, sysctl values, existence), one module each under [`kinds`]; which package,
//! path, option or key matters is always the policy file's business.
//!
//! Layering, bottom up: [`diagnostic`] (locations, codes, typed TOML getters) imports nothing
//! from this crate; [`model`] and [`finding`] hold what is loaded and what is produced;
//! [`kinds`] parse and judge; [`load`] and [`eval`] drive them.

pub mod allowlist;
pub mod diagnostic;
pub mod eval;
pub mod finding;
pub mod kernel;
pub mod kinds;
pub mod load;
pub mod model;
pub mod set;
pub mod value;
pub mod when;

pub use diagnostic::{Code, Diagnostic, Diagnostics, Location};
pub use eval::{evaluate, evaluate_package, finish, Judged};
pub use finding::{Analyzed, Finding, Status};
pub use load::{load_paths, load_sources, load_sources_with, LoadOptions, Source};
pub use model::{Assertion, Globs, Pairing, PolicyInfo, Presence, Rule, RuleSet, Severity};
pub use set::{Contribution, Member, SetContext, Tally};
