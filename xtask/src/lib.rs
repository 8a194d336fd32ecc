//! debgate's project automation, as a library so that `xtask/tests/` can run the tidy checks
//! under `cargo test` with the same code that `cargo xtask tidy` runs.

pub mod bench;
pub mod ci;
pub mod corpus;
pub mod differential;
pub mod fuzz;
pub mod kspp;
pub mod repo;
pub mod sarif;
pub mod scale;
pub mod sweep;
pub mod tidy;
pub mod util;

pub use util::workspace_root;
