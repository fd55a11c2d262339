//! The public AWS SigV4 test suite (`shared/sigv4-suite`, Apache-2.0, see its
//! LICENSE and NOTICE), run against `rolesanywhere_core::sigv4`.
//!
//! For every case `NAME/NAME.req` (the raw HTTP request) we check that:
//! - our canonical request is byte for byte `NAME.creq`;
//! - our canonical request hash is line 4 of `NAME.sts`;
//! - our `StringToSign`, built from the algorithm, date and scope of
//!   `NAME.sts`, is byte for byte `NAME.sts`.
//!
//! The suite's `SHA256SUMS` is checked first, so a damaged copy fails loudly.
//! Set `SIGV4_SUITE_DIR` to run against another copy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rolesanywhere_core::sigv4::{
    CanonicalRequest, Header, HttpRequest, PayloadHash, Scope, SignedHeaders, StringToSign,
};
use sha2::{Digest, Sha256};

/// The suite has 31 cases in 27 top-level folders (`normalize-path/` holds 7
/// and `post-sts-token/` 2). Fewer means a missing or empty copy, which must
/// not pass silently.
const MIN_CASES: usize = 31;

/// `post-x-www-form-urlencoded`: the `.creq` lists `SignedHeaders` as
/// `host;x-amz-date`, but `content-type` is among its canonical headers, and
/// the `.sts` hash matches only `content-type;host;x-amz-date`. We sign every
/// present header, so we produce the latter; the test asserts exactly that
/// one-line difference and that our hash is the `.sts` hash.
const ERRATUM_SIGNED_HEADERS: &str = "post-x-www-form-urlencoded";

/// `post-x-www-form-urlencoded-parameters`: the `.req` sends `Param1=value1`
/// as the body with no query, but this copy's `.creq` (edited upstream in
/// smithy-rs, whose loader dropped request bodies) has `Param1=value1` on the
/// query line and the hash of an empty payload. No SigV4 implementation gets
/// that from the `.req`. We check that the request the `.creq` describes
/// (query `Param1=value1`, empty body) gives the `.creq` and `.sts` exactly,
/// and that the request as sent hashes its body (`9095672b...`, the value in
/// AWS's original 2015 suite).
const ERRATUM_BODY_AS_QUERY: &str = "post-x-www-form-urlencoded-parameters";

fn suite_dir() -> PathBuf {
    match std::env::var_os("SIGV4_SUITE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/sigv4-suite"
        )),
    }
}

/// Every folder `.../NAME/` holding `NAME.req`, sorted.
fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.join(format!("{name}.req")).is_file() {
                out.push(path.clone());
            }
            find_cases(&path, out);
        }
    }
    out.sort();
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
}

/// A `.req` file: request line, header lines (a line starting with a space or
/// tab continues the previous header; the raw line break is kept for the
/// signer to fold), an empty line, the body.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> RawRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.split('\n');
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    // The target may hold spaces (normalize-path/get-space): the version is
    // after the last space.
    let (target, version) = rest.rsplit_once(' ').unwrap();
    assert!(
        version.starts_with("HTTP/"),
        "bad request line {request_line:?}"
    );
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            let last = headers
                .last_mut()
                .expect("continuation line before any header");
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("header line without ':'");
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

struct VecSink(Vec<u8>);

impl embedded_io::ErrorType for VecSink {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for VecSink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Our canonical request (signing every present header) and its hash.
fn canonicalise(raw: &RawRequest, query: &str, body: &[u8]) -> (String, [u8; 32]) {
    let headers: Vec<Header<'_>> = raw
        .headers
        .iter()
        .map(|(name, value)| Header { name, value })
        .collect();
    let req = HttpRequest {
        method: &raw.method,
        path: &raw.path,
        query,
        headers: &headers,
    };
    let creq = CanonicalRequest::new(&req, &SignedHeaders::AllPresent, &PayloadHash::Bytes(body))
        .unwrap_or_else(|e| panic!("canonicalising: {e}"));
    let mut sink = VecSink(Vec::new());
    creq.write_to(&mut sink).unwrap();
    let hash = creq.sha256().unwrap();
    assert_eq!(
        hash,
        <[u8; 32]>::from(Sha256::digest(&sink.0)),
        "hash sink != written bytes"
    );
    (String::from_utf8(sink.0).unwrap(), hash)
}

/// Our string to sign, with the algorithm, date and scope of `sts`.
fn string_to_sign(sts: &str, hash: &[u8; 32]) -> StringToSign {
    let lines: Vec<&str> = sts.split('\n').collect();
    let [algorithm, amz_date, scope, _hash] = lines[..] else {
        panic!("sts is not 4 lines: {sts:?}")
    };
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts[..] else {
        panic!("bad scope {scope:?}")
    };
    StringToSign::new(
        algorithm,
        amz_date,
        &Scope {
            date,
            region,
            service,
        },
        hash,
    )
    .unwrap_or_else(|e| panic!("string to sign: {e}"))
}

fn sts_hash_line(sts: &str) -> &str {
    sts.split('\n').nth(3).unwrap_or("")
}

/// Checks one case; returns what went wrong.
fn check_case(dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_str().unwrap();
    let raw = parse_request(&read_text(&dir.join(format!("{name}.req"))));
    let want_creq = read_text(&dir.join(format!("{name}.creq")));
    let sts = read_text(&dir.join(format!("{name}.sts")));
    let mut problems = String::new();

    let (query, body) = match name {
        ERRATUM_BODY_AS_QUERY => {
            let (sent, sent_hash) = canonicalise(&raw, &raw.query, &raw.body);
            let body_hash = hex::encode(Sha256::digest(&raw.body));
            if body_hash != "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
                || !sent.ends_with(&body_hash)
                || sent_hash == <[u8; 32]>::from(Sha256::digest(want_creq.as_bytes()))
            {
                writeln!(problems, "as-sent request should hash its body: {sent:?}").unwrap();
            }
            (std::str::from_utf8(&raw.body).unwrap().to_owned(), &b""[..])
        }
        _ => (raw.query.clone(), &raw.body[..]),
    };
    let (creq, hash) = canonicalise(&raw, &query, body);

    let want_creq = if name == ERRATUM_SIGNED_HEADERS {
        let erratum = "\n\nhost;x-amz-date\n";
        if !want_creq.contains(erratum)
            || hex::encode(Sha256::digest(want_creq.as_bytes())) == sts_hash_line(&sts)
        {
            writeln!(
                problems,
                "erratum no longer present: review this special case"
            )
            .unwrap();
        }
        want_creq.replace(erratum, "\n\ncontent-type;host;x-amz-date\n")
    } else {
        want_creq
    };
    if creq != want_creq {
        writeln!(
            problems,
            "canonical request differs:\n--- ours\n{creq}\n--- .creq\n{want_creq}"
        )
        .unwrap();
    }
    if hex::encode(hash) != sts_hash_line(&sts) {
        writeln!(
            problems,
            "hash {} != .sts line 4 {}",
            hex::encode(hash),
            sts_hash_line(&sts)
        )
        .unwrap();
    }
    let ours = string_to_sign(&sts, &hash);
    if ours.as_bytes() != sts.as_bytes() {
        writeln!(
            problems,
            "string to sign differs:\n--- ours\n{ours}\n--- .sts\n{sts}"
        )
        .unwrap();
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Checks `SHA256SUMS` and returns the relative paths it lists.
fn check_sha256sums(dir: &Path) -> Vec<String> {
    let sums = read_text(&dir.join("SHA256SUMS"));
    let mut listed = Vec::new();
    for line in sums.lines().filter(|l| !l.is_empty()) {
        let (want, file) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let got = hex::encode(Sha256::digest(read(&dir.join(file))));
        assert_eq!(got, want, "SHA256SUMS mismatch for {file}");
        listed.push(file.to_owned());
    }
    listed
}

#[test]
fn sigv4_suite() {
    let dir = suite_dir();
    assert!(
        dir.is_dir(),
        "SigV4 suite not found at {} (set SIGV4_SUITE_DIR)",
        dir.display()
    );
    let listed = check_sha256sums(&dir);
    let mut cases = Vec::new();
    find_cases(&dir, &mut cases);
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases in {} (expected at least {MIN_CASES})",
        cases.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let rel = case
            .strip_prefix(&dir)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        for ext in ["req", "creq", "sts"] {
            let file = format!("{rel}/{name}.{ext}");
            assert!(listed.contains(&file), "{file} is not in SHA256SUMS");
        }
        if let Err(problems) = check_case(case) {
            failures.push(format!("== {rel}\n{problems}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let names: Vec<&str> = cases
        .iter()
        .filter_map(|c| c.file_name()?.to_str())
        .collect();
    for special in [
        ERRATUM_SIGNED_HEADERS,
        ERRATUM_BODY_AS_QUERY,
        "get-header-value-multiline",
    ] {
        assert!(
            names.contains(&special),
            "case {special} missing from the suite"
        );
    }
}

#[test]
fn request_parser_folds_continuation_lines() {
    let raw = parse_request("GET /a b?x=1 HTTP/1.1\nHost:h\nMy:v1\n  v2\n\nbody");
    assert_eq!(
        (raw.method.as_str(), raw.path.as_str(), raw.query.as_str()),
        ("GET", "/a b", "x=1")
    );
    assert_eq!(
        raw.headers,
        [
            ("Host".to_owned(), "h".to_owned()),
            ("My".to_owned(), "v1\n  v2".to_owned())
        ]
    );
    assert_eq!(raw.body, b"body");
}
