//! The oracle on hand-checked inline cases: exact state sets that follow from the kernel's and
//! dpkg's rules. (The differential test, `crates/check/tests/differential.rs`, compares it with
//! debgate on testdata/states.) Skips loudly when bubblewrap is unavailable.

use debgate_oracle::{available, observe, Observation, Options};
use debgate_writer::case::{parse_state_case, StateCase};
use std::collections::BTreeSet;
use std::time::Duration;

fn sandbox_or_skip() -> bool {
    match available() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("\n*** SKIP: the oracle's sandbox is unavailable here: {e} ***\n");
            false
        }
    }
}

fn case(name: &str, toml: &str) -> StateCase {
    parse_state_case(name, toml).unwrap_or_else(|e| panic!("{e}"))
}

fn run(c: &StateCase, runs: usize) -> Observation {
    let opts = Options {
        runs,
        seed: 42,
        time_budget: Duration::from_secs(30),
        ..Options::default()
    };
    observe(c, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn states(obs: &Observation, path: &str) -> BTreeSet<String> {
    obs.states.get(path).cloned().unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn inline_cases_give_the_states_worked_out_by_hand() {
    if !sandbox_or_skip() {
        return;
    }

    // Unconditional chmod under set -e: the run succeeds only if chmod ran. Shipped at
    // /bin/x, changed through /usr/bin/x: one file on a merged-/usr system.
    let c = case(
        "chmod",
        "description = \"chmod\"\n[[file]]\npath = \"/bin/x\"\n[scripts]\npostinst = '''\n\
         #!/bin/sh\nset -e\nchmod 4755 /usr/bin/x\n'''\n",
    );
    let obs = run(&c, 40);
    assert!(obs.recorded > 0, "{obs:?}");
    assert_eq!(states(&obs, "/bin/x"), set(&["4755 root:root"]), "{obs:?}");

    // setcap, chmod as the fallback; the third state needs a rerun (chmod, then setcap).
    let c = case(
        "fallback",
        "description = \"fallback\"\n[[file]]\npath = \"/usr/bin/x\"\n[scripts]\n\
         postinst = '''\n#!/bin/sh\nset -e\nsetcap cap_net_raw+ep /usr/bin/x || chmod 4755 \
         /usr/bin/x\n'''\n",
    );
    let obs = run(&c, 150);
    let got = states(&obs, "/usr/bin/x");
    let all = set(&[
        "0755 root:root cap_net_raw=ep",
        "4755 root:root",
        "4755 root:root cap_net_raw=ep",
    ]);
    assert!(got.is_subset(&all), "{got:?}");
    assert!(got.contains("0755 root:root cap_net_raw=ep"), "{got:?}");
    assert!(got.contains("4755 root:root"), "{got:?}");

    // chown clears setuid and the capability xattr (shipped in data.tar), even to root.
    let c = case(
        "chown-clears",
        "description = \"chown\"\n[[file]]\npath = \"/usr/bin/x\"\nmode = \"4755\"\n\
         caps = \"cap_net_raw=ep\"\n[scripts]\npostinst = '''\n#!/bin/sh -e\n\
         chown root:adm /usr/bin/x\n'''\n",
    );
    let obs = run(&c, 40);
    assert_eq!(
        states(&obs, "/usr/bin/x"),
        set(&["0755 root:adm"]),
        "{obs:?}"
    );

    // A registered statoverride is applied by every later unpack; a second --add fails.
    let c = case(
        "statoverride",
        "description = \"statoverride\"\n[[file]]\npath = \"/usr/bin/x\"\n[scripts]\n\
         postinst = '''\n#!/bin/sh\nset -e\nif ! dpkg-statoverride --list /usr/bin/x \
         >/dev/null; then\n    dpkg-statoverride --update --add root adm 4750 /usr/bin/x\nfi\n'''\n",
    );
    let obs = run(&c, 60);
    assert_eq!(
        states(&obs, "/usr/bin/x"),
        set(&["4750 root:adm"]),
        "{obs:?}"
    );

    // A debconf select decides the mode; a name no script spells stays unknown, so that
    // chown always fails; a file the postinst installs is recorded too.
    let c = case(
        "debconf",
        "description = \"debconf\"\n[[file]]\npath = \"/usr/bin/x\"\n[scripts]\n\
         postinst = '''\n#!/bin/sh\nset -e\n. /usr/share/debconf/confmodule\n\
         db_get case/mode\nchmod \"$RET\" /usr/bin/x\nu=no\nchown \"${u}bodyelse\" /usr/bin/x \
         || true\ninstall -m 2750 -g adm /usr/bin/x /usr/lib/x-copy\n'''\n\
         templates = '''\nTemplate: case/mode\nType: select\nChoices: 0700, 4711\n\
         Description: mode\n'''\n",
    );
    let obs = run(&c, 60);
    assert_eq!(
        states(&obs, "/usr/bin/x"),
        set(&["0700 root:root", "4711 root:root"]),
        "{obs:?}"
    );
    assert_eq!(
        states(&obs, "/usr/lib/x-copy"),
        set(&["2750 root:adm"]),
        "{obs:?}"
    );
    assert!(obs.successful_runs["postinst"] >= obs.recorded);
}
