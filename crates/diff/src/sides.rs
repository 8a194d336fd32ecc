//! A diff whose sides may come from apt repositories (`--old-archive`, `--new-archive`) as well
//! as from files: each side is read on its own (a repository through its verified chain,
//! [`debgate_archive::read`]), then the two sets are compared as [`crate::diff_analyzed`]
//! compares any two.

use crate::{
    diff_analyzed_with, read_again, wants_content, DiffError, DiffReport, PackageError, Progress,
};
use debgate_archive::read::{ArchiveArgs, ReadPackage, Repositories};
use debgate_pipeline::{collect_inputs, read_all_with_progress, Settings};
use debgate_policy::RuleSet;
use debgate_reader::ReadOptions;
use std::path::{Path, PathBuf};

/// Where one side's packages come from.
pub enum SetSource<'a> {
    /// A `.deb`, or a directory walked for them.
    Files(PathBuf),
    /// The selected packages of apt repositories.
    Archive(ArchiveArgs<'a>),
}

/// Diff two sides. Also returns what the user must be told once (a repository read
/// unverified). A side that is empty, or whose repository does not verify, stops the diff.
pub fn diff_sides(
    rules: &RuleSet,
    old: SetSource<'_>,
    new: SetSource<'_>,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<(DiffReport, Vec<String>), DiffError> {
    // Content is compared by md5sums and by hashing privileged files as they stream by.
    let settings = &Settings {
        digests: true,
        ..settings.clone()
    };
    let want = |p: &str| wants_content(rules, p);
    // What a diff captures beyond the rules' wants (see [`wants_content`]), named for the
    // facts cache so that a diff never takes a check's facts, which lack them.
    let wants_key = format!(
        "{}\ndiff: /etc, sysctl.d, kernel configs, changelogs (1)",
        rules.content_fingerprint()
    );
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    // Each side's repositories are kept until the diff is made: a package of one is read again
    // through them (see [`Reread`]).
    let mut repositories: Vec<Repositories> = Vec::new();
    let mut read = |name: &'static str, side: SetSource<'_>| -> Result<_, DiffError> {
        let (label, read): (String, Vec<ReadPackage>) = match side {
            SetSource::Files(path) => {
                let files = collect_inputs(std::slice::from_ref(&path))?;
                if files.is_empty() {
                    return Err(DiffError::Empty(path.display().to_string()));
                }
                progress(name, 0, files.len());
                let done = std::sync::atomic::AtomicUsize::new(0);
                let read = read_all_with_progress(&files, settings, &want, &|_| {
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(name, n, files.len())
                });
                let read = files
                    .into_iter()
                    .zip(read)
                    .map(|(f, r)| (f, r.map_err(|e| e.to_string())))
                    .collect();
                (path.display().to_string(), read)
            }
            SetSource::Archive(args) => {
                let repos = Repositories::open(&args, &|n| rules.shard_key(n), &wants_key)
                    .map_err(DiffError::Archive)?;
                notices.extend(repos.notices.iter().cloned());
                if repos.is_empty() && repos.unusable.is_empty() {
                    return Err(DiffError::Empty(args.specs.join(", ")));
                }
                for (index, e) in &repos.unusable {
                    errors.push(PackageError {
                        side: name,
                        file: index.display().to_string(),
                        error: e.clone(),
                    });
                }
                progress(name, 0, repos.len());
                let read = repos.read_all(settings, &want, &|t| progress(name, t.done, t.total));
                repositories.push(repos);
                (args.specs.join(", "), read)
            }
        };
        let mut ok = Vec::new();
        for (file, r) in read {
            match r {
                Ok(a) => ok.push(a),
                Err(error) => errors.push(PackageError {
                    side: name,
                    file: file.display().to_string(),
                    error,
                }),
            }
        }
        Ok((label, ok))
    };
    let (old_label, old) = read("old", old)?;
    let (new_label, new) = read("new", new)?;
    let reread = |label: &Path, opts: &ReadOptions<'_>| {
        // A label is a repository's package path or URL, or else a file given.
        match repositories.iter().find(|r| r.holds(label)) {
            Some(r) => r.reread(label, opts),
            None => read_again(label, opts),
        }
    };
    let report = diff_analyzed_with(
        rules,
        (&old_label, &old),
        (&new_label, &new),
        errors,
        settings,
        &reread,
    );
    Ok((report, notices))
}
