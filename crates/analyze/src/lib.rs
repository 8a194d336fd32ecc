//! Analyzers that turn captured package facts into end-state facts: kernel configs, sysctl.d
//! settings, and each file's effective state after maintainer scripts.
//!
//! Nothing here reads bytes from a package or knows any policy; it only interprets facts.

pub mod effective;
pub mod kconfig;
pub mod privileges;
pub mod sysctl;
