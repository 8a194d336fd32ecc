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
}

/// A parsed kernel config: the last assignment of each option.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kconfig {
    options: BTreeMap<String, Assignment>,
}

impl Kconfig {
    pub fn parse(text: &str) -> Kconfig {
        let mut options = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let parsed = if let Some(rest) = line.strip_prefix('#') {
                // `# <option> is not set` is an explicit `n`; any other comment is ignored.
                rest.trim()
                    .strip_suffix(" is not set")
                    .filter(|name| is_option_name(name))
                    .map(|name| (name.to_string(), "n".to_string()))
            } else {
                line.split_once('=')
                    .filter(|(name, _)| is_option_name(name))
                    .map(|(name, value)| (name.to_string(), value.to_string()))
            };
            if let Some((option, value)) = parsed {
                let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
                // Later assignments replace earlier ones, as kconfig does.
                options.insert(
                    option.clone(),
                    Assignment {
                        option,
                        value,
                        line,
                    },
                );
            }
        }
        Kconfig { options }
    }

    /// The value of an option; an absent option is `n`.
    pub fn value(&self, option: &str) -> &str {
        self.options.get(option).map_or("n", |a| a.value.as_str())
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
