//! The analyzer never panics and always finishes: random bytes, random shell-token soup, deep
//! nesting, recursion and loops that would expand without end.

use debgate_facts::change::Target;
use debgate_facts::{Script, ScriptName};
use debgate_script::{analyze, Analysis};
use std::time::{Duration, Instant};

fn run(text: &str) -> Analysis {
    analyze(&Script {
        name: ScriptName::Postinst,
        text: text.to_string(),
        truncated: false,
    })
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1500 {
        let len = rng.usize(..300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        run(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn shell_token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "setcap",
        "chmod",
        "chown",
        "chgrp",
        "install",
        "dpkg-statoverride",
        "--add",
        "--update",
        "--remove",
        "-r",
        "-R",
        "-d",
        "-m",
        "-o",
        "-oroot",
        "-m4755",
        "cap_net_raw+ep",
        "=ep",
        "u+s",
        "4755",
        "root:root",
        "/usr/bin/ping",
        "\"$1\"",
        "$P",
        "${P}",
        "${P:-/x}",
        "\"$@\"",
        "$(",
        "`",
        ")",
        "(",
        "{",
        "}",
        "if",
        "then",
        "elif",
        "else",
        "fi",
        "case",
        "in",
        "esac",
        ";;",
        "for",
        "while",
        "do",
        "done",
        "f()",
        "f",
        "P=/usr/bin/x",
        "P=",
        ";",
        "&&",
        "||",
        "|",
        "!",
        "\n",
        "\\\n",
        "<<EOF\n",
        "EOF\n",
        "'",
        "\"",
        "#",
        ":",
        "cd",
        "/tmp",
        "local",
        "dpkg-divert",
        "--truename",
        "*",
        "~",
        "$((",
        "))",
        "[[",
        "]]",
        "command",
        "env",
        "-v",
        "eval",
        "sh",
        "-c",
        "find",
        "-exec",
        "{}",
        "\\;",
        "xargs",
        "-I",
    ];
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..1500 {
        let n = rng.usize(..60);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(TOKENS[rng.usize(..TOKENS.len())]);
            s.push(if rng.usize(..4) == 0 { '\n' } else { ' ' });
        }
        run(&s);
    }
}

#[test]
fn deep_nesting_is_bounded() {
    for (open, close) in [
        ("{ ", " }"),
        ("( ", " )"),
        ("if true; then ", "; fi"),
        ("$(", ")"),
    ] {
        let mut s = String::new();
        for _ in 0..3000 {
            s.push_str(open);
        }
        s.push_str("chmod u+s /usr/bin/x");
        for _ in 0..3000 {
            s.push_str(close);
        }
        run(&s);
    }
    // Nested strings and substitutions inside one word.
    let mut word = String::from("/usr/bin/x");
    for _ in 0..500 {
        word = format!("\"$(dpkg-divert --truename {word})\"");
    }
    run(&format!("chmod u+s {word}\n"));
}

#[test]
fn exponential_calls_hit_the_budget() {
    let mut s = String::new();
    for i in 0..40 {
        s.push_str(&format!(
            "f{i}() {{ f{} \"$1\"; f{} \"$1\"; }}\n",
            i + 1,
            i + 1
        ));
    }
    s.push_str("f40() { chmod u+s \"$1\"; }\nf0 /usr/bin/x\n");
    let start = Instant::now();
    let a = run(&s);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        a.diagnostics.iter().any(|d| d.message.contains("budget")),
        "{:?}",
        a.diagnostics
    );
}

#[test]
fn loop_expansion_is_bounded() {
    let items: Vec<String> = (0..1500).map(|i| format!("/usr/bin/t{i}")).collect();
    let a = run(&format!(
        "for f in {}; do chmod u+s \"$f\"; done\n",
        items.join(" ")
    ));
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].target, Target::Unresolved("\"$f\"".into()));
    assert!(a.changes[0].conditional);
    assert!(a.diagnostics[0].message.contains("loop iterations"));

    // Nested loops share one budget: 40 × 40 would be 1600 expansions.
    let list: Vec<String> = (0..40).map(|i| format!("/d{i}")).collect();
    let list = list.join(" ");
    let a = run(&format!(
        "for a in {list}; do for b in {list}; do chown root \"$a$b\"; done; done\n"
    ));
    assert!(a.changes.len() <= 1000);
    assert!(a.changes.iter().any(|c| c.target.path().is_none()));
}

#[test]
fn recursion_is_bounded() {
    let a = run("f() { chmod u+s /usr/bin/x; f; }\nf\ng() { h; }\nh() { g; }\ng\n");
    assert_eq!(a.changes.len(), 1);
    assert!(a
        .diagnostics
        .iter()
        .any(|d| d.message.contains("recursion")));
}

#[test]
fn truncated_scripts_say_so() {
    let a = analyze(&Script {
        name: ScriptName::Preinst,
        text: "chmod u+s /usr/bin/x\nchown root".into(),
        truncated: true,
    });
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].script, ScriptName::Preinst);
    assert!(a
        .diagnostics
        .iter()
        .any(|d| d.line == 2 && d.message.contains("truncated")));
}

#[test]
fn huge_command_lines_in_loops_finish() {
    // 900 iterations of a 3000-pair setcap: millions of would-be changes. Each distinct change
    // is recorded once and the step budget counts arguments, so this stays fast.
    let items: Vec<String> = (0..900).map(|i| format!("/usr/bin/t{i}")).collect();
    let pairs: String = (0..3000)
        .map(|i| format!(" cap_net_raw+ep /usr/lib/x{i}"))
        .collect();
    let start = Instant::now();
    let a = run(&format!(
        "for f in {}; do setcap{pairs} cap_net_raw+ep \"$f\"; done\n",
        items.join(" ")
    ));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert!(a.changes.len() <= 10_000);
    assert!(a.diagnostics.iter().any(|d| d.message.contains("budget")));
}

#[test]
fn doubling_values_are_bounded() {
    // Each assignment doubles the value: 2^5000 bytes unless values are capped.
    let mut s = String::from("P=/usr/bin/x\n");
    for _ in 0..5000 {
        s.push_str("P=\"$P$P\"\n");
    }
    s.push_str("chmod u+s \"$P\"\n");
    let a = run(&s);
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].target, Target::Unresolved("\"$P\"".into()));
}
