//! The engine's schedule, backoff and cache, driven by a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::testing::*;
use super::*;

const T0: i64 = 1_800_000_000;

fn engine(clock: &Arc<ManualClock>, fetcher: Scripted, random: Random) -> Engine {
    Engine::new(
        Box::new(fetcher),
        Arc::clone(clock) as Arc<dyn Clock>,
        Policy::default(),
        random,
        false,
    )
}

fn max_random() -> Random {
    Box::new(|m| m)
}

fn zero_random() -> Random {
    Box::new(|_| 0)
}

fn akid(i: &Issued) -> String {
    i.credentials.access_key_id().to_owned()
}

#[test]
fn refresh_is_five_minutes_ahead_with_bounded_jitter() {
    for (random, expect) in [(zero_random(), 3300), (max_random(), 3240)] {
        let clock = ManualClock::at(T0);
        let e = engine(&clock, Scripted::new(&clock, &[Ok(3600)]), random);
        e.start().unwrap();
        assert_eq!(e.next_attempt().0 - T0, expect);
    }
    // Short-lived credentials refresh at half-life; never sooner than 1 s.
    let clock = ManualClock::at(T0);
    let e = engine(&clock, Scripted::new(&clock, &[Ok(120)]), zero_random());
    e.start().unwrap();
    assert_eq!(e.next_attempt().0 - T0, 60);
    let clock = ManualClock::at(T0);
    let e = engine(&clock, Scripted::new(&clock, &[Ok(1)]), zero_random());
    e.start().unwrap();
    assert_eq!(e.next_attempt().0 - T0, 1);
}

#[test]
fn start_fails_fast_and_rejects_expired_credentials() {
    let clock = ManualClock::at(T0);
    let e = engine(&clock, Scripted::new(&clock, &[Err("down")]), zero_random());
    let err = e.start().unwrap_err();
    assert!(err.to_string().contains("down"), "{err}");
    assert!(e.current().is_err());
    let clock = ManualClock::at(T0);
    let e = engine(&clock, Scripted::new(&clock, &[Ok(0)]), zero_random());
    let err = e.start().unwrap_err().to_string();
    assert!(err.contains("system clock"), "{err}");
}

#[test]
fn keeps_last_good_credentials_until_expiry_then_none() {
    let clock = ManualClock::at(T0);
    let e = engine(
        &clock,
        Scripted::new(&clock, &[Ok(900), Err("endpoint down")]),
        zero_random(),
    );
    let first = e.start().unwrap();
    // Refresh due at T0+600; it fails, and keeps failing.
    clock.set(T0 + 600);
    match e.step() {
        Some(Refreshed::Failed(why)) => assert!(why.contains("endpoint down"), "{why}"),
        other => panic!("{other:?}"),
    }
    while clock.now().0 < T0 + 899 {
        assert_eq!(akid(&e.current().unwrap()), akid(&first));
        let next = e.next_attempt().0.min(T0 + 899);
        clock.set(next);
        let _ = e.step();
    }
    assert_eq!(akid(&e.current().unwrap()), akid(&first));
    clock.set(T0 + 900);
    let why = e.current().unwrap_err().0;
    assert!(why.contains("endpoint down"), "{why}");
    assert!(
        e.lock().current.is_none(),
        "expired credentials are dropped"
    );
}

#[test]
fn backoff_grows_is_capped_and_recovers() {
    let clock = ManualClock::at(T0);
    let mut script = vec![Ok(3600)];
    script.extend([Err("down"); 12]);
    script.push(Ok(3600));
    let fetcher = Scripted::new(&clock, &script);
    let calls = Arc::clone(&fetcher.calls);
    let e = engine(&clock, fetcher, max_random());
    e.start().unwrap();
    clock.set(e.next_attempt().0);
    let mut waits = Vec::new();
    loop {
        let before = clock.now().0;
        match e.step().unwrap() {
            Refreshed::Failed(_) => waits.push(e.next_attempt().0 - before),
            Refreshed::Fresh(i) => {
                assert_eq!(akid(&i), "ASIA0002");
                break;
            }
        }
        clock.set(e.next_attempt().0);
    }
    // With the maximum jitter each wait is the ceiling: 2, 4, ... capped at 120.
    assert_eq!(waits, [2, 4, 8, 16, 32, 64, 120, 120, 120, 120, 120, 120]);
    // After the success the schedule is back to 5 minutes before expiry.
    assert_eq!(e.next_attempt().0 - clock.now().0, 3600 - 360);
    assert_eq!(calls.lock().unwrap().len(), 14);
}

/// A signer failure (a token pulled out, a TPM reset) is a failed
/// refresh like any other: logged, retried, never the end of the process.
#[test]
fn signer_errors_are_retried() {
    struct Flaky(u32, Arc<ManualClock>);
    impl Fetch for Flaky {
        fn fetch(&mut self) -> Result<Credentials, Error> {
            self.0 += 1;
            if self.0 == 2 {
                return Err(Error::Sign("CKR_DEVICE_REMOVED".into()));
            }
            Credentials::new("ASIAOK", "s", "t", UnixTime(self.1.now().0 + 900))
                .map_err(|e| Error::Response(e.to_string()))
        }
    }
    let clock = ManualClock::at(T0);
    let e = Engine::new(
        Box::new(Flaky(0, Arc::clone(&clock))),
        Arc::clone(&clock) as Arc<dyn Clock>,
        Policy::default(),
        zero_random(),
        false,
    );
    e.start().unwrap();
    clock.set(e.next_attempt().0);
    match e.step() {
        Some(Refreshed::Failed(why)) => assert!(why.contains("CKR_DEVICE_REMOVED"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(e.current().is_ok(), "the old credentials stay");
    clock.set(e.next_attempt().0);
    assert!(matches!(e.step(), Some(Refreshed::Fresh(_))));
}

#[test]
fn minimum_backoff_is_half_the_ceiling() {
    let clock = ManualClock::at(T0);
    let e = engine(&clock, Scripted::new(&clock, &[Ok(60)]), zero_random());
    assert_eq!(e.backoff(1), 1);
    assert_eq!(e.backoff(4), 8);
    assert_eq!(e.backoff(40), 60);
}

/// A day of virtual time with a flaky endpoint (two failures before each
/// success): the retries land well inside the 5-minute margin, so valid
/// credentials are available at every instant, and the endpoint is called
/// one refresh at a time, no more often than the schedule says.
#[test]
fn a_day_of_flaky_refreshes() {
    let clock = ManualClock::at(T0);
    let mut script = vec![Ok(900)];
    for i in 0..1000 {
        script.push(if i % 3 == 2 { Ok(900) } else { Err("flaky") });
    }
    let fetcher = Scripted::new(&clock, &script);
    let calls = Arc::clone(&fetcher.calls);
    let e = engine(&clock, fetcher, Box::new(os_random));
    e.start().unwrap();
    let end = T0 + 86_400;
    while clock.now().0 < end {
        let now = clock.now();
        let c = e.current().unwrap();
        assert!(c.credentials.expiration() > now);
        let _ = e.step();
        clock.advance(7);
    }
    let calls = calls.lock().unwrap();
    assert!(calls.windows(2).all(|w| w[1] > w[0]), "one call at a time");
    // A success every 540..=600 s (plus retries): at most 3 * 86400 / 540.
    assert!((400..=481).contains(&calls.len()), "{} calls", calls.len());
}

/// The real `run` loop on the manual clock: it sleeps through virtual
/// hours and refreshes on schedule.
#[test]
fn run_loop_refreshes_on_schedule() {
    let clock = ManualClock::at(T0);
    let fetcher = Scripted::new(&clock, &[Ok(3600)]);
    let calls = Arc::clone(&fetcher.calls);
    let e = Arc::new(engine(&clock, fetcher, zero_random()));
    e.start().unwrap();
    let runner = {
        let e = Arc::clone(&e);
        std::thread::spawn(move || e.run())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while calls.lock().unwrap().len() < 25 {
        assert!(std::time::Instant::now() < deadline, "run loop stalled");
        std::thread::sleep(Duration::from_millis(1));
    }
    e.stop();
    runner.join().unwrap();
    let calls = calls.lock().unwrap();
    for w in calls.windows(2) {
        // 3600 s credentials, refreshed 300 s before expiry; naps of at most
        // 30 s may overshoot by up to one nap.
        let gap = w[1] - w[0];
        assert!((3300..=3330).contains(&gap), "gap {gap}");
    }
}

#[test]
fn readers_wait_for_a_refresh_in_flight() {
    use std::sync::mpsc;
    struct Gate {
        go: mpsc::Receiver<()>,
        clock: Arc<ManualClock>,
    }
    impl Fetch for Gate {
        fn fetch(&mut self) -> Result<Credentials, Error> {
            let _ = self.go.recv_timeout(Duration::from_secs(10));
            Credentials::new("ASIAGATE", "s", "t", UnixTime(self.clock.now().0 + 900))
                .map_err(|e| Error::Response(e.to_string()))
        }
    }
    let clock = ManualClock::at(T0);
    let (tx, rx) = mpsc::channel();
    let e = Arc::new(Engine::new(
        Box::new(Gate {
            go: rx,
            clock: Arc::clone(&clock),
        }),
        Arc::clone(&clock) as Arc<dyn Clock>,
        Policy::default(),
        zero_random(),
        false,
    ));
    assert!(e.current().is_err());
    let refresher = {
        let e = Arc::clone(&e);
        std::thread::spawn(move || e.refresh_now())
    };
    while !e.lock().refreshing {
        std::thread::yield_now();
    }
    // Nothing cached and the refresh is stuck: a short wait gives up.
    assert!(e.current_or_wait(Duration::from_millis(20)).is_err());
    let reader = {
        let e = Arc::clone(&e);
        std::thread::spawn(move || e.current_or_wait(Duration::from_secs(10)))
    };
    tx.send(()).unwrap();
    assert_eq!(akid(&reader.join().unwrap().unwrap()), "ASIAGATE");
    assert!(matches!(refresher.join().unwrap(), Refreshed::Fresh(_)));
}

#[test]
fn os_random_stays_in_range() {
    for max in [0, 1, 2, 59, u64::MAX] {
        for _ in 0..100 {
            assert!(os_random(max) <= max);
        }
    }
}
