//! Hostile input: cut-off and corrupt gzip, a gzip bomb, random bytes and ugly text. Seeded,
//! so a failure reproduces.

use debgate_changelog::{gunzip, parse, references, says_trimmed, since};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::PathBuf;

fn gz_fixture() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/changelogs/security-update-old.changelog.gz");
    std::fs::read(path).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn whole_file_is_complete() {
    let d = gunzip(&gz_fixture(), 1 << 20);
    assert!(d.complete);
    assert_eq!(d.text.len(), 22209);
}

#[test]
fn cut_off_capture_keeps_the_head() {
    let bytes = gz_fixture();
    let whole = gunzip(&bytes, 1 << 20).text;
    let half = gunzip(&bytes[..bytes.len() / 2], 1 << 20);
    assert!(!half.complete);
    assert!(half.text.len() > 1000, "{}", half.text.len());
    // What decoded is a prefix of the whole (up to a character cut in the middle).
    let head = half.text.trim_end_matches('\u{fffd}');
    assert!(whole.starts_with(head));
    // And the head still parses: the newest entries are there.
    assert!(parse(&half.text).unwrap().len() >= 2);
    // Missing only the 8-byte trailer (checksum and length): still not complete.
    let d = gunzip(&bytes[..bytes.len() - 8], 1 << 20);
    assert!(!d.complete);
}

#[test]
fn corrupt_stream_is_not_complete() {
    let mut bytes = gz_fixture();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    bytes[mid + 1] ^= 0x55;
    let d = gunzip(&bytes, 1 << 20);
    assert!(!d.complete);
    assert!(gunzip(b"", 1 << 20).text.is_empty());
    assert!(!gunzip(b"", 1 << 20).complete);
    assert!(!gunzip(b"not gzip at all", 1 << 20).complete);
}

#[test]
fn budget_is_exact() {
    let bytes = gzip(b"0123456789");
    let d = gunzip(&bytes, 10);
    assert!(d.complete);
    assert_eq!(d.text, "0123456789");
    let d = gunzip(&bytes, 9);
    assert!(!d.complete);
    assert_eq!(d.text, "012345678");
    let d = gunzip(&bytes, 0);
    assert!(!d.complete);
    assert_eq!(d.text, "");
    // Two members, as `cat a.gz b.gz` makes: both decode.
    let mut two = gzip(b"ab");
    two.extend(gzip(b"cd"));
    let d = gunzip(&two, u64::MAX);
    assert!(d.complete);
    assert_eq!(d.text, "abcd");
}

#[test]
fn bomb_costs_at_most_the_budget() {
    // 100 MiB of zeros: one member of 1 MiB (about 1 KiB compressed) repeated 100 times, as
    // `cat` would join them; compressing 100 MiB in one member takes 20 s in a debug build.
    let member = gzip(&vec![0u8; 1 << 20]);
    let bomb = member.repeat(100);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let d = gunzip(&bomb, 1 << 20);
    assert!(!d.complete);
    assert_eq!(d.text.len(), 1 << 20);
    let d = gunzip(&bomb, 5 << 20);
    assert!(!d.complete);
    assert_eq!(d.text.len(), 5 << 20);
    // Within the budget it is just a large file.
    let d = gunzip(&member.repeat(3), 3 << 20);
    assert!(d.complete);
    assert_eq!(d.text.len(), 3 << 20);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x6368_616e);
    let real = gz_fixture();
    for round in 0..3000 {
        let bytes: Vec<u8> = match round % 3 {
            // Pure noise, sometimes with a gzip magic in front.
            0 => {
                let mut b: Vec<u8> = (0..rng.usize(0..512)).map(|_| rng.u8(..)).collect();
                if rng.bool() {
                    b.splice(0..0, [0x1f, 0x8b, 8, rng.u8(..)]);
                }
                b
            }
            // The real file with a few bytes flipped.
            1 => {
                let mut b = real.clone();
                for _ in 0..rng.usize(1..8) {
                    let i = rng.usize(..b.len());
                    b[i] = rng.u8(..);
                }
                b
            }
            // The real file cut anywhere.
            _ => real[..rng.usize(..real.len())].to_vec(),
        };
        let max = rng.u64(0..100_000);
        let d = gunzip(&bytes, max);
        assert!(
            d.text.len() as u64 <= max.saturating_mul(3),
            "round {round}"
        );
        // Whatever came out, the rest of the crate takes it.
        if let Ok(entries) = parse(&d.text) {
            let _ = since(&entries, "1.0");
        }
    }
}

#[test]
fn ugly_text_never_panics() {
    let pieces = [
        "p (1.0-1) unstable; urgency=low\n",
        "p (1:2~3) a b c; urgency=HIGH (x), k=v\n",
        "x (",
        ")",
        " (",
        "; urgency=",
        "\n",
        "\r\n",
        "  * change Closes: #",
        "12",
        ", #",
        "bug",
        "LP: #",
        "CVE-2024-",
        "0000",
        " -- M <m@x>  Mon, 01 Jan 2024 00:00:00 +0000\n",
        " --",
        "<",
        ">",
        "  ",
        "\t",
        "#",
        "Local variables:\n",
        "vim:",
        "é",
        "\u{212a}",
        "\u{0}",
        "99999999999999999999999999",
        ":",
        "~",
    ];
    let mut rng = fastrand::Rng::with_seed(0x7061_7273);
    for round in 0..20_000 {
        let mut text = String::new();
        for _ in 0..rng.usize(0..60) {
            text.push_str(pieces[rng.usize(..pieces.len())]);
        }
        if round % 10 == 0 {
            // Raw bytes, made text the way gunzip makes it.
            let b: Vec<u8> = (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect();
            text.push_str(&String::from_utf8_lossy(&b));
        }
        let _ = references(&text);
        let _ = says_trimmed(&text);
        if let Ok(entries) = parse(&text) {
            for e in &entries {
                assert!(!e.version.is_empty());
                assert!(e.line >= 1);
                let _ = e.references();
                let _ = e.is_security();
                let _ = since(&entries, &e.version);
            }
            let s = since(&entries, "1.0-1");
            assert!(s.entries.len() <= entries.len());
        }
    }
}

#[test]
fn many_headers_are_capped_and_linear() {
    let text = "p (1) u; urgency=low\n".repeat(debgate_changelog::MAX_ENTRIES + 500);
    let start = std::time::Instant::now();
    let entries = parse(&text).unwrap();
    assert_eq!(entries.len(), debgate_changelog::MAX_ENTRIES);
    // A long line of digits as a version is not compared (no big-integer work).
    let digits = format!("p ({}) u; urgency=low\n", "9".repeat(1 << 20));
    let e = parse(&digits).unwrap();
    assert!(!since(&e, &"8".repeat(1 << 20)).reached);
    assert!(start.elapsed().as_secs() < 20);
}
