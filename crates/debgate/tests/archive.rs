//! `debgate check --archive`: the seed release served as a `file://` apt repository signed
//! with a throwaway key gives the verdicts a check of the same files gives; a package whose
//! bytes are not its index's is that package's error; a chain that does not verify stops the
//! run; `trusted=yes` says once that nothing was verified.

mod common;

use common::*;
use debgate_testkeys::{gpg_available, Key};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The seed's groovy-like release as a signed repository: (repository, its key, keyring).
fn repository() -> (TempDir, Key, PathBuf) {
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();
    let repo = repository_of(&key, "groovy-like", "groovy");
    (repo, key, keyring)
}

/// The seed release `testdata/releases/RELEASE` as a repository of suite `suite`, signed by
/// `key`.
fn repository_of(key: &Key, release: &str, suite: &str) -> TempDir {
    repository_from(key, &[(release, "")], suite)
}

/// Several seed releases as one repository of suite `suite` (each release's files under its
/// own pool directory, so that equal names don't collide): a set with duplicate copies.
fn repository_of_many(key: &Key, releases: &[&str], suite: &str) -> TempDir {
    let parts: Vec<(&str, &str)> = releases.iter().map(|r| (*r, *r)).collect();
    repository_from(key, &parts, suite)
}

/// A repository of suite `suite`, signed by `key`, of the seed releases `(release, pool
/// directory)` (`""`: straight under `pool/main`).
fn repository_from(key: &Key, parts: &[(&str, &str)], suite: &str) -> TempDir {
    let repo = tempfile::tempdir().unwrap();
    let mut packages = String::new();
    for (release, dir) in parts {
        let rel = if dir.is_empty() {
            "pool/main".to_string()
        } else {
            format!("pool/main/{dir}")
        };
        let pool = repo.path().join(&rel);
        std::fs::create_dir_all(&pool).unwrap();
        let mut debs: Vec<PathBuf> =
            std::fs::read_dir(root().join("testdata/releases").join(release))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "deb"))
                .collect();
        debs.sort();
        for deb in debs {
            let name = deb.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&deb).unwrap();
            std::fs::write(pool.join(&name), &bytes).unwrap();
            let package = name.split('_').next().unwrap();
            packages.push_str(&format!(
                "Package: {package}\nVersion: 1\nArchitecture: amd64\nFilename: {rel}/{name}\nSize: {}\nSHA256: {}\n\n",
                bytes.len(),
                hex(&Sha256::digest(&bytes))
            ));
        }
    }
    let dists = repo.path().join("dists").join(suite);
    std::fs::create_dir_all(dists.join("main/binary-amd64")).unwrap();
    std::fs::write(dists.join("main/binary-amd64/Packages"), &packages).unwrap();
    let release = format!(
        "Suite: {suite}\nCodename: {suite}\nDate: {}\nSHA256:\n {} {} main/binary-amd64/Packages\n",
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S UTC"),
        hex(&Sha256::digest(packages.as_bytes())),
        packages.len()
    );
    key.clearsign(&release, &dists.join("InRelease"));
    repo
}

/// Asserts that `out` exited with `code`, showing its stderr when not.
#[track_caller]
fn assert_exit(out: &std::process::Output, code: Option<i32>) {
    assert_eq!(
        out.status.code(),
        code,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spec(repo: &Path, opts: &str) -> String {
    spec_of(repo, "groovy", opts)
}

fn spec_of(repo: &Path, suite: &str, opts: &str) -> String {
    format!(
        "deb [arch=amd64{opts}] file://{} {suite} main",
        repo.display()
    )
}

/// Each rule's statuses over the report, by package name, to compare two runs.
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap_or("").to_string(),
                r["package"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_repository_gives_the_verdicts_of_its_files() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let direct = debgate(&["check", "--format", "json", "testdata/releases/groovy-like"]);
    let s = spec(repo.path(), "");
    let kr = keyring.to_string_lossy();
    let via = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
    ]);
    assert_exit(&via, direct.status.code());
    let (d, a) = (json(&direct), json(&via));
    assert_eq!(verdicts(&a), verdicts(&d));
    assert_eq!(a["packages"].as_array().unwrap().len(), 4);

    // signed-by= in the source does the same; --package selects.
    let s = spec(repo.path(), &format!(" signed-by={kr}"));
    let one = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--package",
        "linux-image-*",
    ]);
    let packages = json(&one)["packages"].as_array().unwrap().clone();
    assert_eq!(packages.len(), 1, "{packages:?}");
    assert!(packages[0]["package"]
        .as_str()
        .unwrap()
        .starts_with("linux-image-"));
}

#[test]
fn a_changed_package_is_its_own_error_and_a_broken_chain_stops_the_run() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let kr = keyring.to_string_lossy();
    // One package replaced after the index was made: that package is unreadable (exit 2), the
    // other three are judged.
    let pool = repo.path().join("pool/main");
    let victim = std::fs::read_dir(&pool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    std::fs::write(&victim, bytes).unwrap();
    let s = spec(repo.path(), "");
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let packages = report["packages"].as_array().unwrap();
    let failed: Vec<&Value> = packages.iter().filter(|p| !p["error"].is_null()).collect();
    assert_eq!(failed.len(), 1, "{packages:?}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("SHA-256"),
        "{failed:?}"
    );
    assert_eq!(packages.len() - failed.len(), 3);

    // No keyring: no run, as apt.
    let out = debgate(&["check", "--archive", &s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no archive keyring"));
    // --keyring (uploaders') is not an archive keyring.
    let out = debgate(&["check", "--archive", &s, "--keyring", &kr]);
    assert_eq!(out.status.code(), Some(2));
    // trusted=yes reads it, and says once that nothing was verified.
    let s = spec(repo.path(), " trusted=yes");
    let out = debgate(&["check", "--archive", &s]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("nothing in this repository was verified")
            .count(),
        1,
        "{err}"
    );
}

/// The report without what names where the packages came from (a side's label, a file's path).
fn without_places(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            for k in ["old", "new", "file", "label"] {
                if map.get(k).is_some_and(Value::is_string) {
                    map.remove(k);
                }
            }
            for x in map.values_mut() {
                *x = without_places(x.take());
            }
        }
        Value::Array(items) => {
            for x in items.iter_mut() {
                *x = without_places(x.take());
            }
        }
        _ => {}
    }
    v
}

#[test]
fn diff_inspect_and_privileges_read_repositories_as_they_read_files() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();
    let kr = keyring.to_string_lossy();
    let (focal, groovy) = (
        repository_of(&key, "focal-like", "focal"),
        repository_of(&key, "groovy-like", "groovy"),
    );
    let (old, new) = (
        spec_of(focal.path(), "focal", ""),
        spec_of(groovy.path(), "groovy", ""),
    );
    let files = debgate(&[
        "diff",
        "--format",
        "json",
        "testdata/releases/focal-like",
        "testdata/releases/groovy-like",
    ]);
    for args in [
        vec!["--old-archive", &old, "--new-archive", &new],
        vec!["--old-archive", &old, "testdata/releases/groovy-like"],
        vec!["testdata/releases/focal-like", "--new-archive", &new],
    ] {
        let mut argv = vec!["diff", "--format", "json", "--archive-keyring", &kr];
        argv.extend(args.iter().copied());
        let via = debgate(&argv);
        assert_eq!(
            via.status.code(),
            files.status.code(),
            "{args:?}: {}",
            String::from_utf8_lossy(&via.stderr)
        );
        assert_eq!(
            without_places(json(&via)),
            without_places(json(&files)),
            "{args:?}"
        );
    }
    // A side too many, or one too few.
    let out = debgate(&["diff", "--old-archive", &old, "--archive-keyring", &kr]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes 1 path(s)"));

    // inspect --archive: a JSON line per package, each what inspect says of its file.
    let out = debgate(&["inspect", "--archive", &new, "--archive-keyring", &kr]);
    assert_exit(&out, Some(0));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for line in &lines {
        assert_eq!(line["type"], "inspect");
        let name = line["package"].as_str().unwrap();
        let deb = std::fs::read_dir(root().join("testdata/releases/groovy-like"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{name}_"))
            })
            .unwrap();
        let direct = debgate(&["inspect", "--format", "json", deb.to_str().unwrap()]);
        let mut line = line.clone();
        line.as_object_mut().unwrap().remove("type");
        assert_eq!(
            without_places(line),
            without_places(json(&direct)),
            "{name}"
        );
    }

    // privileges --archive lists what privileges of the files lists.
    let via = debgate(&[
        "privileges",
        "--format",
        "json",
        "--archive",
        &new,
        "--archive-keyring",
        &kr,
    ]);
    let direct = debgate(&[
        "privileges",
        "--format",
        "json",
        "testdata/releases/groovy-like",
    ]);
    assert_eq!(via.status.code(), direct.status.code());
    let sorted = |v: Value| {
        let mut p = without_places(v)["packages"].as_array().unwrap().clone();
        p.sort_by_key(|x| x["package"].to_string());
        p
    };
    assert_eq!(sorted(json(&via)), sorted(json(&direct)));
}

#[test]
fn shards_split_a_repository_and_need_one() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let kr = keyring.to_string_lossy();
    let s = spec(repo.path(), "");
    let mut seen = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = debgate(&[
            "check",
            "--format",
            "json",
            "--archive",
            &s,
            "--archive-keyring",
            &kr,
            "--shard",
            &shard,
        ]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{shard}");
        for p in json(&out)["packages"].as_array().unwrap() {
            seen.push(p["package"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    let all = json(&debgate(&[
        "check",
        "--format",
        "json",
        "testdata/releases/groovy-like",
    ]));
    let mut names: Vec<String> = all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(seen, names, "each package in exactly one of the 3 parts");
    for bad in [vec!["--shard", "0/3"], vec!["--shard", "4/3"]] {
        let mut argv = vec!["check", "--archive", &s, "--archive-keyring", &kr];
        argv.extend(bad.iter().copied());
        assert_eq!(debgate(&argv).status.code(), Some(2), "{bad:?}");
    }
    let out = debgate(&["check", "--shard", "1/2", "testdata/releases/groovy-like"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply to --archive only"));
}

#[test]
fn the_facts_cache_answers_for_a_package_it_has_read() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let kr = keyring.to_string_lossy();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_string_lossy().into_owned();
    let s = spec(repo.path(), "");
    let run = |extra: &[&str]| {
        let mut argv = vec![
            "check",
            "--format",
            "json",
            "--archive",
            &s,
            "--archive-keyring",
            &kr,
        ];
        argv.extend(extra);
        debgate(&argv)
    };
    let cold = run(&["--cache", &dir]);
    let info = stdout(&debgate(&["cache", "info", "--cache", &dir]));
    assert!(info.contains(": 4 entries"), "{info}");

    // The packages are gone from the mirror: the cache still answers for them, by the SHA-256
    // that the verified index gives, and the verdicts are the same.
    let pool = repo.path().join("pool/main");
    let moved = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&pool).unwrap() {
        let p = e.unwrap().path();
        std::fs::rename(&p, moved.path().join(p.file_name().unwrap())).unwrap();
    }
    let warm = run(&["--cache", &dir]);
    assert_exit(&warm, cold.status.code());
    assert_eq!(verdicts(&json(&warm)), verdicts(&json(&cold)));
    // Without the cache they are read, and are not there.
    let off = run(&["--no-cache"]);
    assert_eq!(off.status.code(), Some(2));
    let failed = json(&off)["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["error"].is_null())
        .count();
    assert_eq!(failed, 4);

    // A damaged entry is never trusted: it is read again (and here, not found).
    let objects = cache.path().join("objects");
    let entry = walk_files(&objects).into_iter().next().unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&entry, bytes).unwrap();
    let damaged = run(&["--cache", &dir]);
    assert_eq!(damaged.status.code(), Some(2));

    let gc = stdout(&debgate(&[
        "cache",
        "gc",
        "--cache",
        &dir,
        "--max-size",
        "0",
    ]));
    assert!(gc.contains("0 entries, 0 bytes kept"), "{gc}");
    // The cache options need a repository.
    let out = debgate(&["check", "--no-cache", "testdata/releases/groovy-like"]);
    assert_eq!(out.status.code(), Some(2));
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("CACHEDIR")
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn merged_shards_are_the_single_run() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let kr = keyring.to_string_lossy();
    let s = spec(repo.path(), "");
    let out = tempfile::tempdir().unwrap();
    let whole = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
    ]);
    let n = 3;
    let mut files = Vec::new();
    for k in 1..=n {
        let shard = format!("{k}/{n}");
        let part = debgate(&[
            "check",
            "--format",
            "jsonl",
            "--archive",
            &s,
            "--archive-keyring",
            &kr,
            "--shard",
            &shard,
        ]);
        // A shard reads and writes facts; the verdicts are the merge's.
        assert_exit(&part, Some(0));
        let text = String::from_utf8_lossy(&part.stdout).into_owned();
        assert!(text.starts_with(r#"{"type":"shard""#), "{text}");
        assert!(text
            .lines()
            .last()
            .unwrap()
            .starts_with(r#"{"type":"shard-end""#));
        assert!(
            !text.contains(r#""type":"result""#),
            "a shard judges nothing"
        );
        let file = out.path().join(format!("shard-{k}.jsonl"));
        std::fs::write(&file, &part.stdout).unwrap();
        files.push(file.to_string_lossy().into_owned());
    }
    // Given in any order.
    let mut argv = vec!["merge", "--format", "json"];
    argv.extend(files.iter().rev().map(String::as_str));
    let merged = debgate(&argv);
    assert_exit(&merged, whole.status.code());
    assert_eq!(
        json(&merged),
        json(&whole),
        "the merged report is the single run's"
    );
    // As JSON Lines, the merge streams (each part's facts read twice from disk); its lines are
    // the single run's.
    let mut argv = vec!["merge", "--format", "jsonl"];
    argv.extend(files.iter().map(String::as_str));
    let streamed = debgate(&argv);
    let single = debgate(&[
        "check",
        "--format",
        "jsonl",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
        "--no-cache",
    ]);
    assert_eq!(streamed.status.code(), single.status.code());
    assert_eq!(lines_by_type(&streamed), lines_by_type(&single));

    // Shards that make no whole are refused, judging nothing.
    let refused = |argv: &[&str], why: &str| {
        let out = debgate(argv);
        assert_eq!(out.status.code(), Some(2), "{argv:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{argv:?}: {err}");
    };
    refused(&["merge", &files[0], &files[1]], "part(s) 3/3 missing");
    // A part cut short (its runner killed) is not whole: its closing line is missing, or
    // announces lines that are not there.
    let text = std::fs::read_to_string(&files[2]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = out.path().join("cut.jsonl");
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let cut = cut.to_string_lossy().into_owned();
    refused(&["merge", &files[0], &files[1], &cut], "not whole");
    if lines.len() > 2 {
        let mut short = lines.clone();
        short.remove(1);
        let dropped = out.path().join("dropped.jsonl");
        std::fs::write(&dropped, short.join("\n") + "\n").unwrap();
        let dropped = dropped.to_string_lossy().into_owned();
        refused(&["merge", &files[0], &files[1], &dropped], "announces");
    }
    refused(
        &["merge", &files[0], &files[0], &files[1], &files[2]],
        "given twice",
    );
    refused(
        &[
            "merge",
            "--limit",
            "max-content-bytes=1000",
            &files[0],
            &files[1],
            &files[2],
        ],
        "other reader limits",
    );
    let plain = out.path().join("plain.jsonl");
    let direct = debgate(&[
        "check",
        "--format",
        "jsonl",
        "testdata/releases/groovy-like",
    ]);
    std::fs::write(&plain, &direct.stdout).unwrap();
    refused(&["merge", plain.to_str().unwrap()], "not the output of");
}

/// `spec_of` for a repository served over loopback HTTP.
fn http_spec(server: &debgate_testkeys::server::Server, suite: &str) -> String {
    format!("deb [arch=amd64] {} {suite} main", server.url())
}

#[test]
fn over_http_a_repository_reads_as_from_disk_and_a_fault_loses_one_package() {
    use debgate_testkeys::server::{Fault, Server};
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();
    let kr = keyring.to_string_lossy();
    let (focal, groovy) = (
        repository_of(&key, "focal-like", "focal"),
        repository_of(&key, "adm-proposal", "groovy"),
    );
    let (old_server, new_server) = (Server::serve(focal.path()), Server::serve(groovy.path()));
    let (old, new) = (
        http_spec(&old_server, "focal"),
        http_spec(&new_server, "groovy"),
    );
    let net = ["--timeout", "1", "--retries", "1", "--no-cache"];

    // check over http judges what check of the files judges.
    let mut argv = vec![
        "check",
        "--format",
        "json",
        "--archive",
        &new,
        "--archive-keyring",
        &kr,
    ];
    argv.extend(net);
    let via = debgate(&argv);
    let direct = debgate(&[
        "check",
        "--format",
        "json",
        "testdata/releases/adm-proposal",
    ]);
    assert_exit(&via, direct.status.code());
    assert_eq!(verdicts(&json(&via)), verdicts(&json(&direct)));

    // A diff of two served releases is the diff of their files, down to the content of a file
    // privileged on the new side only, which is read again over http on the old side.
    let mut argv = vec![
        "diff",
        "--format",
        "json",
        "--archive-keyring",
        &kr,
        "--old-archive",
        &old,
        "--new-archive",
        &new,
    ];
    argv.extend(net);
    let via = debgate(&argv);
    let files = debgate(&[
        "diff",
        "--format",
        "json",
        "testdata/releases/focal-like",
        "testdata/releases/adm-proposal",
    ]);
    assert_exit(&via, files.status.code());
    let report = without_places(json(&via));
    assert_eq!(report, without_places(json(&files)));
    assert!(
        report.to_string().contains(r#""compared_by":"bytes""#),
        "a privileged file compared by its bytes on both sides: {report}"
    );

    // One package missing from the server: that package is the run's error, the others are
    // judged; one that stalls is given up after --timeout and its retries.
    let pool: Vec<String> = std::fs::read_dir(groovy.path().join("pool/main"))
        .unwrap()
        .map(|e| format!("/pool/main/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    new_server.fault(&pool[0], Fault::NotFound);
    new_server.fault(&pool[1], Fault::Stall);
    let mut argv = vec![
        "check",
        "--format",
        "json",
        "--archive",
        &new,
        "--archive-keyring",
        &kr,
    ];
    argv.extend(net);
    let started = std::time::Instant::now();
    let out = debgate(&argv);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let packages = report["packages"].as_array().unwrap();
    let errors: Vec<&str> = packages
        .iter()
        .filter_map(|p| p["error"].as_str())
        .collect();
    assert_eq!(errors.len(), 2, "{packages:?}");
    assert!(errors.iter().any(|e| e.contains("404")), "{errors:?}");
    assert_eq!(packages.len(), 4);
    assert!(!report["results"].as_array().unwrap().is_empty());
}

/// A JSON Lines output's lines by type, each type's lines sorted (as text): what two runs that
/// write the same objects in another order share.
fn lines_by_type(out: &std::process::Output) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let kind = v["type"].as_str().unwrap().to_string();
        by.entry(kind).or_default().push(line.to_string());
    }
    for lines in by.values_mut() {
        lines.sort();
    }
    by
}

#[test]
fn jsonl_over_a_repository_streams_the_results_the_whole_set_gives() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();
    let kr = keyring.to_string_lossy().into_owned();
    // Set-level rules in play: sysctl over the set, presence, privileges allow-lists (unused
    // entries), unresolved script targets; and a repository holding two releases, whose
    // duplicate copies are set aside.
    let cases: Vec<(TempDir, &str, Vec<&str>)> = vec![
        (
            repository_of(&key, "groovy-like", "groovy"),
            "groovy",
            vec![],
        ),
        (
            repository_of(&key, "focal-like", "focal"),
            "focal",
            vec!["--waivers", "testdata/waivers/focal-like.toml"],
        ),
        (
            repository_of(&key, "adm-proposal", "groovy"),
            "groovy",
            vec![],
        ),
        (
            repository_of(&key, "adm-proposal-script", "groovy"),
            "groovy",
            vec!["--fail-on", "info"],
        ),
        (
            repository_of(&key, "groovy-unrestricted", "groovy"),
            "groovy",
            vec![],
        ),
        (
            repository_of_many(
                &key,
                &["groovy-like", "adm-proposal", "focal-like"],
                "groovy",
            ),
            "groovy",
            vec!["--waivers", "testdata/waivers/all.toml"],
        ),
    ];
    for (repo, suite, extra) in &cases {
        let s = spec_of(repo.path(), suite, "");
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().to_string_lossy().into_owned();
        let run = |more: &[&str]| {
            let mut argv = vec![
                "check",
                "--format",
                "jsonl",
                "--archive",
                &s,
                "--archive-keyring",
                &kr,
            ];
            argv.extend(extra.iter().copied());
            argv.extend(more);
            debgate(&argv)
        };
        // In memory (no cache), then streamed cold and warm.
        let whole = run(&["--no-cache"]);
        let cold = run(&["--cache", &dir]);
        let warm = run(&["--cache", &dir]);
        let expected = lines_by_type(&whole);
        assert!(expected["result"].len() > 4, "{expected:?}");
        // A repository's several versions of a package are how archives are: each copy set
        // aside is a note (info), where files named on the command line get a warning.
        let copies: Vec<Value> = expected["result"]
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["rule"] == "duplicate-package" && r["status"] == "fail")
            .collect();
        assert!(copies.iter().all(|r| r["severity"] == "info"), "{copies:?}");
        assert_eq!(
            copies.is_empty(),
            !repo.path().join("pool/main/focal-like").exists(),
            "the repository of three releases has copies: {copies:?}"
        );
        for streamed in [&cold, &warm] {
            assert_exit(streamed, whole.status.code());
            assert_eq!(
                lines_by_type(streamed),
                expected,
                "{}",
                repo.path().display()
            );
            // Streamed: package by package, each line before its results (in memory, every
            // package line comes first), the summary last.
            let kinds: Vec<String> = String::from_utf8_lossy(&streamed.stdout)
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].to_string())
                .collect();
            let last_package = kinds.iter().rposition(|k| k == "\"package\"").unwrap();
            let first_result = kinds.iter().position(|k| k == "\"result\"").unwrap();
            assert!(first_result < last_package, "{kinds:?}");
            assert_eq!(kinds[0], "\"package\"");
            assert_eq!(kinds.last().unwrap(), "\"summary\"");
        }
    }
}

#[test]
fn https_trusts_the_systems_roots_as_apt_does() {
    use debgate_testkeys::server::Server;
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();
    let repo = repository_of(&key, "groovy-like", "groovy");
    let server = Server::serve(repo.path());
    let https = server.url().replacen("http://", "https://", 1);
    let spec = format!("deb [arch=amd64] {https} groovy main");
    // A system trust store with no CA in it: TLS is refused before any byte is read, with the
    // reason, where a bundled copy of Mozilla's roots would have gone on to the handshake.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_debgate"))
        .args(["check", "--no-cache", "--timeout", "1", "--retries", "0"])
        .args(["--archive", &spec, "--archive-keyring"])
        .arg(&keyring)
        .env("SSL_CERT_FILE", empty.path())
        .env("SSL_CERT_DIR", empty.path().with_extension("none"))
        .current_dir(root())
        .output()
        .unwrap();
    assert_exit(&out, Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No CA certificates"), "{err}");
}
