//! Rewriting one profile of the shared credentials file, keeping every other
//! byte as it was.
//!
//! The file is read as the AWS parsers read it (botocore's `configparser`,
//! aws-config's profile parser): a line whose first non-blank character is
//! `#` or `;` is a comment; `[name]` starts a section; an indented line
//! continues the previous value; `key = value` or `key: value` is a property,
//! with the key compared case-insensitively.
//!
//! In the first `[profile]` section, each of `aws_access_key_id`,
//! `aws_secret_access_key` and `aws_session_token` replaces its first line
//! (and that value's continuation lines); missing ones are added after the
//! section's last property. Further copies of those keys, in that section or
//! in a later duplicate `[profile]` section, are removed: botocore rejects a
//! file with a duplicate key, and aws-config lets the later copy win, which
//! would hide the new credentials. Without a `[profile]` section one is
//! appended. Line endings follow the file's first line (LF or CRLF).
//!
//! Fixed on purpose (spec 4.2): the original dropped the file's last line
//! when it sat in the profile, duplicated a profile whose header was the last
//! line, matched keys by prefix (`aws_access_key_id_x`), and lost everything
//! after a line longer than 64 KiB.

use core::fmt;

use rolesanywhere_core::session::Credentials;
use zeroize::Zeroizing;

/// The keys `update` writes, in the order it writes them.
pub const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Why the file or the values cannot be edited safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditError {
    /// The file is not UTF-8 text (binary data, or another encoding).
    NotText(&'static str),
    /// The file has content but no `[section]` at all: not a credentials file.
    NoSections,
    /// `--profile` cannot be written as a section header.
    BadProfile(&'static str),
    /// A credential holds characters that cannot go on one INI line.
    BadValue(&'static str),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NotText(why) => write!(f, "is not a credentials file ({why}); not changing it"),
            EditError::NoSections => f.write_str(
                "is not a credentials file (it has content but no [profile] section); not changing it",
            ),
            EditError::BadProfile(why) => write!(f, "invalid profile name: {why}"),
            EditError::BadValue(field) => write!(
                f,
                "the {field} from CreateSession has characters that cannot be written to a credentials file"
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// Checks a `--profile` value.
///
/// # Errors
/// [`EditError::BadProfile`] for a name that would not read back as itself.
pub fn check_profile(name: &str) -> Result<(), EditError> {
    if name.is_empty() {
        return Err(EditError::BadProfile("it is empty"));
    }
    if name.trim_matches([' ', '\t']) != name {
        return Err(EditError::BadProfile("it starts or ends with white space"));
    }
    if name.contains(['[', ']']) {
        return Err(EditError::BadProfile("it contains [ or ]"));
    }
    if name.chars().any(char::is_control) {
        return Err(EditError::BadProfile("it contains control characters"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Blank,
    Comment,
    /// `[name]` (possibly followed by a comment); the name as written.
    Header(&'a str),
    /// A property line; the key, trimmed.
    Property(&'a str),
    /// An indented line: part of the previous value.
    Continuation,
    /// Anything else (kept, never touched).
    Other,
}

fn classify(line: &str) -> Kind<'_> {
    let body = line.trim_end_matches(['\n', '\r']);
    let trimmed = body.trim_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Kind::Blank;
    }
    if trimmed.starts_with(['#', ';']) {
        return Kind::Comment;
    }
    if body.starts_with([' ', '\t']) {
        return Kind::Continuation;
    }
    if let Some(inner) = trimmed.strip_prefix('[') {
        if let Some((name, rest)) = inner.split_once(']') {
            let rest = rest.trim_matches([' ', '\t']);
            if rest.is_empty() || rest.starts_with(['#', ';']) {
                return Kind::Header(name);
            }
        }
        return Kind::Other;
    }
    match body.find(['=', ':']) {
        Some(at) => Kind::Property(body.get(..at).unwrap_or_default().trim_matches([' ', '\t'])),
        None => Kind::Other,
    }
}

fn key_index(key: &str) -> Option<usize> {
    KEYS.iter().position(|k| k.eq_ignore_ascii_case(key))
}

fn check_value(value: &str, field: &'static str) -> Result<(), EditError> {
    if value.is_empty() || !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(EditError::BadValue(field));
    }
    Ok(())
}

/// What happens to each input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop,
    /// Replace with the line for `KEYS[i]`.
    Replace(usize),
}

/// Returns the file's new content with `profile` holding `creds`.
///
/// # Errors
/// [`EditError`] when the input is not a credentials file, the profile name
/// is unusable, or a credential cannot be written on one line.
pub fn update_profile(
    content: &[u8],
    profile: &str,
    creds: &Credentials,
) -> Result<Zeroizing<String>, EditError> {
    check_profile(profile)?;
    let values = [
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
    ];
    check_value(values[0], "accessKeyId")?;
    check_value(values[1], "secretAccessKey")?;
    check_value(values[2], "sessionToken")?;
    if content.contains(&0) {
        return Err(EditError::NotText("it contains NUL bytes"));
    }
    let text = core::str::from_utf8(content).map_err(|_| EditError::NotText("it is not UTF-8"))?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let kinds: Vec<Kind<'_>> = lines.iter().map(|l| classify(l)).collect();
    let has_sections = kinds.iter().any(|k| matches!(k, Kind::Header(_)));
    let has_content = kinds
        .iter()
        .any(|k| matches!(k, Kind::Property(_) | Kind::Other | Kind::Continuation));
    if has_content && !has_sections {
        return Err(EditError::NoSections);
    }
    let eol = match lines.first() {
        Some(l) if l.ends_with("\r\n") => "\r\n",
        _ => "\n",
    };
    // Written straight into the (zeroized) output: no temporary copies of
    // the secrets.
    let push_key = |out: &mut String, i: usize| {
        out.push_str(KEYS.get(i).copied().unwrap_or_default());
        out.push_str(" = ");
        out.push_str(values.get(i).copied().unwrap_or_default());
    };

    let mut fates = vec![Fate::Keep; lines.len()];
    let mut first: Option<(usize, usize)> = None; // the first target section: header, end
    let mut seen = [false; 3];
    let mut i = 0;
    while i < lines.len() {
        if kinds.get(i) != Some(&Kind::Header(profile)) {
            i += 1;
            continue;
        }
        let header = i;
        let end = (header + 1..lines.len())
            .find(|&j| matches!(kinds.get(j), Some(Kind::Header(_))))
            .unwrap_or(lines.len());
        let is_first = first.is_none();
        if is_first {
            first = Some((header, end));
        }
        for j in header + 1..end {
            let Some(Kind::Property(key)) = kinds.get(j) else {
                continue;
            };
            let Some(k) = key_index(key) else { continue };
            let slot = fates.get_mut(j);
            match (is_first, seen.get_mut(k)) {
                (true, Some(s)) if !*s => {
                    *s = true;
                    if let Some(f) = slot {
                        *f = Fate::Replace(k);
                    }
                }
                _ => {
                    if let Some(f) = slot {
                        *f = Fate::Drop;
                    }
                }
            }
            // The old value's continuation lines go with it (blank lines
            // between them too; comments stay).
            let last_cont = (j + 1..end)
                .take_while(|&c| {
                    matches!(
                        kinds.get(c),
                        Some(Kind::Continuation | Kind::Blank | Kind::Comment)
                    )
                })
                .filter(|&c| kinds.get(c) == Some(&Kind::Continuation))
                .last();
            if let Some(last) = last_cont {
                for c in j + 1..=last {
                    if matches!(kinds.get(c), Some(Kind::Continuation | Kind::Blank))
                        && let Some(f) = fates.get_mut(c)
                    {
                        *f = Fate::Drop;
                    }
                }
            }
        }
        i = end;
    }

    // Sized once, so the buffer holding the secrets never moves (a moved
    // buffer would leave an unzeroized copy behind).
    let ours: usize = KEYS.iter().chain(values.iter()).map(|s| s.len() + 8).sum();
    let capacity = text.len() + profile.len() + ours + 16;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    let Some((header, end)) = first else {
        out.push_str(text);
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            if kinds.last().is_some_and(|k| *k != Kind::Blank) {
                out.push_str(eol);
            }
        }
        out.push('[');
        out.push_str(profile);
        out.push(']');
        out.push_str(eol);
        for k in 0..KEYS.len() {
            push_key(&mut out, k);
            out.push_str(eol);
        }
        return Ok(out);
    };
    // Missing keys go after the section's last property (or its header).
    let anchor = (header + 1..end)
        .rev()
        .find(|&j| {
            fates.get(j) != Some(&Fate::Drop)
                && matches!(
                    kinds.get(j),
                    Some(Kind::Property(_) | Kind::Continuation | Kind::Other)
                )
        })
        .unwrap_or(header);
    for (j, line) in lines.iter().enumerate() {
        match fates.get(j).copied().unwrap_or(Fate::Keep) {
            Fate::Keep => out.push_str(line),
            Fate::Drop => {}
            Fate::Replace(k) => {
                push_key(&mut out, k);
                let ending = line
                    .get(line.trim_end_matches(['\n', '\r']).len()..)
                    .unwrap_or_default();
                out.push_str(ending);
            }
        }
        if j == anchor {
            for (k, _) in seen.iter().enumerate().filter(|(_, s)| !**s) {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push_str(eol);
                }
                push_key(&mut out, k);
                out.push_str(eol);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use rolesanywhere_core::time::UnixTime;

    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "accessKeyId",
            "secretAccessKey",
            "sessionToken",
            UnixTime(0),
        )
        .unwrap()
    }

    fn edit(input: &str, profile: &str) -> String {
        update_profile(input.as_bytes(), profile, &creds())
            .unwrap()
            .to_string()
    }

    const K: &str = "aws_access_key_id = accessKeyId";
    const S: &str = "aws_secret_access_key = secretAccessKey";
    const T: &str = "aws_session_token = sessionToken";

    /// The original's `TestUpdate` cases (spec 4.2), with the outputs it
    /// should have produced: nothing lost, nothing duplicated.
    #[test]
    fn original_test_cases() {
        // 1: test-space-separated-keys
        let input = "test\ntest\ntest\n[test profile]\naws_access_key_id = test\n[test]\naws_secret_access_key = test";
        // "test" lines before any section are kept as they are.
        assert_eq!(
            edit(input, "test profile"),
            format!(
                "test\ntest\ntest\n[test profile]\n{K}\n{S}\n{T}\n[test]\naws_secret_access_key = test"
            )
        );
        // 2: test-profile-with-other-keys
        let input = "[test profile]\naws_access_key_id = test\ntest_key = test\n[test]\naws_secret_access_key = test";
        assert_eq!(
            edit(input, "test profile"),
            format!(
                "[test profile]\n{K}\ntest_key = test\n{S}\n{T}\n[test]\naws_secret_access_key = test"
            )
        );
        // 3: test-commented-profile
        let input = "# [test profile]\naws_access_key_id = test\n[test]\nx = y\n";
        assert_eq!(
            edit(input, "test profile"),
            format!("{input}\n[test profile]\n{K}\n{S}\n{T}\n")
        );
        // 4: test-profile-does-not-exist
        let input = "[test]\naws_secret_access_key = test";
        assert_eq!(
            edit(input, "test profile"),
            format!("{input}\n\n[test profile]\n{K}\n{S}\n{T}\n")
        );
        // 5: test-first-word-in-profile-matches: the last line is replaced, not lost.
        let input = "[test profile]\nx = 1\n[test]\naws_secret_access_key = test";
        assert_eq!(
            edit(input, "test"),
            format!("[test profile]\nx = 1\n[test]\n{S}\n{K}\n{T}\n")
        );
        // 6: test-multiple-profiles-with-same-name: the first gets the keys;
        // the second loses its stale copies (they would shadow ours).
        let input = "[test]\ntest_key = test\n[test profile]\nx = 1\n[test]\naws_access_key_id = old\ny = 2\n";
        assert_eq!(
            edit(input, "test"),
            format!(
                "[test]\ntest_key = test\n{K}\n{S}\n{T}\n[test profile]\nx = 1\n[test]\ny = 2\n"
            )
        );
    }

    #[test]
    fn new_file_and_header_on_the_last_line() {
        assert_eq!(edit("", "default"), format!("[default]\n{K}\n{S}\n{T}\n"));
        // The original appended a second [default] here.
        assert_eq!(
            edit("[a]\nx = 1\n[default]", "default"),
            format!("[a]\nx = 1\n[default]\n{K}\n{S}\n{T}\n")
        );
    }

    #[test]
    fn keeps_every_other_byte() {
        let input = "; top comment\r\n[default]\r\naws_access_key_id=OLD ; no inline comments\r\nregion: eu-west-1\r\n\r\n# trailing comment for [next]\r\n[next]\r\naws_access_key_id = other\r\n";
        let out = edit(input, "default");
        assert_eq!(
            out,
            format!(
                "; top comment\r\n[default]\r\n{K}\r\nregion: eu-west-1\r\n{S}\r\n{T}\r\n\r\n# trailing comment for [next]\r\n[next]\r\naws_access_key_id = other\r\n"
            )
        );
        // Idempotent.
        assert_eq!(edit(&out, "default"), out);
    }

    #[test]
    fn keys_match_exactly_and_case_insensitively() {
        let input = "[p]\naws_access_key_id_x = keep\nAWS_ACCESS_KEY_ID: old\naws_session_token = a\naws_session_token = dup\n";
        assert_eq!(
            edit(input, "p"),
            format!("[p]\naws_access_key_id_x = keep\n{K}\n{T}\n{S}\n")
        );
    }

    #[test]
    fn continuation_lines_go_with_their_value() {
        let input = "[p]\naws_session_token = part1\n  part2\n\n  part3\n# note\nregion = x\n";
        assert_eq!(
            edit(input, "p"),
            format!("[p]\n{T}\n# note\nregion = x\n{K}\n{S}\n")
        );
    }

    #[test]
    fn headers_with_comments_and_look_alikes() {
        let out = edit("[p] # mine\nx = 1\n[profile p]\ny = 2\n[ p ]\nz = 3\n", "p");
        assert_eq!(
            out,
            format!("[p] # mine\nx = 1\n{K}\n{S}\n{T}\n[profile p]\ny = 2\n[ p ]\nz = 3\n")
        );
    }

    #[test]
    fn refuses_what_is_not_a_credentials_file() {
        let c = creds();
        assert_eq!(
            update_profile(b"\x7fELF\x02\x01\x01\x00\x00", "p", &c).unwrap_err(),
            EditError::NotText("it contains NUL bytes")
        );
        assert_eq!(
            update_profile(b"caf\xe9\n", "p", &c).unwrap_err(),
            EditError::NotText("it is not UTF-8")
        );
        assert_eq!(
            update_profile(b"{\"json\": true}\n", "p", &c).unwrap_err(),
            EditError::NoSections
        );
        // Comments and blank lines alone are fine.
        assert!(update_profile(b"# nothing yet\n\n", "p", &c).is_ok());
    }

    #[test]
    fn refuses_bad_names_and_values() {
        let c = creds();
        for bad in ["", " p", "p\n[x]", "a]b", "[a", "p\t"] {
            assert!(matches!(
                update_profile(b"", bad, &c),
                Err(EditError::BadProfile(_))
            ));
        }
        let evil = Credentials::new("AKID", "s", "tok\n[default]\nx", UnixTime(0)).unwrap();
        assert_eq!(
            update_profile(b"", "p", &evil).unwrap_err(),
            EditError::BadValue("sessionToken")
        );
    }

    /// Whatever the input, the output parses with one `[p]` holding each key
    /// exactly once, and the lines outside `[p]` sections are unchanged.
    #[test]
    fn invariants_on_generated_files() {
        let pieces = [
            "[p]\n",
            "[q]\n",
            "[p] ;c\n",
            "aws_access_key_id = a\n",
            "AWS_SESSION_TOKEN: t\n",
            "aws_secret_access_key=s\n",
            "  cont\n",
            "\n",
            "# c\n",
            "x = y\n",
            "\r\n",
            "[p]",
            "aws_session_token = z",
        ];
        let mut state = 7u64;
        for _ in 0..3000 {
            let mut input = String::from("[start]\n");
            for _ in 0..(state % 12) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                input.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let out = edit(&input, "p");
            let mut section = String::new();
            let mut counts = std::collections::HashMap::new();
            for line in out.split_inclusive('\n') {
                match classify(line) {
                    Kind::Header(h) => section = h.to_owned(),
                    Kind::Property(k) if section == "p" => {
                        if let Some(i) = key_index(k) {
                            *counts.entry(i).or_insert(0) += 1;
                        }
                    }
                    _ => {}
                }
            }
            assert_eq!(counts.len(), 3, "{input:?} -> {out:?}");
            assert!(counts.values().all(|&n| n == 1), "{input:?} -> {out:?}");
            assert!(out.contains(K) && out.contains(S) && out.contains(T));
            // Lines of other sections survive in order (a blank separator
            // before an appended section aside).
            let others = |s: &str| -> Vec<String> {
                let mut sec = String::new();
                s.split_inclusive('\n')
                    .filter_map(|l| {
                        if let Kind::Header(h) = classify(l) {
                            sec = h.to_owned();
                        }
                        let l = l.trim_end_matches(['\r', '\n']);
                        (sec != "p" && !l.is_empty()).then(|| l.to_owned())
                    })
                    .collect()
            };
            assert_eq!(others(&input), others(&out), "{input:?} -> {out:?}");
        }
    }
}
