//! The outer `ar` container.
//!
//! `dpkg-deb` writes the common ar layout: `!<arch>\n`, then 60-byte headers whose 16-byte
//! name field holds the bare member name padded with spaces (`debian-binary   `). The `ar`
//! crate's plain [`ar::Builder`] writes exactly that for names of up to 16 bytes, which every
//! `.deb` member name is, so [`ar_bytes`] is what [`crate::write_deb`] uses.
//!
//! GNU `ar` instead ends each name with `/` (`data.tar.xz/`) and keeps longer names in a `//`
//! table; dpkg reads that too. [`gnu_ar_bytes`] writes that variant so readers can be tested
//! against both.

use ar::Header;

/// ar header mode written for every member: a regular file, 0644, as `dpkg-deb` writes it.
const MEMBER_MODE: u32 = 0o100644;

/// The archive magic, which is all an empty archive holds.
const GLOBAL_MAGIC: &[u8] = b"!<arch>\n";

fn header(name: &str, len: usize) -> Header {
    let mut h = Header::new(name.as_bytes().to_vec(), len as u64);
    // Header::new already zeroes mtime/uid/gid; set them anyway so the determinism does not
    // depend on a default of another crate.
    h.set_mtime(crate::MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mode(MEMBER_MODE);
    h
}

/// An ar archive of exactly these members, in this order, with the common (dpkg-deb) name
/// layout; names longer than 16 bytes use the BSD `#1/LEN` form. Nothing is validated, so
/// duplicated, missing or misordered `.deb` members are all possible.
pub fn ar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    if members.is_empty() {
        // The builder only writes the magic with the first member.
        return GLOBAL_MAGIC.to_vec();
    }
    let mut b = ar::Builder::new(Vec::new());
    for (name, data) in members {
        // Writing into a Vec cannot fail.
        b.append(&header(name, data.len()), *data)
            .expect("in-memory ar write");
    }
    b.into_inner().expect("in-memory ar write")
}

/// Like [`ar_bytes`] but in the GNU layout: names end with `/` and long names go through the
/// `//` name table.
pub fn gnu_ar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    if members.is_empty() {
        return GLOBAL_MAGIC.to_vec();
    }
    let ids: Vec<Vec<u8>> = members.iter().map(|(n, _)| n.as_bytes().to_vec()).collect();
    let mut b = ar::GnuBuilder::new(Vec::new(), ids);
    for (name, data) in members {
        b.append(&header(name, data.len()), *data)
            .expect("in-memory ar write");
    }
    b.into_inner().expect("in-memory ar write")
}
