//! Proof that the ECDSA path of the core allocates nothing.
//!
//! This test binary installs a global allocator that refuses (returns null,
//! which makes Rust abort with "memory allocation of N bytes failed") every
//! allocation made on a thread while that thread is inside a measured
//! section, after writing which step asked for it. The test harness's own
//! allocations, and those of other test threads, are untouched: the switch is
//! a thread-local flag.
//!
//! The measured section is what a microcontroller does for one
//! `CreateSession` call with a P-256 key: decode PEM into stack buffers,
//! parse the certificate and the key (SEC1 and PKCS#8), check that they
//! match, build and sign the request into a stack buffer, parse a canned
//! answer into fixed-capacity credentials, and write the `credential_process`
//! JSON into a stack buffer.
//!
//! CI runs it as `cargo test -p rolesanywhere-core --no-default-features
//! --test no_alloc` (scripts/ci.d/35-no-std-powerset.sh). With the `alloc`
//! feature on (as in `cargo test --workspace`), `PrivateKey::from_pem`
//! decodes into a zeroizing `Vec` by design, so that one step is measured
//! only without `alloc`; everything else is measured in both builds.
//!
//! The fixtures were made with OpenSSL 3.0 and are a throwaway test identity:
//! ```text
//! openssl ecparam -name prime256v1 -genkey -noout -out key.sec1.pem
//! openssl pkcs8 -topk8 -nocrypt -in key.sec1.pem -out key.pkcs8.pem
//! openssl req -new -x509 -key key.sec1.pem -subj "/CN=no-alloc test leaf" \
//!   -days 36500 -set_serial 0x1234ABCD -sha256 -out cert.pem
//! ```

// The allocator is the one place that needs unsafe: GlobalAlloc is an unsafe
// trait. The core itself stays #![forbid(unsafe_code)].
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write as _;

use rolesanywhere_core::key::{KeyFormat, PrivateKey};
use rolesanywhere_core::output::write_credential_process;
use rolesanywhere_core::pem;
use rolesanywhere_core::session::{Endpoint, SessionRequest, parse_response, sign_request};
use rolesanywhere_core::signer::{Digest, Signer, check_key_matches, verify};
use rolesanywhere_core::time::UnixTime;
use rolesanywhere_core::x509::{Certificate, KeyType};

const CERT_PEM: &[u8] = b"-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIEEjSrzTAKBggqhkjOPQQDAjAdMRswGQYDVQQDDBJuby1h
bGxvYyB0ZXN0IGxlYWYwIBcNMjYxMjA0MTcyNTUxWhgPMjEyNjExMTAxNzI1NTFa
MB0xGzAZBgNVBAMMEm5vLWFsbG9jIHRlc3QgbGVhZjBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABFa3fmMepRIkZ+O1uzLyc/utynWCgj89mAadK/v77OmTQKTVLee0
riKSwDKsZMxsW5+/3fqCNfYLZl4/oohq5Q6jUzBRMB0GA1UdDgQWBBTIHdkevzbo
+Cvj/z8MeNxdX6nS9DAfBgNVHSMEGDAWgBTIHdkevzbo+Cvj/z8MeNxdX6nS9DAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCoUI66OAVCfpjfh1mw
BrIX72EqfjEWrQFypFGhNItXtwIhAJSCXBEXYxaBcTaKoru9tai1Nb7mgc/lhfdk
ov4xMJbm
-----END CERTIFICATE-----
";

const KEY_SEC1_PEM: &[u8] = b"-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILKLDR6LPBFXkSbpLUqaMiVMrvIOih4jYFSGvGTgHLg4oAoGCCqGSM49
AwEHoUQDQgAEVrd+Yx6lEiRn47W7MvJz+63KdYKCPz2YBp0r+/vs6ZNApNUt57Su
IpLAMqxkzGxbn7/d+oI19gtmXj+iiGrlDg==
-----END EC PRIVATE KEY-----
";

const KEY_PKCS8_PEM: &[u8] = b"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsosNHos8EVeRJukt
SpoyJUyu8g6KHiNgVIa8ZOAcuDihRANCAARWt35jHqUSJGfjtbsy8nP7rcp1goI/
PZgGnSv7++zpk0Ck1S3ntK4iksAyrGTMbFufv936gjX2C2ZeP6KIauUO
-----END PRIVATE KEY-----
";

/// A `CreateSession` answer shaped like the service's, with an escaped
/// character in the secret and the token, and fields the parser must skip.
const RESPONSE: &[u8] = br#"{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/edge/s","assumedRoleId":"AROAEXAMPLE:s"},"credentials":{"accessKeyId":"ASIAEXAMPLEKEYID0001","expiration":"2026-12-04T18:00:00.000Z","secretAccessKey":"wJalrXUtnFEMI\/K7MDENG+bPxRfiCYEXAMPLEKEY","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE\u002Btoken=="},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/edge","sourceIdentity":"CN=no-alloc test leaf"}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/41cl0bae-6783-40d4-ab20-65dc5d922e45"}"#;

const EXPECTED_OUTPUT: &str = r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLEKEYID0001","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","SessionToken":"IQoJb3JpZ2luX2VjEXAMPLE+token==","Expiration":"2026-12-04T18:00:00Z"}"#;

const REQUEST: SessionRequest<'static> = SessionRequest {
    role_arn: "arn:aws:iam::123456789012:role/edge",
    profile_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6f4a3c2e-1111-2222-3333-444455556666",
    trust_anchor_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d8b0a0b-1111-2222-3333-444455556666",
    duration_seconds: 3600,
    role_session_name: Some("gateway-0042"),
};

const ENDPOINT: Endpoint<'static> = Endpoint {
    host: "rolesanywhere.us-east-1.amazonaws.com",
    region: "us-east-1",
};

/// 2026-12-04T17:30:00Z.
const NOW: UnixTime = UnixTime(1_796_405_400);

// ---------------------------------------------------------------------------
// The allocator.

/// What the allocator does on the current thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Outside a measured section: pass through.
    Allow,
    /// Inside: refuse, after telling stderr which step asked.
    Refuse,
    /// Inside the allocator's self-check: refuse silently and count.
    RefuseQuietly,
}

thread_local! {
    // const-initialised Cells without Drop: reading them never allocates and
    // registers no destructor.
    static MODE: Cell<Mode> = const { Cell::new(Mode::Allow) };
    static STEP: Cell<&'static str> = const { Cell::new("") };
    // Allocations refused so far on this thread (tests run in parallel
    // threads, so a global count would mix them up).
    static REFUSED: Cell<usize> = const { Cell::new(0) };
}

/// Allocations refused so far on this thread.
fn refused() -> usize {
    REFUSED.with(Cell::get)
}

struct RefuseInSection;

impl RefuseInSection {
    /// True when this allocation must fail.
    fn refuse(size: usize) -> bool {
        // try_with: during thread teardown the TLS may be gone; allow then.
        let mode = MODE.try_with(Cell::get).unwrap_or(Mode::Allow);
        if mode == Mode::Allow {
            return false;
        }
        let _ = REFUSED.try_with(|r| r.set(r.get() + 1));
        if mode == Mode::Refuse {
            let step = STEP.try_with(Cell::get).unwrap_or("?");
            // Format without a heap; stderr is unbuffered and bypasses the
            // harness's output capture (which would allocate).
            let mut digits = [0u8; 20];
            let mut i = digits.len();
            let mut n = size;
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            let mut err = std::io::stderr();
            let _ = err.write_all(b"\nno_alloc: refused an allocation of ");
            let _ = err.write_all(&digits[i..]);
            let _ = err.write_all(b" bytes in the measured section, step: ");
            let _ = err.write_all(step.as_bytes());
            let _ = err.write_all(b"\n");
        }
        true
    }
}

// SAFETY: every method either returns null (always allowed for alloc,
// alloc_zeroed and realloc: it reports failure and leaves the old block
// untouched) or forwards its arguments unchanged to `System`, so the caller's
// guarantees about `layout` and `ptr` are exactly what `System` needs.
unsafe impl GlobalAlloc for RefuseInSection {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged; the caller upholds GlobalAlloc::alloc's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged; the caller upholds alloc_zeroed's contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::refuse(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged; `ptr` came from System (every block
        // this allocator hands out does) with `layout`, as realloc requires.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Freeing is not allocating; a measured step that frees a block it
        // did not allocate would have had to allocate it earlier, outside.
        // SAFETY: forwarded unchanged; `ptr` came from System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: RefuseInSection = RefuseInSection;

/// Runs `f` with allocation refused on this thread.
fn measured<T>(mode: Mode, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            MODE.with(|m| m.set(Mode::Allow));
        }
    }
    MODE.with(|m| m.set(mode));
    let _reset = Reset;
    f()
}

/// Names the step for the refusal message.
fn step(name: &'static str) {
    STEP.with(|s| s.set(name));
}

// ---------------------------------------------------------------------------
// The ECDSA path.

/// A signer that cannot compare keys cheaply, like a TPM or a token, so that
/// `check_key_matches` signs a challenge and verifies it.
struct SignOnly<'a>(&'a PrivateKey);

impl Signer for SignOnly<'_> {
    type Error = <PrivateKey as Signer>::Error;
    fn key_type(&self) -> KeyType {
        self.0.key_type()
    }
    fn max_signature_len(&self) -> usize {
        self.0.max_signature_len()
    }
    fn sign(&self, message: &[u8], digest: Digest, out: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.sign(message, digest, out)
    }
}

/// What the measured section hands back, all on the stack.
struct Outcome {
    request: [u8; 4096],
    authorization: (usize, usize),
    body: (usize, usize),
    output: [u8; 10 * 1024],
    output_len: usize,
}

/// Decodes the first PEM block of `pem` into `buf`.
fn decode<'b>(pem_text: &[u8], buf: &'b mut [u8]) -> &'b [u8] {
    pem::blocks(pem_text).next().unwrap().decode(buf).unwrap()
}

/// Offset and length of `part` inside the buffer that starts at `base`.
fn span(base: usize, part: &str) -> (usize, usize) {
    (part.as_ptr() as usize - base, part.len())
}

fn ecdsa_path() -> Outcome {
    let mut out = Outcome {
        request: [0; 4096],
        authorization: (0, 0),
        body: (0, 0),
        output: [0; 10 * 1024],
        output_len: 0,
    };

    step("decode certificate PEM");
    let mut cert_buf = [0u8; 1024];
    let cert_der = decode(CERT_PEM, &mut cert_buf);
    step("parse certificate");
    let cert = Certificate::from_der(cert_der).unwrap();
    assert_eq!(cert.key_type(), Some(KeyType::P256));

    step("decode SEC1 key PEM");
    let mut sec1_buf = [0u8; 256];
    let sec1_der = decode(KEY_SEC1_PEM, &mut sec1_buf);
    step("parse SEC1 key");
    let key = PrivateKey::from_der(KeyFormat::Sec1, sec1_der).unwrap();

    step("decode PKCS#8 key PEM");
    let mut pkcs8_buf = [0u8; 256];
    let pkcs8_der = decode(KEY_PKCS8_PEM, &mut pkcs8_buf);
    step("parse PKCS#8 key");
    let key8 = PrivateKey::from_pkcs8_der(pkcs8_der).unwrap();

    #[cfg(not(feature = "alloc"))]
    {
        step("PrivateKey::from_pem (no alloc: stack buffer)");
        let _ = PrivateKey::from_pem(KEY_SEC1_PEM).unwrap();
    }

    step("check_key_matches (compare public keys)");
    check_key_matches(&key, &cert).unwrap();
    check_key_matches(&key8, &cert).unwrap();
    step("check_key_matches (sign and verify a challenge)");
    check_key_matches(&SignOnly(&key), &cert).unwrap();

    step("sign_request");
    let base = out.request.as_ptr() as usize;
    let chain: [&[u8]; 1] = [cert_der];
    let signed = sign_request(
        &REQUEST,
        &ENDPOINT,
        &key,
        &cert,
        &chain,
        NOW,
        &mut out.request,
    )
    .unwrap();
    let _ = signed.headers().count();
    out.authorization = span(base, signed.authorization);
    out.body = span(base, signed.body);

    step("verify a signature (the mock's job, done here to cover verify)");
    let mut sig = [0u8; 72];
    let n = key8.sign(b"message", Digest::Sha256, &mut sig).unwrap();
    verify(&cert, b"message", Digest::Sha256, &sig[..n]).unwrap();

    step("parse_response");
    let credentials = parse_response(RESPONSE).unwrap();

    step("write_credential_process");
    let mut w: &mut [u8] = &mut out.output;
    write_credential_process(&mut w, &credentials).unwrap();
    let left = w.len();
    out.output_len = out.output.len() - left;

    step("done");
    out
}

#[test]
fn ecdsa_path_allocates_nothing() {
    let before = refused();
    let out = measured(Mode::Refuse, ecdsa_path);
    // A refused allocation aborts the process, so reaching this line already
    // proves the point; the counter says it again.
    assert_eq!(refused(), before);

    let text = |(start, len): (usize, usize)| {
        std::str::from_utf8(&out.request[start..start + len]).unwrap()
    };
    let authorization = text(out.authorization);
    assert!(
        authorization.starts_with(
            "AWS4-X509-ECDSA-SHA256 Credential=305441741/20261204/us-east-1/rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain, Signature="
        ),
        "{authorization}"
    );
    assert_eq!(
        text(out.body),
        r#"{"durationSeconds":3600,"roleSessionName":"gateway-0042"}"#
    );
    assert_eq!(
        std::str::from_utf8(&out.output[..out.output_len]).unwrap(),
        EXPECTED_OUTPUT
    );
}

/// The guard must not be a no-op: inside a section, allocations through
/// the global allocator are refused (null), and nothing else is.
#[test]
fn the_allocator_refuses_inside_a_section_only() {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let before = refused();
    let inside = measured(Mode::RefuseQuietly, || {
        // SAFETY: a non-zero-size layout; the result is only compared with null.
        let p = unsafe { std::alloc::alloc(layout) };
        p.is_null()
    });
    assert!(inside, "an allocation inside a section was not refused");
    assert_eq!(refused(), before + 1);

    // SAFETY: a non-zero-size layout; freed right below with the same layout.
    let p = unsafe { std::alloc::alloc(layout) };
    assert!(!p.is_null(), "an allocation outside a section was refused");
    // SAFETY: `p` was allocated above with `layout` and is not used again.
    unsafe { std::alloc::dealloc(p, layout) };

    // A collection sees the same refusal: try_reserve reports it instead
    // of aborting.
    let reserved = measured(Mode::RefuseQuietly, || {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve(128).is_err()
    });
    assert!(reserved, "Vec::try_reserve inside a section succeeded");
}

// ---------------------------------------------------------------------------
// The TPM path: what a host does around one TPM signature.

/// A `TPM2_Sign` answer: an ECDSA signature and an auth area (whose HMAC is
/// not the real one: the check runs in full and says no).
#[cfg(feature = "tpm")]
const TPM_SIGN_ANSWER: [u8; 37] = [
    0x80, 0x02, 0x00, 0x00, 0x00, 0x25, 0x00, 0x00, 0x00, 0x00, // header
    0x00, 0x00, 0x00, 0x0c, // parameterSize
    0x00, 0x18, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x02, 0x00, 0x02, 0x03, 0x04, // ECDSA r, s
    0x00, 0x02, 0xaa, 0xbb, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, // nonce, attrs, hmac
];

#[cfg(feature = "tpm")]
#[test]
fn tpm_commands_allocate_nothing() {
    use rolesanywhere_core::tpm::{self, AuthCommand, HmacSession, Response, Signature};
    let before = refused();
    measured(Mode::Refuse, || {
        let mut frame = [0u8; tpm::MAX_FRAME];
        step("TPM2_CreatePrimary (ECC SRK)");
        tpm::create_primary(
            &mut frame,
            0x4000_0001,
            &AuthCommand::password(&[]),
            &tpm::ecc_srk_template(),
        )
        .unwrap();
        step("TPM2_Load");
        tpm::load(
            &mut frame,
            0x8000_0000,
            &AuthCommand::password(&[]),
            &[1; 64],
            &[2; 90],
        )
        .unwrap();
        step("TPM2_StartAuthSession");
        tpm::start_auth_session(&mut frame, &[3; 32]).unwrap();
        step("TPM2_Sign with an HMAC session");
        let mut session = HmacSession::new(0x0200_0000, [3; 32], &[4; 32]).unwrap();
        let mut params = [0u8; 128];
        let n = tpm::sign_parameters(
            &mut params,
            &[5; 32],
            tpm::TPM_ALG_ECDSA,
            tpm::TPM_ALG_SHA256,
        )
        .unwrap();
        let name = [0x00, 0x0b, 6, 6];
        let auth = session.authorize([7; 32], 0, tpm::TPM_CC_SIGN, &[&name], &params[..n], b"pw");
        tpm::sign(&mut frame, 0x8000_0001, &auth, &params[..n]).unwrap();
        step("the answer: split, HMAC checked, signature read");
        let resp = Response::parse(&TPM_SIGN_ANSWER, 0, true).unwrap().unwrap();
        assert!(
            session
                .verify(tpm::TPM_CC_SIGN, resp.params, &resp.auth.unwrap(), b"pw")
                .is_err()
        );
        assert!(matches!(
            Signature::parse(resp.params),
            Ok(Signature::Ecdsa { .. })
        ));
        step("the SRK template's public area");
        tpm::PublicArea::parse(&tpm::ecc_srk_template()).unwrap();
        step("done");
    });
    assert_eq!(refused(), before);
}
