//! Fault tests: the endpoint fails refreshes (500, a reset connection, a slow
//! answer), goes down for longer than the credentials live, and recovers; it
//! issues short-lived credentials (8 s, through the proxy) so that all of
//! this happens within seconds of real time.
//!
//! `serve` must keep answering with valid credentials while it can, answer
//! 500 (never empty or expired credentials) when it cannot, and pick up new
//! credentials once the endpoint recovers. `update` must leave the file
//! holding the last good credentials while it fails, and keep running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_types::os_shim_internal::Env;
use rolesanywhere_tests::*;

const LIFETIME: u64 = 8;

#[derive(Debug, Clone)]
struct Seen {
    at: u64,
    status: u16,
    akid: String,
}

/// Polls `serve` every 50 ms with a raw IMDS client and checks, on every
/// answer: a 200 carries complete credentials that have not expired; any
/// other answer is a 500 that says why.
fn watch(
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let at = unix_now();
            let r = imds_credentials(port);
            let akid = match r.status {
                200 => {
                    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                    for k in ["AccessKeyId", "SecretAccessKey", "Token"] {
                        assert!(!v[k].as_str().unwrap().is_empty(), "empty {k}: {v}");
                    }
                    let exp = parse_iso8601(v["Expiration"].as_str().unwrap());
                    assert!(exp > at, "served expired credentials ({exp} <= {at}): {v}");
                    v["AccessKeyId"].as_str().unwrap().to_owned()
                }
                500 => {
                    assert!(r.body.starts_with("no valid credentials"), "{r:?}");
                    String::new()
                }
                other => panic!("unexpected status {other}: {r:?}"),
            };
            log.lock().unwrap().push(Seen {
                at,
                status: r.status,
                akid,
            });
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

async fn sdk_akid(port: u16) -> Result<String, String> {
    let endpoint = format!("http://127.0.0.1:{port}/");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .env(Env::from_slice(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ]))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let provider = config.credentials_provider().unwrap();
    provider
        .provide_credentials()
        .await
        .map(|c| c.access_key_id().to_owned())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_rides_out_failures_and_outages() {
    let mock = mock(Behaviour::Normal);
    let proxy = FaultProxy::start(&mock.url());
    proxy.set_lifetime(Some(LIFETIME));
    let (mut serve, port) = Helper::serve(&proxy.url(), &[]);
    let c1 = proxy.issued()[0].clone();
    assert_eq!(sdk_akid(port).await.unwrap(), c1.access_key_id);

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let watcher = watch(port, Arc::clone(&stop), Arc::clone(&log));

    // 1. The refresh (at half-life, 4 s) meets a 500, a reset and a slow
    //    answer; the helper's retries get through before C1 expires.
    proxy.fail_next(&[
        Fault::Status(500),
        Fault::Reset,
        Fault::Slow(Duration::from_millis(1000)),
    ]);
    wait_for("a second credential set", Duration::from_secs(20), || {
        proxy.issued().len() >= 2
    });
    assert!(proxy.faults() >= 2);

    // 2. An outage longer than the credentials live: serve answers 500 once
    //    the last set issued before it (C2) has expired.
    proxy.set_default(Fault::Status(500));
    let before = proxy.issued().len();
    let c2 = proxy.issued()[before - 1].clone();
    let c2_expiry = parse_iso8601(&c2.expiration);
    wait_for("a 500 after C2 expired", Duration::from_secs(30), || {
        log.lock()
            .unwrap()
            .iter()
            .any(|s| s.status == 500 && s.at >= c2_expiry)
    });
    assert!(
        sdk_akid(port).await.is_err(),
        "no credentials for the SDK either"
    );

    // 3. The endpoint recovers: serve picks up new credentials by itself.
    proxy.set_default(Fault::Pass);
    wait_for(
        "credentials after recovery",
        Duration::from_secs(30),
        || proxy.issued().len() > before,
    );
    let recovered = |akid: &str| {
        proxy.issued()[before..]
            .iter()
            .any(|c| c.access_key_id == akid)
    };
    wait_for(
        "serve answering with new credentials",
        Duration::from_secs(5),
        || {
            log.lock()
                .unwrap()
                .last()
                .is_some_and(|s| recovered(&s.akid))
        },
    );
    assert!(recovered(&sdk_akid(port).await.unwrap()));

    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert!(serve.running(), "serve never exits on refresh failures");

    // The timeline: C1, then C2 (the sets before the outage), then only 500s
    // (none while C2 was valid), then C3 (the sets after it). Nothing else.
    let issued = proxy.issued();
    let log = log.lock().unwrap().clone();
    let mut phases: Vec<&str> = Vec::new();
    for s in &log {
        let index = issued.iter().position(|c| c.access_key_id == s.akid);
        let name = match (s.status, index) {
            (200, Some(0)) => "C1",
            (200, Some(i)) if i < before => "C2",
            (200, Some(_)) => "C3",
            (500, None) => {
                assert!(s.at >= c2_expiry, "500 while C2 was valid: {s:?}");
                "500"
            }
            _ => panic!("unexpected answer {s:?}"),
        };
        if phases.last() != Some(&name) {
            phases.push(name);
        }
    }
    let expected = if phases.first() == Some(&"C1") {
        vec!["C1", "C2", "500", "C3"]
    } else {
        vec!["C2", "500", "C3"]
    };
    assert_eq!(phases, expected, "{log:?}");
    let stderr = serve.stderr();
    assert!(stderr.contains("refreshing credentials failed"), "{stderr}");
    for c in &issued {
        assert!(!stderr.contains(&c.secret_access_key) && !stderr.contains(&c.session_token));
    }
}

#[test]
fn update_keeps_the_last_good_file_while_failing() {
    let mock = mock(Behaviour::Normal);
    let proxy = FaultProxy::start(&mock.url());
    proxy.set_lifetime(Some(LIFETIME));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "[other]\nx = 1\n").unwrap();
    let mut args = vec!["update".to_owned(), "--profile".to_owned(), "gw".to_owned()];
    args.extend(credential_flags(&proxy.url()));
    let mut update = Helper::spawn(
        &args,
        &[("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())],
    );
    let read = || std::fs::read_to_string(&file).unwrap();
    wait_for("the first write", Duration::from_secs(20), || {
        read().contains("aws_session_token")
    });
    let c1 = proxy.issued()[0].clone();
    let good = read();
    assert!(good.contains(&format!("aws_access_key_id = {}\n", c1.access_key_id)));

    // The endpoint fails every refresh for a while (the first due at 4 s).
    proxy.set_default(Fault::Status(500));
    let until = Instant::now() + Duration::from_secs(LIFETIME + 2);
    while Instant::now() < until {
        assert_eq!(read(), good, "the file holds the last good credentials");
        assert!(
            update.running(),
            "update keeps running: {}",
            update.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(proxy.faults() >= 3);
    assert_eq!(proxy.issued().len(), 1);

    // Recovery: new credentials land in the file, the rest untouched.
    proxy.set_default(Fault::Pass);
    wait_for(
        "new credentials in the file",
        Duration::from_secs(30),
        || proxy.issued().len() >= 2 && read() != good,
    );
    let text = read();
    let issued = proxy.issued();
    let c = issued[1..]
        .iter()
        .find(|c| text.contains(&c.access_key_id))
        .expect("the file holds a set issued after the recovery");
    assert_eq!(
        text,
        format!(
            "[other]\nx = 1\n\n[gw]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            c.access_key_id, c.secret_access_key, c.session_token
        )
    );
    let stderr = update.stderr();
    assert!(stderr.contains("refreshing credentials failed"), "{stderr}");
    assert!(!stderr.contains(&c.secret_access_key) && !stderr.contains(&c1.session_token));
}
