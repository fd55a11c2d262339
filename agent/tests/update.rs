//! `update` end to end: the real binary rewriting a credentials file with
//! credentials from the mock endpoint.
#![cfg(unix)] // file modes, symbolic links, SIGKILL
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn update_args(url: &str, profile: &str, once: bool) -> Vec<String> {
    let mut args: Vec<String> = credential_args(&fx("p256.pem"), &fx("p256.pkcs8.pem"), url)
        .into_iter()
        .map(str::to_owned)
        .collect();
    args[0] = "update".into();
    args.extend(["--profile".into(), profile.into()]);
    if once {
        args.push("--once".into());
    }
    args
}

fn update_once(url: &str, profile: &str, file: &Path) -> std::process::Output {
    let args = update_args(url, profile, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(
        &args,
        &[("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())],
    )
}

/// A strict reading of the file, as botocore's configparser does it: every
/// section once, every key once per section, no key outside a section.
fn parse(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            assert!(
                !out.contains_key(name),
                "duplicate section [{name}] in:\n{text}"
            );
            out.insert(name.to_owned(), BTreeMap::new());
            current = Some(name.to_owned());
            continue;
        }
        let (k, v) = t
            .split_once('=')
            .unwrap_or_else(|| panic!("not key = value: {line:?}"));
        let section = current
            .as_ref()
            .unwrap_or_else(|| panic!("key before any section:\n{text}"));
        let keys = out.get_mut(section).unwrap();
        let k = k.trim().to_ascii_lowercase();
        assert!(
            !keys.contains_key(&k),
            "duplicate key {k} in [{section}]:\n{text}"
        );
        keys.insert(k, v.trim().to_owned());
    }
    out
}

fn triple(
    sections: &BTreeMap<String, BTreeMap<String, String>>,
    p: &str,
) -> (String, String, String) {
    let s = &sections[p];
    (
        s["aws_access_key_id"].clone(),
        s["aws_secret_access_key"].clone(),
        s["aws_session_token"].clone(),
    )
}

fn looks_issued(t: &(String, String, String)) -> bool {
    t.0.starts_with("ASIA") && t.0.len() == 20 && t.1.len() == 40 && t.2.len() == 412
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

const EXISTING: &str = "# managed by hand\n[default]\nregion = eu-west-1\n\n; the gateway's profile\n[gateway]\naws_access_key_id = OLD\naws_secret_access_key = OLD\naws_session_token = OLD\n  continued-old-token\n\n[other]\naws_access_key_id = KEEP\n";

#[test]
fn once_rewrites_one_profile_and_keeps_every_other_byte() {
    let mock = mock(Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, EXISTING).unwrap();
    let out = update_once(&mock.url(), "gateway", &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    let sections = parse(&text);
    let first = triple(&sections, "gateway");
    assert!(looks_issued(&first), "{first:?}");
    let expected = EXISTING
        .replace(
            "aws_access_key_id = OLD",
            &format!("aws_access_key_id = {}", first.0),
        )
        .replace(
            "aws_secret_access_key = OLD",
            &format!("aws_secret_access_key = {}", first.1),
        )
        .replace(
            "aws_session_token = OLD\n  continued-old-token\n",
            &format!("aws_session_token = {}\n", first.2),
        );
    assert_eq!(text, expected);
    assert_eq!(mode(&file), 0o600);
    // Again: new credentials in place, nothing duplicated.
    let out = update_once(&mock.url(), "gateway", &file);
    assert!(out.status.success());
    let text2 = std::fs::read_to_string(&file).unwrap();
    let second = triple(&parse(&text2), "gateway");
    assert_ne!(second, first);
    assert_eq!(text2.len(), text.len());
    // A new profile is appended.
    let out = update_once(&mock.url(), "new one", &file);
    assert!(out.status.success());
    let text3 = std::fs::read_to_string(&file).unwrap();
    assert!(text3.starts_with(&text2));
    assert!(looks_issued(&triple(&parse(&text3), "new one")));
    assert_eq!(mock.request_count(), 3);
}

#[test]
fn creates_the_folder_0700_and_file_0600_under_home() {
    let mock = mock(Behaviour::Normal);
    let home = tempfile::tempdir().unwrap();
    let args = update_args(&mock.url(), "default", true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, &[("HOME", home.path().to_str().unwrap())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = home.path().join(".aws/credentials");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&home.path().join(".aws")), 0o700);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("[default]\naws_access_key_id = ASIA"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4);
    // No HOME and no AWS_SHARED_CREDENTIALS_FILE: a clear error.
    let out = run(&args, &[]);
    expect_failure(&out, "home directory");
}

#[test]
fn unusable_files_are_refused_and_left_unchanged() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();

    let folder = dir.path().join("is-a-dir");
    std::fs::create_dir(&folder).unwrap();
    expect_failure(&update_once(&url, "p", &folder), "is a directory");

    let binary = dir.path().join("binary");
    std::fs::write(&binary, b"\x7fELF\x02\x01\x01\x00\x00\x00").unwrap();
    expect_failure(&update_once(&url, "p", &binary), "not a credentials file");
    assert_eq!(
        std::fs::read(&binary).unwrap(),
        b"\x7fELF\x02\x01\x01\x00\x00\x00"
    );

    let json = dir.path().join("json");
    std::fs::write(&json, "{\"not\": \"ini\"}\n").unwrap();
    expect_failure(&update_once(&url, "p", &json), "no [profile] section");
    assert_eq!(
        std::fs::read_to_string(&json).unwrap(),
        "{\"not\": \"ini\"}\n"
    );

    let latin1 = dir.path().join("latin1");
    std::fs::write(&latin1, b"[p]\n# caf\xe9\n").unwrap();
    expect_failure(&update_once(&url, "p", &latin1), "not UTF-8");

    let readonly = dir.path().join("readonly");
    std::fs::write(&readonly, "[p]\nx = 1\n").unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o400)).unwrap();
    let out = update_once(&url, "p", &readonly);
    let err = expect_failure(&out, "credentials file");
    assert!(
        err.contains("read-only") || err.contains("not writable"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&readonly).unwrap(), "[p]\nx = 1\n");

    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    expect_failure(&update_once(&url, "p", &dangling), "symbolic link");

    let out = update_once(&url, "bad]name", &dir.path().join("fresh"));
    expect_failure(&out, "--profile");

    // None of these cost a CreateSession: the file is checked first.
    assert_eq!(mock.request_count(), 0);

    // A symbolic link to a real file: the target is updated, the link kept.
    let real = dir.path().join("real");
    std::fs::write(&real, "[p]\nx = 1\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = update_once(&url, "p", &link);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(looks_issued(&triple(
        &parse(&std::fs::read_to_string(&real).unwrap()),
        "p"
    )));
}

#[test]
fn a_failing_endpoint_leaves_the_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, EXISTING).unwrap();
    for behaviour in [
        Behaviour::Status(500, "InternalServerException".into(), "down".into()),
        Behaviour::Status(403, "AccessDeniedException".into(), "no".into()),
        Behaviour::Disconnect,
        Behaviour::GarbageJson,
    ] {
        let mock = mock(behaviour);
        let out = update_once(&mock.url(), "gateway", &file);
        expect_failure(&out, "");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), EXISTING);
    }
}

/// The file's content outside `[profile]`, line by line.
fn outside(text: &str, profile: &str) -> Vec<String> {
    let mut section = String::new();
    text.lines()
        .filter(|l| {
            if let Some(n) = l.trim().strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                section = n.to_owned();
            }
            section != profile
        })
        .map(str::to_owned)
        .collect()
}

fn temp_file(file: &Path) -> PathBuf {
    file.with_file_name(".credentials.aws_signing_helper.tmp")
}

/// SIGKILL `update --once` at random points, many times, including right
/// after its temp file appears (mid-write): the file always parses and holds
/// the old credentials or a complete new set, and nothing else changes.
#[test]
fn killed_at_random_points_the_file_is_old_or_new_never_torn() {
    const ITERATIONS: usize = 120;
    const FILLERS: usize = 3000;
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    // On disk (not a tmpfs), and big, so that writing and fsync take a while.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = dir.path().join("credentials");
    let mut seed = String::from(
        "[target]\naws_access_key_id = OLD\naws_secret_access_key = OLD\naws_session_token = OLD\n",
    );
    for i in 0..FILLERS {
        seed.push_str(&format!(
            "[filler{i}]\naws_access_key_id = AKIAFILLER{i:06}\nregion = eu-west-1\n\n"
        ));
    }
    std::fs::write(&file, &seed).unwrap();
    let args = update_args(&url, "target", true);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_aws_signing_helper"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_SHARED_CREDENTIALS_FILE", &file)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long an undisturbed run takes.
    let t0 = Instant::now();
    for _ in 0..3 {
        assert!(spawn().wait().unwrap().success());
    }
    let full = t0.elapsed() / 3;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n.max(1)
    };
    let (mut old, mut new, mut mid_write) = (0, 0, 0);
    let mut prev = std::fs::read_to_string(&file).unwrap();
    let reference_outside = outside(&prev, "target");
    for i in 0..ITERATIONS {
        let mut child = spawn();
        if i % 2 == 0 {
            // Anywhere in the run.
            std::thread::sleep(Duration::from_micros(rand(full.as_micros() as u64)));
        } else {
            // Just after the temp file appears: while it is being written.
            let deadline = Instant::now() + full * 4;
            while !temp_file(&file).exists() && Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(rand(3000)));
        }
        if temp_file(&file).exists() {
            mid_write += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&file).unwrap();
        let sections = parse(&text);
        assert_eq!(sections.len(), FILLERS + 1);
        assert_eq!(
            outside(&text, "target"),
            reference_outside,
            "only [target] changes"
        );
        let t = triple(&sections, "target");
        if text == prev {
            old += 1;
        } else {
            assert!(looks_issued(&t), "a complete new set: {t:?}");
            assert_ne!(
                t,
                triple(&parse(&prev), "target"),
                "all three keys change together"
            );
            new += 1;
        }
        assert_eq!(mode(&file), 0o600);
        prev = text;
    }
    println!(
        "kill test: {ITERATIONS} runs of ~{full:?}: {old} left the old file, {new} the new one; {mid_write} killed with the temp file present"
    );
    assert!(
        mid_write > 0,
        "some kills landed while the temp file was being written"
    );
    assert!(
        old > 0 && new > 0,
        "kills landed both before and after the rename"
    );
    // A later run cleans up the temp file a killed run left behind.
    let out = update_once(&url, "target", &file);
    assert!(out.status.success());
    assert!(!temp_file(&file).exists());
}

/// Two processes updating different profiles of one file, over and over:
/// neither ever loses the other's profile (the original's unlocked
/// truncate-and-write did).
#[test]
fn concurrent_updates_of_two_profiles_never_lose_one() {
    let mock = mock(Behaviour::Normal);
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "# shared\n[keep]\nx = 1\n").unwrap();
    let workers: Vec<_> = ["alpha", "beta"]
        .into_iter()
        .map(|profile| {
            let (url, file) = (url.clone(), file.clone());
            std::thread::spawn(move || {
                let mut seen = HashSet::new();
                for _ in 0..25 {
                    let out = update_once(&url, profile, &file);
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let sections = parse(&std::fs::read_to_string(&file).unwrap());
                    let t = triple(&sections, profile);
                    // Our last write is there (a lost update would bring back an old set).
                    assert!(seen.insert(t.0.clone()), "[{profile}] went back to {t:?}");
                    assert_eq!(sections["keep"]["x"], "1");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let sections = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(sections.len(), 3);
    assert_eq!(mock.request_count(), 50);
}

#[test]
fn the_loop_keeps_running_after_the_first_write() {
    let mock = mock(Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let args = update_args(&mock.url(), "default", false);
    let mut child = Command::new(env!("CARGO_BIN_EXE_aws_signing_helper"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&file)
        .unwrap_or_default()
        .contains("aws_session_token")
    {
        assert!(child.try_wait().unwrap().is_none(), "update exited");
        assert!(Instant::now() < deadline, "no write");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the loop is still running"
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("next refresh at"), "{log}");
    let text = std::fs::read_to_string(&file).unwrap();
    let t = triple(&parse(&text), "default");
    assert!(
        !log.contains(&t.1) && !log.contains(&t.2),
        "no secrets in the log"
    );
}
