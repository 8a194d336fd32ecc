//! `debgate check X.changes`: every case of testdata/uploads/uploads.toml gives the verdict it
//! declares; uploads found in directories; links refused; the JUnit and SARIF output of an
//! upload (snapshots in testdata/uploads/expected/, `DEBGATE_BLESS=1` rewrites them); and
//! `--keyring` with a throwaway key made in the test's own GNUPGHOME.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{debgate, json, root};

/// The one `.changes` of a case directory (relative to the workspace root).
fn changes_in(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "changes"))
        .collect();
    assert_eq!(found.len(), 1, "{}: one .changes", dir.display());
    found[0].clone()
}

fn case_changes(case: &str) -> String {
    let p = changes_in(&root().join("testdata/uploads").join(case));
    p.strip_prefix(root()).unwrap().display().to_string()
}

fn failed_rules(v: &Value) -> BTreeSet<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect()
}

const FILE_CHECKS: [&str; 6] = [
    "changes-unsafe-name",
    "changes-list-mismatch",
    "changes-file-missing",
    "changes-size-mismatch",
    "changes-checksum-mismatch",
    "changes-control-mismatch",
];

#[test]
fn every_upload_case_gives_its_declared_verdict() {
    let cases = debgate_writer::upload_cases(&root().join("testdata")).unwrap();
    assert!(cases.len() >= 10, "one case per upload check and more");
    for case in cases {
        let changes = case_changes(&case.case);
        let out = debgate(&["check", "--format", "json", &changes]);
        let v = json(&out);
        let want_exit = case.expect_exit.expect("every case declares expect-exit");
        assert_eq!(
            out.status.code(),
            Some(want_exit),
            "{}: {}\n{}",
            case.case,
            case.why,
            String::from_utf8_lossy(&out.stdout)
        );
        if let Some(err) = &case.expect_error {
            let shown = v["uploads"][0]["error"].as_str().unwrap_or("");
            assert!(shown.contains(err.as_str()), "{}: {shown}", case.case);
            assert!(
                v["packages"].as_array().unwrap().is_empty(),
                "{}: no package of an unparsable upload is read",
                case.case
            );
            continue;
        }
        let want: BTreeSet<String> = case.expect_fail.iter().cloned().collect();
        assert_eq!(failed_rules(&v), want, "{}: {}", case.case, case.why);
        // Every file check ran, and each failure names the upload it belongs to.
        for id in FILE_CHECKS {
            assert!(
                v["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["rule"] == id),
                "{}: {id} did not run",
                case.case
            );
        }
        for r in v["results"].as_array().unwrap() {
            assert_eq!(r["upload"].as_str(), Some(changes.as_str()), "{r}");
        }
        assert_eq!(v["uploads"][0]["file"].as_str(), Some(changes.as_str()));
    }
}

#[test]
fn an_unsafe_name_is_never_opened() {
    let v = json(&debgate(&[
        "check",
        "--format",
        "json",
        &case_changes("unsafe-name"),
    ]));
    let unsafe_result = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "changes-unsafe-name" && r["status"] == "fail")
        .expect("unsafe-name fails");
    assert_eq!(unsafe_result["path"], "../../../etc/passwd");
    assert!(unsafe_result["message"]
        .as_str()
        .unwrap()
        .contains("not opened"));
    // Had it been opened, /etc/passwd's size or checksum would not match the listed empty file.
    for r in v["results"].as_array().unwrap() {
        if r["rule"] == "changes-size-mismatch" || r["rule"] == "changes-checksum-mismatch" {
            assert_eq!(r["status"], "pass", "{r}");
        }
    }
}

#[test]
fn a_directory_holding_an_upload_judges_its_packages_once() {
    let out = debgate(&["check", "--format", "json", "testdata/uploads/good"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["uploads"].as_array().unwrap().len(), 1);
    let packages = v["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        1,
        "the .deb beside the .changes is not also loose"
    );
    assert!(packages[0]["upload"].is_string());
}

#[test]
fn uploads_and_loose_packages_are_separate_sets() {
    let good = case_changes("good");
    let out = debgate(&[
        "check",
        "--format",
        "json",
        &good,
        "testdata/releases/focal-like",
    ]);
    assert_eq!(out.status.code(), Some(1), "focal-like fails");
    let v = json(&out);
    for r in v["results"].as_array().unwrap() {
        if r["status"] == "fail" {
            assert!(r.get("upload").is_none(), "only the loose set fails: {r}");
        }
    }
}

/// Copy a case directory into a temporary one, to break it further or sign it.
fn copy_case(case: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("testdata/uploads").join(case)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let changes = changes_in(dir.path());
    (dir, changes)
}

#[test]
fn a_listed_symlink_is_not_followed() {
    let (dir, changes) = copy_case("good");
    let deb = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap();
    let real = dir.path().join("elsewhere.bin");
    std::fs::rename(&deb, &real).unwrap();
    std::os::unix::fs::symlink(&real, &deb).unwrap();
    let out = debgate(&["check", "--format", "json", changes.to_str().unwrap()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1));
    let missing = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "changes-file-missing" && r["status"] == "fail")
        .expect("symlink refused");
    assert!(missing["message"]
        .as_str()
        .unwrap()
        .contains("symbolic link"));
    assert!(v["packages"].as_array().unwrap().is_empty(), "not read");
}

#[test]
fn upload_checks_cannot_be_waived() {
    let dir = tempfile::tempdir().unwrap();
    let waivers = dir.path().join("w.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\nrule = \"changes-checksum-mismatch\"\npackage = \"*\"\nreason = \"r\"\nbug = \"https://bugs.example/1\"\n",
    )
    .unwrap();
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--waivers",
        waivers.to_str().unwrap(),
        &case_changes("checksum-mismatch"),
    ]);
    assert_eq!(out.status.code(), Some(1), "the failure stands");
    let v = json(&out);
    assert_eq!(v["summary"]["rejected_waivers"], 1, "{v}");
}

fn snapshot(name: &str, actual: &str) {
    common::snapshot("testdata/uploads/expected", name, actual);
}

#[test]
fn junit_and_sarif_snapshots_of_a_broken_upload() {
    let changes = case_changes("checksum-mismatch");
    let junit = debgate(&["check", "--format", "junit", &changes]);
    assert_eq!(junit.status.code(), Some(1));
    let xml = String::from_utf8(junit.stdout).unwrap();
    assert!(xml.contains("<failure message=\"SHA-256 is "), "{xml}");
    snapshot("checksum-mismatch.junit.xml", &xml);

    let sarif = debgate(&["check", "--format", "sarif", &changes]);
    assert_eq!(sarif.status.code(), Some(1));
    let text = String::from_utf8(sarif.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "changes-checksum-mismatch"));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "changes-checksum-mismatch");
    snapshot("checksum-mismatch.sarif", &text);
}

/// A throwaway OpenPGP home: gpg here, never the user's. Dropping it stops its agent.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// None when gpg is not installed; CI installs it, so there a missing gpg fails the test.
    fn new() -> Option<Gpg> {
        if Command::new("gpg").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "gpg is not installed; .ci/run installs gnupg"
            );
            eprintln!("skipping: gpg is not installed");
            return None;
        }
        // A short path: gpg-agent's socket path must fit in ~100 bytes.
        let home = tempfile::Builder::new()
            .prefix("dg")
            .tempdir_in("/tmp")
            .unwrap();
        Some(Gpg { home })
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn new_key(&self, uid: &str) -> String {
        self.run(&["--quick-gen-key", uid, "ed25519", "sign", "never"]);
        let out = self.run(&["--with-colons", "--list-keys", uid]);
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_string()
    }

    fn export(&self, fpr: &str, to: &Path) {
        let out = self.run(&["--export", fpr]);
        std::fs::write(to, out.stdout).unwrap();
    }

    fn clearsign(&self, fpr: &str, file: &Path) {
        let signed = file.with_extension("asc");
        self.run(&[
            "--local-user",
            fpr,
            "--clearsign",
            "--output",
            signed.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        std::fs::rename(&signed, file).unwrap();
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

fn check_signed(changes: &Path, keyring: &Path) -> (Option<i32>, Value) {
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--keyring",
        keyring.to_str().unwrap(),
        changes.to_str().unwrap(),
    ]);
    (out.status.code(), json(&out))
}

fn result<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} result in {v}"))
}

#[test]
fn keyring_verifies_signatures() {
    let Some(gpg) = Gpg::new() else { return };
    let trusted = gpg.new_key("debgate uploader <uploader@example.invalid>");
    let stranger = gpg.new_key("stranger <stranger@example.invalid>");
    let keyring = gpg.home.path().join("uploaders.gpg");
    gpg.export(&trusted, &keyring);

    // A good signature: the upload passes and the signer is reported.
    let (dir, changes) = copy_case("good");
    gpg.clearsign(&trusted, &changes);
    let (code, v) = check_signed(&changes, &keyring);
    assert_eq!(code, Some(0), "{v}");
    for rule in [
        "changes-unsigned",
        "changes-bad-signature",
        "changes-unknown-key",
    ] {
        assert_eq!(result(&v, rule)["status"], "pass", "{rule}: {v}");
    }
    assert_eq!(v["uploads"][0]["signer"].as_str(), Some(trusted.as_str()));

    // Tampered after signing: the Version line is changed inside the signed text.
    let text = std::fs::read_to_string(&changes).unwrap();
    std::fs::write(&changes, text.replace("Urgency: medium", "Urgency: high")).unwrap();
    let (code, v) = check_signed(&changes, &keyring);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(result(&v, "changes-bad-signature")["status"], "fail", "{v}");

    // Signed by a key that is not in the keyring.
    let (_dir2, changes2) = copy_case("good");
    gpg.clearsign(&stranger, &changes2);
    let (code, v) = check_signed(&changes2, &keyring);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(result(&v, "changes-unknown-key")["status"], "fail", "{v}");

    // Not signed at all.
    let (_dir3, changes3) = copy_case("good");
    let (code, v) = check_signed(&changes3, &keyring);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(result(&v, "changes-unsigned")["status"], "fail", "{v}");

    // Without --keyring the signature is not judged and a signed upload still parses.
    let (code, v) = (
        debgate(&["check", "--format", "json", changes2.to_str().unwrap()])
            .status
            .code(),
        json(&debgate(&[
            "check",
            "--format",
            "json",
            changes2.to_str().unwrap(),
        ])),
    );
    assert_eq!(code, Some(0), "{v}");
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["rule"] != "changes-unsigned"));
    drop(dir);
}

#[test]
fn a_missing_keyring_is_a_usage_error() {
    let out = debgate(&[
        "check",
        "--keyring",
        "/nonexistent/keyring.gpg",
        &case_changes("good"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--keyring"));
}

/// With no gpgv or sqv on PATH, `--keyring` is one usage error before any package is read, not
/// one error per upload.
#[test]
fn keyring_without_a_verifier_is_one_usage_error() {
    let empty = tempfile::tempdir().unwrap();
    let keyring = empty.path().join("keyring.gpg");
    std::fs::write(&keyring, b"not read").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_debgate"))
        .current_dir(root())
        .env("PATH", empty.path())
        .args(["check", "--format", "json", "--keyring"])
        .arg(&keyring)
        .args([case_changes("good"), case_changes("adm-proposal")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report: nothing was read");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("no OpenPGP verifier found").count(),
        1,
        "{stderr}"
    );
    // Without --keyring the same PATH is no problem: signatures are not checked.
    let plain = Command::new(env!("CARGO_BIN_EXE_debgate"))
        .current_dir(root())
        .env("PATH", empty.path())
        .args(["check", "--format", "json", &case_changes("good")])
        .output()
        .unwrap();
    assert_eq!(
        plain.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
}

/// Build testdata/sources/hello-debgate with dpkg-buildpackage in a temporary copy, signing
/// with `key` in `gpg`'s home when given. Returns the directory and the .changes. None when
/// dpkg-buildpackage is missing (CI installs dpkg-dev, so there it fails instead).
fn dpkg_build(gpg: Option<(&Gpg, &str)>) -> Option<(tempfile::TempDir, PathBuf)> {
    if Command::new("dpkg-buildpackage")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "dpkg-buildpackage is not installed; .ci/run installs dpkg-dev"
        );
        eprintln!("skipping: dpkg-buildpackage is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hello-debgate");
    let copy = Command::new("cp")
        .arg("-r")
        .arg(root().join("testdata/sources/hello-debgate"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(copy.success());
    let mut cmd = Command::new("dpkg-buildpackage");
    // -b: binary-only; -d: no build-dependency check (the package needs nothing but dpkg-dev).
    cmd.current_dir(&src).args(["-b", "-d"]);
    match gpg {
        Some((gpg, key)) => {
            cmd.env("GNUPGHOME", gpg.home.path())
                .arg(format!("--sign-key={key}"))
                .arg("--force-sign");
        }
        None => {
            cmd.args(["-us", "-uc"]);
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "dpkg-buildpackage: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let changes = changes_in(dir.path());
    Some((dir, changes))
}

#[test]
fn a_changes_written_by_dpkg_passes() {
    let Some((_dir, changes)) = dpkg_build(None) else {
        return;
    };
    let out = debgate(&["check", "--format", "json", changes.to_str().unwrap()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    for id in FILE_CHECKS {
        assert_eq!(result(&v, id)["status"], "pass", "{id}: {v:#}");
    }
    assert_eq!(v["packages"].as_array().unwrap().len(), 1);
    assert_eq!(v["uploads"][0]["source"], "hello-debgate");
}

#[test]
fn a_changes_signed_by_dpkg_buildpackage_verifies() {
    let Some(gpg) = Gpg::new() else { return };
    let key = gpg.new_key("debgate uploader <uploader@example.invalid>");
    let Some((dir, changes)) = dpkg_build(Some((&gpg, &key))) else {
        return;
    };
    let keyring = dir.path().join("keyring.gpg");
    gpg.export(&key, &keyring);
    let (code, v) = check_signed(&changes, &keyring);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["uploads"][0]["signer"].as_str(), Some(key.as_str()));
    assert_eq!(result(&v, "changes-bad-signature")["status"], "pass");
}

#[test]
fn a_listed_fifo_or_directory_is_not_opened() {
    // Opening a FIFO would block the run forever; a directory is no upload file.
    for make in ["mkfifo", "mkdir"] {
        let (dir, changes) = copy_case("good");
        let buildinfo = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "buildinfo"))
            .unwrap();
        std::fs::remove_file(&buildinfo).unwrap();
        assert!(Command::new(make)
            .arg(&buildinfo)
            .status()
            .unwrap()
            .success());
        let out = debgate(&["check", "--format", "json", changes.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{make}");
        let v = json(&out);
        let missing = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "changes-file-missing" && r["status"] == "fail")
            .unwrap_or_else(|| panic!("{make}: {v:#}"));
        assert!(missing["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file"));
    }
}

#[test]
fn jsonl_names_each_upload_even_an_unparsable_one() {
    let out = debgate(&[
        "check",
        "--format",
        "jsonl",
        &case_changes("unparsable"),
        &case_changes("good"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uploads: Vec<&Value> = lines.iter().filter(|l| l["type"] == "upload").collect();
    assert_eq!(uploads.len(), 2);
    assert!(uploads.iter().any(|u| u["error"].is_string()));
    assert!(uploads
        .iter()
        .any(|u| u["source"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(
        lines.iter().any(|l| l["type"] == "result"),
        "the good one is judged"
    );
}

#[test]
fn text_lines_about_an_upload_name_its_path() {
    let out = debgate(&[
        "check",
        "testdata/uploads/checksum-mismatch",
        "testdata/uploads/adm-proposal",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("E: ")).collect();
    // The proposal's package fails its policy rule and dpkg-cannot-unpack (its capability
    // rides in a PAX header).
    assert_eq!(failures.len(), 3, "{text}");
    // An upload's own result and a result about a package of an upload both say which upload.
    for (line, dir) in failures
        .iter()
        .zip(["checksum-mismatch", "adm-proposal", "adm-proposal"])
    {
        assert!(
            line.starts_with(&format!("E: testdata/uploads/{dir}/")) && line.contains(".changes: "),
            "{line}"
        );
    }
}
