//! Debian changelogs read as apt-listchanges reads them: which entries are newer than a version,
//! and which bugs and CVEs those entries name.
//!
//! Input is a package's `changelog.Debian.gz`, a native package's `changelog.gz`, a binNMU's
//! `changelog.Debian.ARCH.gz` or a `NEWS.Debian.gz` (same format), taken from `.deb` files that
//! strangers built. So: [`gunzip`] stops at a caller's output budget and keeps what decoded
//! before a cut or a corrupt byte; [`parse`] is one pass over the lines with no recursion and
//! a cap on the number of entries; nothing here panics on any input.
//!
//! # Why a parser of our own and not the `debian-changelog` crate
//!
//! jelmer's `debian-changelog` (0.2.x, now maintained inside his `debian-parsers` repository)
//! is a lossless, editable syntax tree built on `rowan`. We checked it: it did not panic on our
//! real changelogs nor on 20,000 random fragments, so robustness is not the reason. It does not
//! fit because it is built for editing `debian/changelog`, not for reading one:
//! - weight: it pulls `rowan` (with `countme`, `hashbrown`, `rustc-hash`, `text-size`),
//!   `textwrap` (to rewrap entries; it brings ICU's line segmenter, some 20 `icu_*`, `zerovec`
//!   and `yoke` crates), `whoami` (to sign new entries), `log`, `lazy-regex` and `chrono`:
//!   about 50 crates and 11,000 lines of its own for what is here one page of line matching;
//! - leniency: its tokenizer treats text that is not a changelog (an upstream `NEWS.md`) as
//!   entries without versions, and reports errors on real files (22 on one trimmed
//!   `changelog.Debian` we test with; debian-parsers issue #466 is dpkg's own changelog failing
//!   on `urgency=low (HIGH for new source format)`), so the "is this a changelog" and "keep
//!   going" decisions would be rebuilt around it anyway;
//! - we need none of its editing, and the few facts we need (header, body, trailer) are exactly
//!   what dpkg's own `Dpkg::Changelog::Debian` matches with two regular expressions, which this
//!   crate follows.
//!
//! Version order is dpkg's, from the `debversion` crate (the one crates/pipeline uses); the
//! references follow Debian Policy's `Closes:` expression and Ubuntu's `LP:` one.

mod gunzip;
mod parse;
mod refs;
mod since;

pub use gunzip::{gunzip, Decoded};
pub use parse::{parse, says_trimmed, Entry, NotAChangelog, MAX_ENTRIES};
pub use refs::{references, RefKind, Reference};
pub use since::{since, Since, MAX_VERSION_LEN};
