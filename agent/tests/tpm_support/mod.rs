//! swtpm and TPM key fixtures for `tests/tpm.rs`.
//!
//! The keys are made once per test process on a swtpm with its state in a
//! folder: persistent keys with tpm2-tools, TSS2 key files with tpm2-tools
//! (`tpm2_encodeobject`) and tpm2-openssl (`openssl genpkey -provider tpm2`),
//! certificates for them issued by the test CA. Each test then starts its own
//! swtpm on a *copy* of that state (the persistent handles and the storage
//! seed live in it), on free loopback ports, and stops it by PID when the
//! guard drops. A second TPM's state holds a key that the first cannot load.
//!
//! Every tool is required: a missing swtpm, tpm2-tools or tpm2-openssl fails
//! the tests loudly (`.ci/run` installs them).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

mod swtpm;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

pub use swtpm::{Swtpm, run_detached, run_on_terminal, tool};

/// Password of the persistent P-256 key at [`H_EC_PW`] (DA-protected).
pub const HANDLE_PASSWORD: &str = "handle-pass";
/// Password of `tools-rsa-pw.pem` (noDA).
pub const TOOLS_PASSWORD: &str = "tools-pass";
/// Password of `ossl-p384-pw.pem`.
pub const OSSL_PASSWORD: &str = "ossl-pass";

/// The persistent ECC storage key (standard SRK template).
pub const H_SRK: &str = "0x81000001";
/// Persistent RSA-2048 signing key, no password.
pub const H_RSA: &str = "0x81000101";
/// Persistent P-256 signing key with [`HANDLE_PASSWORD`], DA-protected.
pub const H_EC_PW: &str = "0x81000102";
/// Persistent P-384 signing key, no password.
pub const H_P384: &str = "0x81000103";

/// Flushes every transient object and session: tpm2-tools leaves them
/// loaded, and a TPM without a resource manager has only a few slots.
fn flush(dir: &Path, tcti: &str) {
    for kind in ["-t", "-l", "-s"] {
        tool(dir, tcti, "tpm2_flushcontext", &[kind]);
    }
}

const SRK_ATTRS: &str =
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt";
const SIGN_ATTRS: &str = "sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda";
/// Without noDA: wrong passwords count towards dictionary-attack lockout.
const SIGN_ATTRS_DA: &str = "sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth";
const DECRYPT_ATTRS: &str = "decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda";

/// The fixture folder: `state-a` (the TPM the tests use), `state-b` (another
/// TPM), keys, public keys and certificates.
pub struct Fixtures {
    pub dir: PathBuf,
}

impl Fixtures {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A fresh copy of TPM A's state, for one test's swtpm.
    pub fn tpm_a(&self) -> (tempfile::TempDir, Swtpm) {
        self.copy_state("state-a")
    }

    /// TPM A on Unix sockets instead of TCP.
    pub fn tpm_a_unix(&self) -> (tempfile::TempDir, Swtpm) {
        let tmp = self.copy_files("state-a");
        let tpm = Swtpm::start_unix(tmp.path());
        (tmp, tpm)
    }

    fn copy_state(&self, name: &str) -> (tempfile::TempDir, Swtpm) {
        let tmp = self.copy_files(name);
        let tpm = Swtpm::start(tmp.path());
        (tmp, tpm)
    }

    fn copy_files(&self, name: &str) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(self.dir.join(name)).unwrap() {
            let entry = entry.unwrap();
            let file = entry.file_name();
            if file.to_string_lossy().starts_with("tpm2-") {
                std::fs::copy(entry.path(), tmp.path().join(&file)).unwrap();
            }
        }
        tmp
    }
}

/// Makes the fixtures once per test process.
pub fn fixtures(ca_dir: &Path) -> &'static Fixtures {
    static FX: OnceLock<Fixtures> = OnceLock::new();
    FX.get_or_init(|| make_fixtures(ca_dir))
}

fn make_fixtures(ca_dir: &Path) -> Fixtures {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // Folders of earlier runs whose process is gone.
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("tpm-fixtures-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("tpm-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state-a")).unwrap();
    std::fs::create_dir_all(dir.join("state-b")).unwrap();
    let t0 = Instant::now();
    {
        let tpm = Swtpm::start(&dir.join("state-a"));
        make_keys_a(&dir, &tpm.tcti);
    }
    {
        let tpm = Swtpm::start(&dir.join("state-b"));
        let t = tpm.tcti.as_str();
        tool(
            &dir,
            t,
            "openssl",
            &[
                "genpkey",
                "-provider",
                "tpm2",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "group:P-256",
                "-out",
                "other-tpm-ec.pem",
            ],
        );
        pubkey_of_file(&dir, t, "other-tpm-ec", None);
    }
    for name in [
        "h-rsa",
        "h-ec-pw",
        "h-p384",
        "tools-ec",
        "tools-rsa-pw",
        "tools-p384-persistent",
        "tools-decrypt",
        "rsa-parent",
        "ossl-ec",
        "ossl-p384-pw",
        "ossl-rsa",
        "other-tpm-ec",
    ] {
        certify(&dir, ca_dir, name);
    }
    eprintln!("tpm fixtures made in {:?}", t0.elapsed());
    Fixtures { dir }
}

/// `NAME.pub.pem` from a key file (tpm2-openssl reads the public part).
fn pubkey_of_file(dir: &Path, tcti: &str, name: &str, password: Option<&str>) {
    let mut args = vec![
        "pkey".to_owned(),
        "-provider".into(),
        "tpm2".into(),
        "-provider".into(),
        "default".into(),
        "-in".into(),
        format!("{name}.pem"),
        "-pubout".into(),
        "-out".into(),
        format!("{name}.pub.pem"),
    ];
    if let Some(p) = password {
        args.push("-passin".into());
        args.push(format!("pass:{p}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool(dir, tcti, "openssl", &args);
}

fn make_keys_a(dir: &Path, t: &str) {
    // Wrong-password tests must not lock the DA-protected key out.
    tool(
        dir,
        t,
        "tpm2_dictionarylockout",
        &["-s", "-n", "1000", "-t", "1", "-l", "1"],
    );

    // The standard ECC SRK, persistent, as parent of keys and key files.
    tool(
        dir,
        t,
        "tpm2_createprimary",
        &[
            "-C",
            "o",
            "-G",
            "ecc256:aes128cfb",
            "-a",
            SRK_ATTRS,
            "-c",
            "srk.ctx",
        ],
    );
    tool(
        dir,
        t,
        "tpm2_evictcontrol",
        &["-C", "o", "-c", "srk.ctx", H_SRK],
    );
    flush(dir, t);

    // Persistent signing keys (tpm2_create + tpm2_load + tpm2_evictcontrol).
    for (name, alg, attrs, auth, handle) in [
        ("h-rsa", "rsa2048", SIGN_ATTRS, None, H_RSA),
        (
            "h-ec-pw",
            "ecc256",
            SIGN_ATTRS_DA,
            Some(HANDLE_PASSWORD),
            H_EC_PW,
        ),
        ("h-p384", "ecc384", SIGN_ATTRS, None, H_P384),
    ] {
        let (public, private) = (format!("{name}.tpub"), format!("{name}.tpriv"));
        let mut args = vec![
            "-C", H_SRK, "-G", alg, "-a", attrs, "-u", &public, "-r", &private,
        ];
        if let Some(p) = auth {
            args.extend(["-p", p]);
        }
        tool(dir, t, "tpm2_create", &args);
        flush(dir, t);
        let ctx = format!("{name}.ctx");
        tool(
            dir,
            t,
            "tpm2_load",
            &["-C", H_SRK, "-u", &public, "-r", &private, "-c", &ctx],
        );
        tool(
            dir,
            t,
            "tpm2_evictcontrol",
            &["-C", "o", "-c", &ctx, handle],
        );
        flush(dir, t);
        tool(
            dir,
            t,
            "tpm2_readpublic",
            &["-c", handle, "-f", "pem", "-o", &format!("{name}.pub.pem")],
        );
        flush(dir, t);
    }

    // TSS2 key files from tpm2-tools: keys under the owner hierarchy's
    // standard SRK (a transient primary; the file names the hierarchy) and
    // under the persistent SRK, written with tpm2_encodeobject.
    tool(
        dir,
        t,
        "tpm2_createprimary",
        &[
            "-C",
            "o",
            "-G",
            "ecc256:aes128cfb",
            "-a",
            SRK_ATTRS,
            "-c",
            "owner.ctx",
        ],
    );
    for (name, parent, alg, attrs, auth) in [
        ("tools-ec", "owner.ctx", "ecc256", SIGN_ATTRS, None),
        (
            "tools-rsa-pw",
            "owner.ctx",
            "rsa2048",
            SIGN_ATTRS,
            Some(TOOLS_PASSWORD),
        ),
        ("tools-p384-persistent", H_SRK, "ecc384", SIGN_ATTRS, None),
        ("tools-decrypt", "owner.ctx", "rsa2048", DECRYPT_ATTRS, None),
    ] {
        let (public, private) = (format!("{name}.tpub"), format!("{name}.tpriv"));
        let mut args = vec![
            "-C", parent, "-G", alg, "-a", attrs, "-u", &public, "-r", &private,
        ];
        if let Some(p) = auth {
            args.extend(["-p", p]);
        }
        tool(dir, t, "tpm2_create", &args);
        flush(dir, t);
        let out = format!("{name}.pem");
        tool(
            dir,
            t,
            "tpm2_encodeobject",
            &["-C", parent, "-u", &public, "-r", &private, "-o", &out],
        );
        flush(dir, t);
        let pem = tool(
            dir,
            t,
            "tpm2_print",
            &["-t", "TPM2B_PUBLIC", "-f", "pem", &public],
        )
        .stdout;
        std::fs::write(dir.join(format!("{name}.pub.pem")), pem).unwrap();
    }
    flush(dir, t);

    // A key under the RSA-2048 SRK of the owner hierarchy, for a file with
    // rsaParent TRUE (no tool here writes that field, so the DER is built).
    tool(
        dir,
        t,
        "tpm2_createprimary",
        &[
            "-C",
            "o",
            "-G",
            "rsa2048:aes128cfb",
            "-a",
            SRK_ATTRS,
            "-c",
            "rsasrk.ctx",
        ],
    );
    tool(
        dir,
        t,
        "tpm2_create",
        &[
            "-C",
            "rsasrk.ctx",
            "-G",
            "ecc256",
            "-a",
            SIGN_ATTRS,
            "-u",
            "rsa-parent.tpub",
            "-r",
            "rsa-parent.tpriv",
        ],
    );
    flush(dir, t);
    let public = std::fs::read(dir.join("rsa-parent.tpub")).unwrap();
    let private = std::fs::read(dir.join("rsa-parent.tpriv")).unwrap();
    write_tss2_pem(dir, "rsa-parent", &public, &private, true);
    write_tss2_pem(dir, "rsa-parent-unflagged", &public, &private, false);
    let pem = tool(
        dir,
        t,
        "tpm2_print",
        &["-t", "TPM2B_PUBLIC", "-f", "pem", "rsa-parent.tpub"],
    )
    .stdout;
    std::fs::write(dir.join("rsa-parent.pub.pem"), pem).unwrap();

    // TSS2 key files from tpm2-openssl.
    for (name, args, password) in [
        (
            "ossl-ec",
            vec!["-algorithm", "EC", "-pkeyopt", "group:P-256"],
            None,
        ),
        (
            "ossl-p384-pw",
            vec![
                "-algorithm",
                "EC",
                "-pkeyopt",
                "group:P-384",
                "-pkeyopt",
                "user-auth:ossl-pass",
            ],
            Some(OSSL_PASSWORD),
        ),
        (
            "ossl-rsa",
            vec![
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "bits:2048",
                "-pkeyopt",
                "parent:0x81000001",
            ],
            None,
        ),
    ] {
        let out = format!("{name}.pem");
        let mut all = vec!["genpkey", "-provider", "tpm2"];
        all.extend(args);
        all.extend(["-out", &out]);
        tool(dir, t, "openssl", &all);
        pubkey_of_file(dir, t, name, password);
    }
    flush(dir, t);
}

/// A DER TLV with a definite length.
fn der(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

/// `NAME.pem`: a TSS2 key file (emptyAuth TRUE, owner hierarchy parent,
/// with or without rsaParent TRUE) around a `tpm2_create` key pair.
fn write_tss2_pem(dir: &Path, name: &str, public: &[u8], private: &[u8], rsa_parent: bool) {
    let mut body = vec![0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03];
    body.extend(der(0xa0, &[0x01, 0x01, 0xff]));
    if rsa_parent {
        body.extend(der(0xa5, &[0x01, 0x01, 0xff]));
    }
    body.extend(der(0x02, &[0x40, 0x00, 0x00, 0x01]));
    body.extend(der(0x04, public));
    body.extend(der(0x04, private));
    let der_path = dir.join(format!("{name}.der"));
    std::fs::write(&der_path, der(0x30, &body)).unwrap();
    let b64 = tool(
        dir,
        "",
        "openssl",
        &["base64", "-in", &format!("{name}.der")],
    )
    .stdout;
    let mut pem = b"-----BEGIN TSS2 PRIVATE KEY-----\n".to_vec();
    pem.extend(b64);
    pem.extend(b"-----END TSS2 PRIVATE KEY-----\n");
    std::fs::write(dir.join(format!("{name}.pem")), pem).unwrap();
}

/// `NAME.cert.pem`: a clientAuth leaf for `NAME.pub.pem`, issued by the test
/// CA. OpenSSL 3.0's `x509 -new` does not exist yet, so a CSR signed by the
/// CA key carries the subject and `-force_pubkey` puts the TPM key in.
fn certify(dir: &Path, ca_dir: &Path, name: &str) {
    let ext = dir.join("leaf.cnf");
    if !ext.exists() {
        std::fs::write(
            &ext,
            "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        )
        .unwrap();
    }
    let ca = ca_dir.join("ca.pem").to_string_lossy().into_owned();
    let ca_key = ca_dir.join("ca.key").to_string_lossy().into_owned();
    let csr = format!("{name}.csr");
    tool(
        dir,
        "",
        "openssl",
        &[
            "req",
            "-new",
            "-key",
            &ca_key,
            "-subj",
            &format!("/CN=tpm {name}"),
            "-out",
            &csr,
        ],
    );
    tool(
        dir,
        "",
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-force_pubkey",
            &format!("{name}.pub.pem"),
            "-set_serial",
            "0x7f01",
            "-extfile",
            "leaf.cnf",
            "-extensions",
            "leaf",
            "-days",
            "30",
            "-sha256",
            "-out",
            &format!("{name}.cert.pem"),
        ],
    );
}
