#!/bin/sh
# Gather seed inputs for every fuzz target from the committed fixtures into DIR/TARGET
# (default: crates/fuzz/corpus/TARGET). Files over 200 KB are skipped. Run from anywhere;
# then minimise with `cargo +nightly fuzz cmin TARGET --fuzz-dir crates/fuzz`.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/crates/fuzz/corpus}
cd "$root"

put() { # put TARGET FILE: copy FILE in, named by its content hash (duplicates collapse).
    [ -f "$2" ] || return 0
    [ "$(wc -c <"$2")" -le 204800 ] || return 0
    mkdir -p "$out/$1"
    cp "$2" "$out/$1/$(sha1sum "$2" | cut -c1-40)"
}
put_text() { # put_text TARGET TEXT
    tmp=$(mktemp)
    printf '%s' "$2" >"$tmp"
    put "$1" "$tmp"
    rm -f "$tmp"
}

for f in testdata/releases/*/*.deb testdata/uploads/*/*.deb; do put deb "$f"; done

for t in "cap_net_raw+ep" "cap_net_raw,cap_net_admin=ep" "cap_syslog=ep cap_net_raw-e" "=ep" "all+i 33=p"; do
    put_text caps "$t"
done
# vfs_cap_data revisions 1, 2 and 3 (cap_net_raw, effective).
for hex in 010000010020000000000000 0100000200200000000000000000000000000000 \
    0100000300200000000000000000000000000000e8030000; do
    tmp=$(mktemp)
    printf '%s' "$hex" | xxd -r -p >"$tmp"
    put caps "$tmp"
    rm -f "$tmp"
done

for f in policies/*.toml policies/tests/*.toml testdata/waivers/*.toml testdata/policies/*.toml; do
    put policy "$f"
done

# Maintainer scripts: the first byte picks the script (1 = postinst), the rest is its text.
for f in testdata/states/*.toml; do
    for s in preinst postinst prerm postrm config; do
        text=$(awk -v s="$s" '$0 ~ "^"s" = '"'''"'" {on=1; next} on && /^'"'''"'/ {exit} on {print}' "$f")
        [ -n "$text" ] || continue
        case $s in preinst) b=0 ;; postinst) b=1 ;; prerm) b=2 ;; postrm) b=3 ;; *) b=4 ;; esac
        tmp=$(mktemp)
        { printf "\\$(printf '%03o' "$b")"; printf '%s\n' "$text"; } >"$tmp"
        put script "$tmp"
        rm -f "$tmp"
    done
done

for f in testdata/khc/*.config testdata/kconfig/*.config; do put kconfig_sysctl "$f"; done
for f in $(find testdata -path '*sysctl*' -name '*.conf') testdata/khc/example_sysctls.txt; do
    put kconfig_sysctl "$f"
done

for f in $(find testdata/uploads -name '*.changes'); do put changes "$f"; done

# Sources lines and files, Release files and Packages indexes, each behind the byte that picks
# its parser in fuzz_targets/archive.rs.
put_archive() { # put_archive BYTE FILE
    tmp=$(mktemp)
    { printf "\\$(printf '%03o' "$1")"; cat "$2"; } >"$tmp"
    put archive "$tmp"
    rm -f "$tmp"
}
for t in "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://deb.debian.org/debian bookworm main" \
    "deb [trusted=yes] file:///srv/mirror sid main contrib"; do
    tmp=$(mktemp); printf '%s' "$t" >"$tmp"; put_archive 0 "$tmp"; rm -f "$tmp"
done
for f in $(find testdata -name '*.sources'); do put_archive 2 "$f"; done
for f in $(find testdata -name 'Release' -o -name 'InRelease'); do put_archive 3 "$f"; done
for f in $(find testdata -name 'Packages'); do put_archive 4 "$f"; done
