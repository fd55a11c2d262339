//! Real clients: the AWS SDK for Rust (`aws-config`'s default credential
//! chain) gets the credentials the mock endpoint issued, through each of the
//! helper's three ways of handing them out:
//! - `credential_process` in a config file (run through `sh -c`, as the SDK does);
//! - `serve`, found through `AWS_EC2_METADATA_SERVICE_ENDPOINT` (IMDSv2: the
//!   token reply must carry the TTL header, `Expiration` must end in `Z`);
//! - the shared credentials file that `update` wrote.
//!
//! The SDK reads its environment from an injected `Env` (aws-config's
//! `test-util`), so these tests never touch the process environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_types::os_shim_internal::Env;
use rolesanywhere_tests::*;

/// The SDK's default chain with exactly this environment.
async fn sdk_credentials(env: &[(&str, &str)]) -> Credentials {
    let mut vars = vec![("AWS_REGION", "us-east-1")];
    vars.extend_from_slice(env);
    let config = aws_config::defaults(BehaviorVersion::latest())
        .env(Env::from_slice(&vars))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let provider = config.credentials_provider().expect("a credentials chain");
    tokio::time::timeout(Duration::from_secs(60), provider.provide_credentials())
        .await
        .expect("the SDK answered in time")
        .unwrap_or_else(|e| panic!("the SDK found no credentials: {e:?}"))
}

fn assert_same(got: &Credentials, issued: &Issued, with_expiry: bool) {
    assert_eq!(got.access_key_id(), issued.access_key_id);
    assert_eq!(got.secret_access_key(), issued.secret_access_key);
    assert_eq!(got.session_token(), Some(issued.session_token.as_str()));
    if with_expiry {
        let expiry = got.expiry().expect("an expiry");
        let secs = expiry.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, parse_iso8601(&issued.expiration));
    } else {
        assert_eq!(got.expiry(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_process_through_a_config_file() {
    let mock = mock(Behaviour::Normal);
    let proxy = FaultProxy::start(&mock.url());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    // `env -i`: the helper gets no environment from the test machine.
    let command = format!(
        "env -i {} credential-process {}",
        helper_binary().display(),
        credential_flags(&proxy.url()).join(" ")
    );
    std::fs::write(
        &config,
        format!("[default]\nregion = us-east-1\ncredential_process = {command}\n\n[profile other]\ncredential_process = false\n"),
    )
    .unwrap();
    let missing = dir.path().join("no-credentials-file");
    let got = sdk_credentials(&[
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap()),
    ])
    .await;
    let issued = proxy.issued();
    assert_eq!(issued.len(), 1);
    assert_same(&got, &issued[0], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imds_through_serve_and_the_endpoint_variable() {
    let mock = mock(Behaviour::Normal);
    let proxy = FaultProxy::start(&mock.url());
    let (serve, port) = Helper::serve(&proxy.url(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let endpoint = format!("http://127.0.0.1:{port}/");
    let got = sdk_credentials(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
        ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap()),
    ])
    .await;
    let issued = proxy.issued();
    assert_eq!(issued.len(), 1, "one CreateSession, at start-up");
    assert_same(&got, &issued[0], true);
    // A second client, a second token: the same cached credentials.
    let again = sdk_credentials(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
        ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", missing.to_str().unwrap()),
    ])
    .await;
    assert_same(&again, &issued[0], true);
    assert_eq!(proxy.issued().len(), 1);
    drop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentials_file_written_by_update() {
    let mock = mock(Behaviour::Normal);
    let proxy = FaultProxy::start(&mock.url());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    // Other profiles, comments and CRLF line endings around ours.
    std::fs::write(
        &file,
        "; edge gateway\r\n[default]\r\naws_access_key_id = AKIDEFAULTSTATIC\r\naws_secret_access_key = static\r\n\r\n[gateway]\r\naws_access_key_id = STALE\r\n",
    )
    .unwrap();
    let mut args = vec![
        "update".to_owned(),
        "--once".to_owned(),
        "--profile".to_owned(),
        "gateway".to_owned(),
    ];
    args.extend(credential_flags(&proxy.url()));
    let mut update = Helper::spawn(
        &args,
        &[("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while update.running() {
        assert!(std::time::Instant::now() < deadline, "update --once hung");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(update.stderr().is_empty(), "{}", update.stderr());
    let missing = dir.path().join("missing");
    let got = sdk_credentials(&[
        ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
        ("AWS_PROFILE", "gateway"),
    ])
    .await;
    let issued = proxy.issued();
    assert_eq!(issued.len(), 1);
    // The file has no expiry (as the original writes it).
    assert_same(&got, &issued[0], false);
    // The other profile still reads back as it was.
    let default = sdk_credentials(&[
        ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ("AWS_CONFIG_FILE", missing.to_str().unwrap()),
    ])
    .await;
    assert_eq!(default.access_key_id(), "AKIDEFAULTSTATIC");
    assert_eq!(default.secret_access_key(), "static");
}
