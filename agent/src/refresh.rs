//! The credential cache that `serve` and `update` share: one set of
//! credentials, refreshed ahead of expiry by a single refresher, kept through
//! endpoint failures until it expires, and never handed out once expired.
//!
//! Timing, in whole seconds of an injectable [`Clock`]:
//! - after a success, the next refresh is `ahead + jitter` before expiry, where
//!   `ahead` is [`Policy::refresh_ahead`] (5 minutes) or half the lifetime if
//!   the credentials live shorter than twice that, and `jitter` is uniform in
//!   `0..=ahead/5` (at most [`Policy::max_jitter`]) so that a fleet of gateways
//!   does not call `CreateSession` in lock step;
//! - after the n-th failure in a row, the next attempt waits an "equal jitter"
//!   exponential backoff: `c/2 + uniform(0..=c/2)` with
//!   `c = min(cap, base * 2^(n-1))`;
//! - the refresher never sleeps longer than [`Policy::max_nap`] before reading
//!   the wall clock again, so a suspend/resume or a clock step is noticed (the
//!   original slept on the monotonic clock and woke with stale credentials).
//!
//! Only the refresher calls the fetcher, so there is never more than one
//! `CreateSession` in flight, whatever the number of readers. Readers take the
//! current credentials from the cache; while a refresh is running and nothing
//! valid is cached they may wait briefly for it ([`Engine::current_or_wait`]).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rolesanywhere_core::session::Credentials;
use rolesanywhere_core::time::UnixTime;

use crate::error::{Error, one_line};

/// Where time comes from. The system clock in production; a manual clock in
/// tests, so that hours of refreshes run in milliseconds.
pub trait Clock: Send + Sync {
    /// The wall-clock time now.
    fn now(&self) -> UnixTime;

    /// Lets `d` of this clock's time pass as far as the clock can by itself,
    /// and returns how long the caller must still block in real time (the
    /// system clock returns `d`; a test clock advances itself and returns zero).
    fn pass(&self, d: Duration) -> Duration;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    fn pass(&self, d: Duration) -> Duration {
        d
    }
}

/// Something that obtains fresh credentials: `CreateSession`, or for `update`
/// `CreateSession` followed by writing the credentials file.
pub trait Fetch: Send {
    /// One attempt (which may retry internally); an error is logged and
    /// retried later by the engine.
    fn fetch(&mut self) -> Result<Credentials, Error>;
}

impl Fetch for crate::session::SessionClient {
    fn fetch(&mut self) -> Result<Credentials, Error> {
        crate::session::SessionClient::fetch(self)
    }
}

/// Credentials together with when we obtained them (IMDS `LastUpdated`).
pub struct Issued {
    /// The credentials (zeroized on drop).
    pub credentials: Credentials,
    /// When the refresh that produced them finished.
    pub obtained: UnixTime,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("credentials", &self.credentials)
            .field("obtained", &self.obtained)
            .finish()
    }
}

impl Issued {
    /// True while the credentials have not expired at `now`.
    pub fn valid_at(&self, now: UnixTime) -> bool {
        self.credentials.expiration() > now
    }
}

/// The timing knobs (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Refresh this long before expiry (halved lifetime for short-lived credentials).
    pub refresh_ahead: Duration,
    /// Upper bound of the random extra advance of a scheduled refresh.
    pub max_jitter: Duration,
    /// Never schedule a refresh sooner than this after the previous one.
    pub min_interval: Duration,
    /// First backoff ceiling after a failure.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
    /// Longest single sleep before the wall clock is read again.
    pub max_nap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            refresh_ahead: Duration::from_secs(300),
            max_jitter: Duration::from_secs(60),
            min_interval: Duration::from_secs(1),
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(120),
            max_nap: Duration::from_secs(30),
        }
    }
}

/// Uniform random integer in `0..=max`; injectable so tests are repeatable.
pub type Random = Box<dyn Fn(u64) -> u64 + Send + Sync>;

/// Uniform in `0..=max` from the OS RNG (the midpoint if the RNG fails,
/// which only loses the jitter, never correctness).
pub fn os_random(max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut r = [0u8; 8];
    match getrandom::fill(&mut r) {
        Ok(()) => u64::from_le_bytes(r) % (max.saturating_add(1)).max(1),
        Err(_) => max / 2,
    }
}

/// Why no credentials can be handed out right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of one refresh, for callers that drive [`Engine::step`].
#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))] // read by the tests that drive step()
pub enum Refreshed {
    /// New credentials are cached.
    Fresh(Arc<Issued>),
    /// The attempt failed; the previous credentials (if still valid) stay.
    Failed(String),
}

struct State {
    current: Option<Arc<Issued>>,
    /// When the refresher should next call the fetcher.
    next_attempt: UnixTime,
    /// Failures in a row since the last success.
    failures: u32,
    /// A fetch is running.
    refreshing: bool,
    /// The last failure, for the message of a 500.
    last_error: Option<String>,
    stop: bool,
}

/// The shared credential cache and its refresher.
pub struct Engine {
    /// Held for the whole of a fetch: this is the single-flight guarantee.
    fetcher: Mutex<Box<dyn Fetch>>,
    state: Mutex<State>,
    changed: Condvar,
    clock: Arc<dyn Clock>,
    policy: Policy,
    random: Random,
    /// Log each successful refresh (update), not only failures (serve: debug only).
    announce: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn from_u64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writes one line on stderr, `aws_signing_helper: <msg>` (never secrets).
pub fn log(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "aws_signing_helper: {}", one_line(msg));
}

/// `YYYY-MM-DDTHH:MM:SSZ`, for log lines.
pub fn iso(t: UnixTime) -> String {
    String::from_utf8_lossy(&t.iso8601()).into_owned()
}

impl Engine {
    /// An engine with nothing cached yet; call [`Engine::start`] next.
    pub fn new(
        fetcher: Box<dyn Fetch>,
        clock: Arc<dyn Clock>,
        policy: Policy,
        random: Random,
        announce: bool,
    ) -> Self {
        let now = clock.now();
        Engine {
            fetcher: Mutex::new(fetcher),
            state: Mutex::new(State {
                current: None,
                next_attempt: now,
                failures: 0,
                refreshing: false,
                last_error: None,
                stop: false,
            }),
            changed: Condvar::new(),
            clock,
            policy,
            random,
            announce,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The clock the engine reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The first fetch, at start-up: its error is returned, not retried, so
    /// that a misconfigured helper fails at once instead of serving nothing.
    pub fn start(&self) -> Result<Arc<Issued>, Error> {
        let mut fetcher = self.fetcher.lock().unwrap_or_else(PoisonError::into_inner);
        let credentials = fetcher.fetch()?;
        let now = self.clock.now();
        if credentials.expiration() <= now {
            return Err(expired_on_arrival(&credentials, now));
        }
        Ok(self.install(credentials, now))
    }

    /// Caches fresh credentials and schedules the next refresh.
    fn install(&self, credentials: Credentials, now: UnixTime) -> Arc<Issued> {
        let issued = Arc::new(Issued {
            credentials,
            obtained: now,
        });
        let next = self.refresh_time(&issued);
        {
            let mut st = self.lock();
            st.current = Some(Arc::clone(&issued));
            st.next_attempt = next;
            st.failures = 0;
            st.last_error = None;
            st.refreshing = false;
        }
        self.changed.notify_all();
        if self.announce {
            log(&format!(
                "credentials obtained (expire {}); next refresh at {}",
                iso(issued.credentials.expiration()),
                iso(next)
            ));
        }
        issued
    }

    /// When to refresh credentials obtained at `issued.obtained`.
    fn refresh_time(&self, issued: &Issued) -> UnixTime {
        let obtained = issued.obtained.0;
        let expiry = issued.credentials.expiration().0;
        let life = expiry.saturating_sub(obtained).max(0);
        let ahead = secs(self.policy.refresh_ahead).min(life / 2);
        let jitter_max = secs(self.policy.max_jitter).min(ahead / 5);
        let jitter = from_u64((self.random)(to_u64(jitter_max))).min(jitter_max);
        let at = expiry.saturating_sub(ahead).saturating_sub(jitter);
        UnixTime(at.max(obtained.saturating_add(secs(self.policy.min_interval))))
    }

    /// The wait after the `failures`-th failure in a row (1-based).
    fn backoff(&self, failures: u32) -> i64 {
        let base = secs(self.policy.backoff_base).max(1);
        let cap = secs(self.policy.backoff_cap).max(base);
        let ceiling = base
            .saturating_mul(1i64 << failures.saturating_sub(1).min(30))
            .min(cap);
        let half = ceiling / 2;
        let extra = from_u64((self.random)(to_u64(ceiling - half))).min(ceiling - half);
        (half + extra).max(secs(self.policy.min_interval)).max(1)
    }

    /// Refreshes now, whatever the schedule. Callers are serialised: a second
    /// caller waits for the first fetch to finish, then fetches again.
    pub fn refresh_now(&self) -> Refreshed {
        let mut fetcher = self.fetcher.lock().unwrap_or_else(PoisonError::into_inner);
        self.lock().refreshing = true;
        let result = fetcher.fetch();
        drop(fetcher);
        let now = self.clock.now();
        let result = result.and_then(|c| {
            if c.expiration() <= now {
                Err(expired_on_arrival(&c, now))
            } else {
                Ok(c)
            }
        });
        match result {
            Ok(credentials) => Refreshed::Fresh(self.install(credentials, now)),
            Err(e) => {
                let message = one_line(&e.to_string());
                let (wait, valid_until) = {
                    let mut st = self.lock();
                    st.refreshing = false;
                    st.failures = st.failures.saturating_add(1);
                    let wait = self.backoff(st.failures);
                    st.next_attempt = UnixTime(now.0.saturating_add(wait));
                    st.last_error = Some(message.clone());
                    let valid = st
                        .current
                        .as_ref()
                        .filter(|c| c.valid_at(now))
                        .map(|c| c.credentials.expiration());
                    (wait, valid)
                };
                self.changed.notify_all();
                let keep = match valid_until {
                    Some(t) => format!("keeping the current credentials until {}", iso(t)),
                    None => "no valid credentials until it succeeds".to_owned(),
                };
                log(&format!(
                    "refreshing credentials failed: {message}; retrying in {wait}s ({keep})"
                ));
                Refreshed::Failed(message)
            }
        }
    }

    /// Refreshes if one is due at the clock's current time. Returns what
    /// happened, or `None` if nothing was due.
    #[cfg_attr(not(test), allow(dead_code))] // tests drive the engine step by step
    pub fn step(&self) -> Option<Refreshed> {
        let due = {
            let st = self.lock();
            !st.stop && self.clock.now() >= st.next_attempt
        };
        due.then(|| self.refresh_now())
    }

    /// When the next refresh attempt is scheduled.
    #[cfg_attr(not(test), allow(dead_code))] // tests drive the engine step by step
    pub fn next_attempt(&self) -> UnixTime {
        self.lock().next_attempt
    }

    /// Runs the refresher until [`Engine::stop`]. Failures are logged and
    /// retried; nothing here ends the process.
    pub fn run(&self) {
        loop {
            let mut st = self.lock();
            loop {
                if st.stop {
                    return;
                }
                let now = self.clock.now();
                if now >= st.next_attempt {
                    break;
                }
                let left = Duration::from_secs(to_u64(st.next_attempt.0 - now.0));
                let real = self.clock.pass(left.min(self.policy.max_nap));
                st = self
                    .changed
                    .wait_timeout(st, real)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            drop(st);
            let _ = self.refresh_now();
        }
    }

    /// Ends [`Engine::run`] at its next wake-up (at once if it is sleeping).
    #[cfg_attr(not(test), allow(dead_code))] // tests drive the engine step by step
    pub fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    /// The cached credentials if they are valid now. Expired ones are
    /// dropped (and so zeroized) here rather than kept.
    #[cfg_attr(not(test), allow(dead_code))] // tests drive the engine step by step
    pub fn current(&self) -> Result<Arc<Issued>, Unavailable> {
        let now = self.clock.now();
        let mut st = self.lock();
        Self::valid(&mut st, now)
    }

    fn valid(st: &mut State, now: UnixTime) -> Result<Arc<Issued>, Unavailable> {
        if let Some(c) = st.current.as_ref().filter(|c| c.valid_at(now)) {
            return Ok(Arc::clone(c));
        }
        let expired = st.current.take().map(|c| c.credentials.expiration());
        let why = match (&st.last_error, expired) {
            (Some(e), _) => format!("no valid credentials: the last refresh failed: {e}"),
            (None, Some(t)) => format!("no valid credentials: they expired at {}", iso(t)),
            (None, None) => "no valid credentials yet".to_owned(),
        };
        Err(Unavailable(why))
    }

    /// Like [`Engine::current`], but if nothing valid is cached and a refresh
    /// is running, waits up to `max` (real time) for it to finish.
    pub fn current_or_wait(&self, max: Duration) -> Result<Arc<Issued>, Unavailable> {
        let mut st = self.lock();
        let first = Self::valid(&mut st, self.clock.now());
        if first.is_ok() || !st.refreshing {
            return first;
        }
        let (mut st, _) = self
            .changed
            .wait_timeout_while(st, max, |s| s.refreshing)
            .unwrap_or_else(PoisonError::into_inner);
        Self::valid(&mut st, self.clock.now())
    }
}

fn expired_on_arrival(c: &Credentials, now: UnixTime) -> Error {
    Error::Response(format!(
        "CreateSession returned credentials that expire at {}, not after now ({}); is the system clock right?",
        iso(c.expiration()),
        iso(now)
    ))
}

#[cfg(test)]
pub mod testing;

#[cfg(test)]
mod tests;
