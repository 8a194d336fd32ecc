//! Members written through a directory the package ships as a symlink land at the link's
//! target: the reader gives them that path (keeping the member's own name), asks
//! `want_content` about it, and refuses a member whose place cannot be known.

mod common;

use common::*;
use debgate_facts::EntryKind;
use debgate_reader::{ReadError, ReadOptions};

fn cron_link() -> Tar {
    Tar::new()
        .dir("./")
        .dir("./etc/")
        .dir("./etc/cron.d/")
        .symlink("./etc/x", "/etc/cron.d")
}

#[test]
fn a_member_through_a_symlinked_directory_lands_at_the_target() {
    let data = cron_link()
        .file("./etc/x/job", b"* * * * * root /tmp/x\n")
        .symlink("./etc/rel", "cron.d")
        .hardlink("./etc/rel/alias", "./etc/x/job")
        .finish();
    let want = |p: &str| p.starts_with("/etc/cron.d/");
    let opts = ReadOptions {
        want_content: &want,
        ..ReadOptions::default()
    };
    let pkg = read_with(&deb(&data), &opts).unwrap();
    assert!(
        pkg.entry("/etc/x/job").is_none(),
        "no entry at the member name"
    );
    let job = pkg.entry("/etc/cron.d/job").expect("lands at the target");
    assert_eq!(job.member.as_deref(), Some("/etc/x/job"));
    assert_eq!(job.through, ["/etc/x"]);
    assert_eq!(
        pkg.contents["/etc/cron.d/job"].text(),
        "* * * * * root /tmp/x\n",
        "want_content is asked about the resolved path"
    );
    // A relative link, and a hard link whose own name and target both cross links.
    let alias = pkg.entry("/etc/cron.d/alias").unwrap();
    assert_eq!(alias.kind, EntryKind::HardLink);
    assert_eq!(alias.member.as_deref(), Some("/etc/rel/alias"));
    assert_eq!(alias.link_target.as_deref(), Some("/etc/cron.d/job"));
    assert_eq!(
        pkg.contents["/etc/cron.d/alias"].text(),
        "* * * * * root /tmp/x\n"
    );
    // The links themselves are ordinary entries.
    let link = pkg.entry("/etc/x").unwrap();
    assert_eq!((link.member.as_deref(), link.through.len()), (None, 0));
}

#[test]
fn a_member_before_its_link_is_ordinary() {
    let data = Tar::new()
        .dir("./")
        .dir("./etc/")
        .file("./etc/x/job", b"x")
        .symlink("./etc/y", "/etc/cron.d")
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let job = pkg.entry("/etc/x/job").unwrap();
    assert_eq!(job.member, None);
    assert!(job.through.is_empty());
}

#[test]
fn a_member_through_a_loop_or_above_the_root_is_refused() {
    let looped = Tar::new()
        .dir("./")
        .symlink("./a", "b")
        .symlink("./b", "/a")
        .file("./a/job", b"x")
        .finish();
    let e = read(&deb(&looped)).unwrap_err();
    assert!(matches!(e, ReadError::Unresolvable { .. }), "{e}");
    says(&e, &["`/a/job`", "loop"]);
    let above = Tar::new()
        .dir("./")
        .dir("./etc/")
        .symlink("./etc/x", "../../cron.d")
        .file("./etc/x/job", b"x")
        .finish();
    let e = read(&deb(&above)).unwrap_err();
    assert!(matches!(e, ReadError::Unresolvable { .. }), "{e}");
    says(&e, &["`/etc/x/job`", "above `/`"]);
}

#[test]
fn a_member_landing_on_another_is_a_duplicate() {
    let data = cron_link()
        .file("./etc/cron.d/job", b"a")
        .file("./etc/x/job", b"b")
        .finish();
    let e = read(&deb(&data)).unwrap_err();
    assert!(matches!(e, ReadError::DuplicatePath { .. }), "{e}");
    says(&e, &["`/etc/x/job`", "/etc/cron.d/job"]);
}
