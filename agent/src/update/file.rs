//! Replacing the shared credentials file safely.
//!
//! 1. Resolve a symbolic link to its target (so the link stays a link) and
//!    create a missing folder with mode 0700.
//! 2. Open (or create, mode 0600) the file and take an exclusive advisory
//!    lock on it (`flock` through std's `File::lock`). If another `update`
//!    replaced the file while we waited, the path no longer names the file we
//!    locked: lock the new one instead. Two `update` processes therefore
//!    never edit the same content at once and never lose each other's profile.
//! 3. Read, edit one profile ([`super::profile`]), write the result to a temp
//!    file in the same folder (mode 0600, the original owner), fsync it,
//!    rename it over the file, and fsync the folder. A crash at any point
//!    leaves the old file or the new one, never a torn one; a temp file left
//!    by a killed run is removed by the next run (under the lock, so it can
//!    only be stale).
//!
//! A directory, a non-regular file, a read-only file, a file that is not a
//! credentials file, or one larger than [`MAX_FILE`] is refused with a clear
//! error and left as it was.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rolesanywhere_core::session::Credentials;
use zeroize::Zeroizing;

use super::profile::update_profile;
use crate::error::Error;

/// Largest credentials file we read (real ones are a few KiB).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// How `Error::File` names the file in messages.
const WHAT: &str = "credentials file";

fn fail(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::file(WHAT, &path.display().to_string(), reason)
}

/// `$AWS_SHARED_CREDENTIALS_FILE` (with a leading `~/` expanded, as the AWS
/// SDKs do), else `~/.aws/credentials`.
///
/// # Errors
/// Neither the variable nor a home directory is set.
pub fn credentials_path() -> Result<PathBuf, Error> {
    let home = || {
        std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if let Ok(rest) = p.strip_prefix("~")
            && let Some(h) = home()
        {
            return Ok(h.join(rest));
        }
        return Ok(p);
    }
    home()
        .map(|h| h.join(".aws").join("credentials"))
        .ok_or_else(|| {
            Error::Invalid(
                "unable to locate the home directory: set HOME or AWS_SHARED_CREDENTIALS_FILE"
                    .into(),
            )
        })
}

/// The file to replace: the path itself, or the target of a symbolic link.
fn resolve(path: &Path) -> Result<PathBuf, Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            fail(
                path,
                format!("is a symbolic link whose target cannot be used: {e}"),
            )
        }),
        _ => Ok(path.to_owned()),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| fail(dir, format!("unable to create the folder: {e}")))
}

/// Opens (creating it 0600 if missing) and checks the file.
fn open(target: &Path) -> Result<File, Error> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let file = opts.open(target).map_err(|e| {
        if target.is_dir() {
            fail(target, "is a directory")
        } else if e.kind() == std::io::ErrorKind::PermissionDenied {
            fail(target, format!("is not writable: {e}"))
        } else {
            fail(target, e)
        }
    })?;
    let meta = file.metadata().map_err(|e| fail(target, e))?;
    if !meta.is_file() {
        return Err(fail(target, "is not a regular file"));
    }
    // Root may open a read-only file for writing; a read-only mode is still
    // the owner's wish that it not change.
    if meta.permissions().readonly() {
        return Err(fail(target, "is read-only; not changing it"));
    }
    Ok(file)
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Opens and locks the file that `target` names when the lock is granted.
fn open_locked(target: &Path) -> Result<File, Error> {
    for _ in 0..100 {
        let file = open(target)?;
        file.lock()
            .map_err(|e| fail(target, format!("unable to lock: {e}")))?;
        let locked = file.metadata().map_err(|e| fail(target, e))?;
        match std::fs::metadata(target) {
            Ok(now) if same_file(&locked, &now) => return Ok(file),
            // Replaced (or removed) while we waited for the lock: try again.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(target, e)),
        }
    }
    Err(fail(
        target,
        "keeps being replaced by another process; not changing it",
    ))
}

/// The temp file's name: hidden, beside the target, fixed so that a run
/// killed halfway leaves at most one, which the next run removes.
fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map_or_else(
        || "credentials".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    parent_of(target).join(format!(".{name}.aws_signing_helper.tmp"))
}

/// Gives the temp file the original's owner when we run as another user
/// (root updating a user's file), so the user keeps access.
#[cfg(unix)]
fn keep_owner(tmp: &File, original: &std::fs::Metadata, target: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let mine = tmp.metadata().map_err(|e| fail(target, e))?;
    if mine.uid() != original.uid() {
        std::os::unix::fs::fchown(tmp, Some(original.uid()), Some(original.gid())).map_err(
            |e| {
                fail(
                    target,
                    format!("unable to keep the owner (uid {}): {e}", original.uid()),
                )
            },
        )?;
    } else if mine.gid() != original.gid() {
        // Best effort: the group has no access to a 0600 file anyway.
        let _ = std::os::unix::fs::fchown(tmp, None, Some(original.gid()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_owner(_: &File, _: &std::fs::Metadata, _: &Path) -> Result<(), Error> {
    Ok(())
}

/// Makes the rename durable. A filesystem that cannot fsync a folder says so
/// with EINVAL; that is not worth failing the update for.
fn sync_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let res = File::open(dir).and_then(|d| d.sync_all());
        if let Err(e) = res
            && e.kind() != std::io::ErrorKind::InvalidInput
            && e.kind() != std::io::ErrorKind::Unsupported
        {
            return Err(fail(dir, format!("unable to sync the folder: {e}")));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads the locked file, bounded.
fn read_all(file: &mut File, target: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    // Sized from the file, so the buffer holding the old secrets never moves
    // (a moved buffer would leave an unzeroized copy behind).
    let size = file.metadata().map_or(0, |m| m.len()).min(MAX_FILE);
    let mut content = Zeroizing::new(Vec::with_capacity(
        usize::try_from(size).unwrap_or(0).saturating_add(64),
    ));
    file.take(MAX_FILE + 1)
        .read_to_end(&mut content)
        .map_err(|e| fail(target, format!("unable to read: {e}")))?;
    if content.len() as u64 > MAX_FILE {
        return Err(fail(
            target,
            format!("is larger than {MAX_FILE} bytes; not changing it"),
        ));
    }
    Ok(content)
}

/// Checks, before any `CreateSession`, that the file can be updated: the
/// folder and file exist or are created (as the original does), the file is
/// a writable regular credentials file, and the profile name is usable.
///
/// # Errors
/// As [`write_profile`], without writing anything.
pub fn preflight(path: &Path, profile: &str) -> Result<(), Error> {
    let target = resolve(path)?;
    create_dir(&parent_of(&target))?;
    let mut file = open_locked(&target)?;
    let content = read_all(&mut file, &target)?;
    let probe = Credentials::new(
        "AKID",
        "SECRET",
        "TOKEN",
        rolesanywhere_core::time::UnixTime(0),
    )
    .map_err(|e| Error::Response(e.to_string()))?;
    update_profile(&content, profile, &probe).map_err(|e| fail(&target, e))?;
    Ok(())
}

/// Writes `creds` into `[profile]` of the file at `path` (see the module
/// documentation). Returns false if the file already held them.
///
/// # Errors
/// A one-line error naming the file; the file is then unchanged.
pub fn write_profile(path: &Path, profile: &str, creds: &Credentials) -> Result<bool, Error> {
    let target = resolve(path)?;
    let dir = parent_of(&target);
    create_dir(&dir)?;
    let mut file = open_locked(&target)?;
    let original = file.metadata().map_err(|e| fail(&target, e))?;
    let content = read_all(&mut file, &target)?;
    let updated = update_profile(&content, profile, creds).map_err(|e| fail(&target, e))?;
    if updated.as_bytes() == content.as_slice() {
        return Ok(false);
    }
    let tmp = temp_path(&target);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(fail(
                &tmp,
                format!("unable to remove a stale temp file: {e}"),
            ));
        }
    }
    let written = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut out = opts
            .open(&tmp)
            .map_err(|e| fail(&tmp, format!("unable to create the temp file: {e}")))?;
        keep_owner(&out, &original, &target)?;
        out.write_all(updated.as_bytes())
            .and_then(|()| out.sync_all())
            .map_err(|e| fail(&tmp, format!("unable to write: {e}")))?;
        std::fs::rename(&tmp, &target).map_err(|e| fail(&target, format!("unable to replace: {e}")))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir)?;
    // The lock on the old inode is released when `file` is dropped here.
    drop(file);
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::os::unix::fs::PermissionsExt;

    use rolesanywhere_core::time::UnixTime;

    use super::*;

    fn creds(n: u32) -> Credentials {
        Credentials::new(
            &format!("ASIA{n:04}"),
            &format!("secret{n}"),
            &format!("token{n}"),
            UnixTime(0),
        )
        .unwrap()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_folder_0700_and_file_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("home/.aws/credentials");
        assert!(write_profile(&path, "default", &creds(1)).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[default]\naws_access_key_id = ASIA0001\naws_secret_access_key = secret1\naws_session_token = token1\n"
        );
        // Unchanged credentials: nothing written.
        assert!(!write_profile(&path, "default", &creds(1)).unwrap());
        assert!(write_profile(&path, "default", &creds(2)).unwrap());
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["credentials"], "no temp file left behind");
    }

    #[test]
    fn tightens_the_mode_and_removes_a_stale_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials");
        std::fs::write(&path, "[other]\nx = 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(temp_path(&path), "half-written junk").unwrap();
        write_profile(&path, "p", &creds(1)).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!temp_path(&path).exists());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("[other]\nx = 1\n\n[p]\n")
        );
    }

    #[test]
    fn follows_a_symlink_and_keeps_it() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real-credentials");
        std::fs::write(&real, "[a]\nx = 1\n").unwrap();
        let link = tmp.path().join("credentials");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_profile(&link, "a", &creds(1)).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(std::fs::read_to_string(&real).unwrap().contains("ASIA0001"));
        // A dangling link is an error, and stays dangling.
        let dangling = tmp.path().join("dangling");
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
        let e = write_profile(&dangling, "a", &creds(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(!tmp.path().join("nowhere").exists());
    }

    #[test]
    fn refuses_directories_read_only_and_foreign_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("credentials");
        std::fs::create_dir(&dir).unwrap();
        let e = write_profile(&dir, "p", &creds(1)).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");

        let ro = tmp.path().join("ro");
        std::fs::write(&ro, "[p]\naws_access_key_id = OLD\n").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o400)).unwrap();
        let e = write_profile(&ro, "p", &creds(1)).unwrap_err().to_string();
        assert!(e.contains("read-only") || e.contains("not writable"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&ro).unwrap(),
            "[p]\naws_access_key_id = OLD\n"
        );

        let bin = tmp.path().join("bin");
        std::fs::write(&bin, b"\x7fELF\x00\x00binary").unwrap();
        let e = write_profile(&bin, "p", &creds(1)).unwrap_err().to_string();
        assert!(e.contains("not a credentials file"), "{e}");
        assert_eq!(std::fs::read(&bin).unwrap(), b"\x7fELF\x00\x00binary");

        let big = tmp.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_FILE + 1).unwrap();
        let e = write_profile(&big, "p", &creds(1)).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        assert_eq!(std::fs::metadata(&big).unwrap().len(), MAX_FILE + 1);

        assert!(preflight(&bin, "p").is_err());
        assert!(preflight(&dir, "p").is_err());
    }

    #[test]
    fn a_failed_write_leaves_the_file_alone() {
        // A directory where the temp file goes: creating it fails for any
        // user, root included (a read-only folder would not stop root).
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials");
        std::fs::write(&path, "[p]\nx = 1\n").unwrap();
        std::fs::create_dir(temp_path(&path)).unwrap();
        let e = write_profile(&path, "p", &creds(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("temp file"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[p]\nx = 1\n");
    }

    #[test]
    fn concurrent_writers_never_lose_a_profile() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials");
        std::fs::write(&path, "# shared\n[keep]\nx = 1\n").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        write_profile(&path, &format!("p{t}"), &creds(t * 1000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# shared\n[keep]\nx = 1\n"), "{text}");
        for t in 0..4u32 {
            assert_eq!(text.matches(&format!("[p{t}]")).count(), 1, "{text}");
            assert!(
                text.contains(&format!("aws_access_key_id = ASIA{:04}\n", t * 1000 + 49)),
                "{text}"
            );
        }
    }
}
