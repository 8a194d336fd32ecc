//! Kconfig semantics, driven by testdata/kconfig/*.config and their `.expected` tables (option
//! names live in the data, not here: rules are data, and so are test inputs that look like them).

use debgate_analyze::kconfig::Kconfig;
use std::path::Path;

#[test]
fn kconfig_files_parse_as_their_expectations_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/kconfig");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "config") {
            continue;
        }
        let k = Kconfig::parse(&std::fs::read_to_string(&path).unwrap());
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        for line in expected
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let f: Vec<&str> = line.split(" | ").collect();
            let (opt, value, at, why) = (f[0], f[1], f[2], f.get(3).copied().unwrap_or(""));
            assert_eq!(k.value(opt), value, "{}: {opt}: {why}", path.display());
            let line_no = k
                .assignment(opt)
                .map(|a| a.line.to_string())
                .unwrap_or("-".into());
            assert_eq!(line_no, at, "{}: {opt}: {why}", path.display());
            cases += 1;
        }
    }
    assert!(cases >= 8, "found {cases} expectations");
}
