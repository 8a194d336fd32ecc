//! `debgate diff --format html`: the report is one self-contained file with the summary on top,
//! it escapes hostile package text, and it renders in headless Chromium with no console message,
//! opening the section a URL names. The Chromium tests print a skip reason when no Chromium is
//! installed (`.ci/run` installs Debian's `chromium`, so CI runs them).
//!
//! `DEBGATE_BLESS=1 cargo test -p debgate --test diff_html` also rewrites docs/diff-report.png,
//! the focal-like → groovy-like screenshot the README shows.

mod common;

use common::{debgate, root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FOCAL: &str = "testdata/releases/focal-like";
const GROOVY: &str = "testdata/releases/groovy-like";
const ADM_SCRIPT: &str = "testdata/releases/adm-proposal-script";

/// A payload that would run script, load a remote resource or break out of an attribute if
/// any of it reached the page unescaped.
const HOSTILE: &str =
    "<script>console.log('pwned')</script>\"><img src=x onerror=\"console.log('pwned')\">";

/// Write the HTML report of OLD → NEW to DIR/report.html; returns its path and the exit code.
fn html_report(dir: &Path, old: &str, new: &str) -> (PathBuf, Option<i32>) {
    let file = dir.join("report.html");
    let out = debgate(&[
        "diff",
        "--format",
        "html",
        "-o",
        file.to_str().unwrap(),
        old,
        new,
    ]);
    assert!(
        out.stdout.is_empty(),
        "-o sends the report to the file, not stdout"
    );
    assert!(
        file.is_file(),
        "no report written: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress is for terminals only; a pipe gets none.
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("reading "),
        "progress on a pipe"
    );
    (file, out.status.code())
}

/// The `id` of the section of the first pair that `pick` selects in the JSON report.
fn section_of(old: &str, new: &str, pick: impl Fn(&Value) -> bool) -> String {
    let out = debgate(&["diff", "--format", "json", old, new]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let pair = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| pick(p))
        .expect("a pair matching the test's choice");
    // Debian package names need no encoding: the id is `pkg-` and the name.
    format!("pkg-{}", pair["package"].as_str().unwrap())
}

fn has_conffile_diff(p: &Value) -> bool {
    p["content"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "conffile")
}

fn has_kconfig(p: &Value) -> bool {
    !p["kconfig"].as_array().unwrap().is_empty()
}

/// A file with no external asset: no tag fetches anything, no link leaves the page but a
/// reference's to its tracker (a CVE, a Debian bug, a Launchpad bug: plain navigation, which
/// the CSP's `default-src 'none'` does not govern, and which sends no referrer), and the style
/// sheet imports nothing. Attribute names only: escaped package text (in text or in a quoted value,
/// where it can hold neither `<` nor `"`) may well read `src=`.
fn assert_self_contained(html: &str) {
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
    {
        if let Some((_, value)) = tag.split_once("href=\"") {
            let tracker = [
                "https://security-tracker.debian.org/tracker/CVE-",
                "https://bugs.debian.org/",
                "https://launchpad.net/bugs/",
            ]
            .iter()
            .any(|t| value.starts_with(t))
                && tag.ends_with("rel=\"noreferrer noopener\"");
            assert!(
                value.starts_with('#') || tracker,
                "a link off the page: <{tag}>"
            );
        }
        // Keep the names, drop each quoted value: `a href="#x"` becomes `a href=""`.
        let names: String = tag
            .split('"')
            .enumerate()
            .map(|(i, part)| if i % 2 == 0 { part } else { "" })
            .collect::<Vec<_>>()
            .join("\"");
        let tag = names.as_str();
        for needle in [" src=", " srcset=", "link ", "iframe", "object ", "embed "] {
            assert!(
                !tag.contains(needle),
                "external asset marker `{needle}` in <{tag}>"
            );
        }
    }
    let css = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    assert!(!css.contains("url(") && !css.contains("@import"));
    assert_eq!(html.matches("<script>").count(), 1, "only our own script");
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn html_report_has_summary_sections_and_no_external_asset() {
    let dir = tempfile::tempdir().unwrap();
    let (file, code) = html_report(dir.path(), FOCAL, GROOVY);
    assert_eq!(code, Some(0));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains(">No regression<"), "headline");
    assert!(
        html.contains("<div class=\"n\">2</div><div class=\"l\">fixed</div>"),
        "the fixed count"
    );
    assert_eq!(html.matches("<span class=\"badge b-fixed\">").count(), 2);
    assert!(html.contains("Privilege changes after maintainer scripts"));
    // Every changed pair has a collapsible section, closed until asked for.
    assert_eq!(html.matches("<details class=\"pkg\"").count(), 4);
    assert!(!html.contains("<details class=\"pkg\" open"));
    let conffile = section_of(FOCAL, GROOVY, has_conffile_diff);
    assert!(html.contains(&format!("id=\"{conffile}\"")), "{conffile}");
    // The conffile gained lines: coloured as additions.
    assert!(html.contains("<span class=\"add\">+# kernel."), "{html}");
    assert_self_contained(&html);
}

#[test]
fn html_report_headlines_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let (file, code) = html_report(dir.path(), GROOVY, ADM_SCRIPT);
    assert_eq!(code, Some(1));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains(
            "<div class=\"headline bad\" id=\"headline\">1 regression(s) of severity error"
        ),
        "{html}"
    );
    assert_eq!(
        html.matches("<tr class=\"priv\">").count(),
        6,
        "three new end states, listed at the top and in the package"
    );
    assert!(html.contains("<span class=\"badge b-regression\">regression</span>"));
    assert!(html.contains("postinst:"), "provenance of the grant");
    assert_eq!(
        html.matches("<tr class=\"step\">").count(),
        1,
        "one escalation, after the verdicts and before the privilege changes"
    );
    let (verdicts, escalation, changes) = (
        html.find("id=\"verdicts\"").unwrap(),
        html.find("<span class=\"badge b-regression\">escalation</span>")
            .unwrap(),
        html.find("id=\"privileges\"").unwrap(),
    );
    assert!(verdicts < escalation && escalation < changes);
}

/// Two one-package sets whose new side carries [`HOSTILE`] in a control field, a file name, a
/// conffile and a maintainer script.
fn hostile_sets(dir: &Path) -> (PathBuf, PathBuf) {
    common::hostile_sets(dir, HOSTILE, HOSTILE)
}

#[test]
fn html_report_escapes_hostile_package_text() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = hostile_sets(dir.path());
    let (file, code) = html_report(dir.path(), old.to_str().unwrap(), new.to_str().unwrap());
    assert_eq!(code, Some(0));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(!html.contains(HOSTILE), "raw hostile text in the report");
    assert!(!html.contains("<img"));
    assert!(!html.contains("onerror=\""));
    // It is all there, escaped: in the control table, the file list and the diffs.
    let escaped = "&lt;script&gt;console.log(&#39;pwned&#39;)&lt;/script&gt;&quot;&gt;&lt;img";
    assert!(html.matches(escaped).count() >= 4, "{html}");
    assert_self_contained(&html);
}

// ---- headless Chromium ----

/// The Chromium to drive: `DEBGATE_CHROMIUM`, else `chromium` (Debian) or `chromium-browser`
/// on PATH. None means the browser tests skip, except under `CI=true`: `.ci/run` installs
/// Chromium, so a CI run without one is a broken setup, not a reason to skip.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEBGATE_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but no chromium on PATH: .ci/run should have installed it");
    }
    found
}

struct Run {
    stdout: String,
    /// Chromium's log with `--enable-logging=stderr`; page console messages are `CONSOLE` lines.
    stderr: String,
}

impl Run {
    fn console(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .collect()
    }
}

/// How long one headless load may take before the test calls it hung.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// Run headless Chromium on URL with one more mode flag (`--dump-dom`, `--screenshot=…`). A
/// fresh profile in `work` each time; no network, no first-run or background services, so a
/// run is quiet and the same on a CI machine as on a laptop.
fn browse(browser: &Path, work: &Path, url: &str, mode: &str) -> Run {
    let profile = tempfile::tempdir_in(work).unwrap();
    let out_path = work.join("chromium.out");
    let err_path = work.join("chromium.err");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_TIMEOUT:?} on {url}:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    };
    assert!(
        status.success(),
        "chromium {mode} {url}: {status}\n{}",
        run.stderr
    );
    run
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The `<details …>` start tag of the section with this id in a dumped DOM.
fn details_tag<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id} in the DOM"));
    let start = dom[..at].rfind("<details").unwrap();
    let end = at + dom[at..].find('>').unwrap();
    &dom[start..=end]
}

#[test]
fn chromium_renders_the_report_and_opens_a_section() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install chromium, or set DEBGATE_CHROMIUM); \
             .ci/run installs it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = html_report(dir.path(), FOCAL, GROOVY);
    let conffile = section_of(FOCAL, GROOVY, has_conffile_diff);
    let kconfig = section_of(FOCAL, GROOVY, has_kconfig);

    // A link to one package opens its section, and the page logs nothing at all: a CSP
    // violation, a script error or a blocked fetch would each be a CONSOLE line.
    let run = browse(
        &browser,
        dir.path(),
        &format!("{}#{conffile}", file_url(&file)),
        "--dump-dom",
    );
    assert!(run.console().is_empty(), "console: {:#?}", run.console());
    assert!(
        run.stdout.contains("<div class=\"headline ok\""),
        "no DOM dumped: {}",
        run.stderr
    );
    assert!(details_tag(&run.stdout, &conffile).contains(" open=\"\""));
    assert!(!details_tag(&run.stdout, &kconfig).contains(" open"));

    // The screenshot opens the two sections of the story, leaving the summary in view.
    let shot = dir.path().join("diff-report.png");
    let url = format!("{}?open={kconfig},{conffile}", file_url(&file));
    let run = browse(
        &browser,
        dir.path(),
        &url,
        &format!("--screenshot={}", shot.display()),
    );
    assert!(run.console().is_empty(), "console: {:#?}", run.console());
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "a blank page? {} bytes", png.len());
    let dom = browse(&browser, dir.path(), &url, "--dump-dom").stdout;
    assert!(details_tag(&dom, &kconfig).contains(" open=\"\""));
    assert!(details_tag(&dom, &conffile).contains(" open=\"\""));

    if std::env::var_os("DEBGATE_BLESS").is_some() {
        let docs = root().join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&shot, docs.join("diff-report.png")).unwrap();
    }
}

#[test]
fn chromium_runs_no_hostile_script() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install chromium, or set DEBGATE_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = hostile_sets(dir.path());
    let (file, _) = html_report(dir.path(), old.to_str().unwrap(), new.to_str().unwrap());
    let run = browse(
        &browser,
        dir.path(),
        &format!("{}#pkg-hostile", file_url(&file)),
        "--dump-dom",
    );
    // The payload logs if it runs, and the CSP logs if it even tries.
    assert!(run.console().is_empty(), "console: {:#?}", run.console());
    assert!(!run.stdout.contains("<img"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("<script").count(), 1, "only our script");
    assert!(details_tag(&run.stdout, "pkg-hostile").contains(" open=\"\""));
}
