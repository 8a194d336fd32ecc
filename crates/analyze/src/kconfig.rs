//! Kernel configuration (`.config`, `/boot/config-*`) parsing with kconfig semantics.

use serde::Serialize;
use std::collections::BTreeMap;

/// Where kernel packages carry their configuration: Debian and Ubuntu put it in `/boot`, the
/// headers packages carry the build tree's `.config`.
pub fn is_kconfig_path(path: &str) -> bool {
    if let Some(name) = path.strip_prefix("/boot/config-") {
        return !name.is_empty() && !name.contains('/');
    }
    path.strip_prefix("/usr/src/")
        .and_then(|rest| rest.strip_suffix("/.config"))
        .is_some_and(|dir| dir.starts_with("linux-headers-") && !dir.contains('/'))
}

/// One option's final assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub option: String,
    /// `y`, `m`, `n` (for `# X is not set`), or the raw right-hand side (`"str"`, `123`, `0x1f`).
    pub value: String,
    /// 1-based line of the assignment that won.
    pub line: u32,
    /// Written as `# <option> is not set` (the value is then `n`), not as an assignment.
    #[serde(skip)]
    pub not_set: bool,
}

/// A parsed kernel config: the last assignment of each option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kconfig {
    options: BTreeMap<String, Assignment>,
    /// The release named by the header comment (`# Linux/x86 6.1.176 Kernel Configuration`).
    release: Option<String>,
}

impl Kconfig {
    pub fn parse(text: &str) -> Kconfig {
        let mut options = BTreeMap::new();
        let mut release = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if release.is_none() {
                release = header_release(line);
            }
            let parsed = if let Some(rest) = line.strip_prefix('#') {
                // `# <option> is not set` is an explicit `n`; any other comment is ignored.
                rest.trim()
                    .strip_suffix(" is not set")
                    .filter(|name| is_option_name(name))
                    .map(|name| (name.to_string(), "n".to_string(), true))
            } else {
                line.split_once('=')
                    .filter(|(name, _)| is_option_name(name))
                    .map(|(name, value)| (name.to_string(), value.to_string(), false))
            };
            if let Some((option, value, not_set)) = parsed {
                let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
                // Later assignments replace earlier ones, as kconfig does.
                options.insert(
                    option.clone(),
                    Assignment {
                        option,
                        value,
                        line,
                        not_set,
                    },
                );
            }
        }
        Kconfig { options, release }
    }

    /// The kernel release the header comment names (`6.1.176`, `5.4.0-26-generic`).
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// The release as (major, minor, patch): the leading dotted numbers before any `-` or `+`
    /// (`6.18.0-rc3` is 6.18.0); `None` without a header or with fewer than three numbers.
    pub fn version(&self) -> Option<[u32; 3]> {
        let r = self.release.as_deref()?;
        let numbers = r.split(['-', '+']).next()?;
        let mut parts = numbers.split('.').map(|p| p.parse::<u32>().ok());
        Some([parts.next()??, parts.next()??, parts.next()??])
    }

    /// The value of an option; an absent option is `n`.
    pub fn value(&self, option: &str) -> &str {
        self.options.get(option).map_or("n", |a| a.value.as_str())
    }

    /// Keep only the options `keep` names: what a caller needs of a config it holds on to
    /// while the rest of the set streams by (a kernel's defaults are chosen by a few options).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.options.retain(|option, _| keep(option));
    }

    pub fn assignment(&self, option: &str) -> Option<&Assignment> {
        self.options.get(option)
    }

    pub fn assignments(&self) -> impl Iterator<Item = &Assignment> {
        self.options.values()
    }

    pub fn len(&self) -> usize {
        self.options.len()
    }

    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

/// The release in a kconfig header comment, `# Linux/<arch> <release> Kernel Configuration`.
fn header_release(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("# Linux/")?
        .strip_suffix(" Kernel Configuration")?;
    let mut words = rest.split_whitespace();
    let (_arch, release) = (words.next()?, words.next()?);
    words.next().is_none().then(|| release.to_string())
}

fn is_option_name(name: &str) -> bool {
    name.starts_with("CONFIG_")
        && name.len() > "CONFIG_".len()
        && name.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b.is_ascii_lowercase()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Option names are lowercase here so that no Rust names a real option (tidy).
    #[test]
    fn the_header_names_the_release() {
        for (header, release, version) in [
            (
                "# Linux/x86 6.1.176 Kernel Configuration",
                "6.1.176",
                Some([6, 1, 176]),
            ),
            (
                "# Linux/x86_64 5.4.0-26-generic Kernel Configuration",
                "5.4.0-26-generic",
                Some([5, 4, 0]),
            ),
            (
                "# Linux/riscv 6.18.0-rc3-1-default Kernel Configuration",
                "6.18.0-rc3-1-default",
                Some([6, 18, 0]),
            ),
            ("# Linux/arm 5.10 Kernel Configuration", "5.10", None),
        ] {
            let k = Kconfig::parse(&format!(
                "#\n{header}\n#\nCONFIG_a=y\n# CONFIG_b is not set\n"
            ));
            assert_eq!(
                (k.release(), k.version()),
                (Some(release), version),
                "{header}"
            );
            assert!(k.assignment("CONFIG_b").unwrap().not_set);
            assert!(!k.assignment("CONFIG_a").unwrap().not_set);
        }
        assert_eq!(Kconfig::parse("CONFIG_a=y\n").release(), None);
    }

    #[test]
    fn config_locations() {
        assert!(is_kconfig_path("/boot/config-6.1.0-50-cloud-amd64"));
        assert!(is_kconfig_path(
            "/usr/src/linux-headers-6.1.0-50-amd64/.config"
        ));
        assert!(!is_kconfig_path("/boot/config-"));
        assert!(!is_kconfig_path("/boot/grub/config-x"));
        assert!(!is_kconfig_path("/usr/src/other/.config"));
    }
}
