//! An apt repository as input (issue 13, first step): which repository a user means
//! ([`source`]: apt's one-line `deb [arch=amd64] URL SUITE COMPONENT...`, a `.list` or a
//! deb822 `.sources` file), and the chain apt verifies from a signed `InRelease` (or `Release`
//! and `Release.gpg`) down to each package's bytes ([`release`], [`index`], [`verify`],
//! [`local`]), from a directory or over `http(s)://` ([`http`]: retries, and a broken package
//! download resumed with `Range`), both behind one private `transport`.
//!
//! Trust is the archive's: the keyring comes from `signed-by=` or the caller's archive keyring,
//! never an uploader's. Nothing is written to disk; a package is hashed as it streams into the
//! reader (a resumed one whole) and a mismatch is that package's error.

pub mod http;
pub mod index;
pub mod local;
pub mod read;
pub mod release;
pub mod source;
mod transport;
pub mod verify;
