//! A manual clock and a scripted fetcher for tests of the engine and of
//! what is built on it.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};

use super::*;

/// A clock that only moves when told to (or when [`Clock::pass`] is called).
#[derive(Debug, Default)]
pub struct ManualClock(pub AtomicI64);

impl ManualClock {
    /// A clock at `t`.
    pub fn at(t: i64) -> Arc<Self> {
        Arc::new(ManualClock(AtomicI64::new(t)))
    }
    /// Sets the time.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
    /// Moves the time forward.
    pub fn advance(&self, s: i64) {
        self.0.fetch_add(s, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
    fn pass(&self, d: Duration) -> Duration {
        self.advance(i64::try_from(d.as_secs()).unwrap_or(0).max(1));
        Duration::ZERO
    }
}

/// One scripted answer: `Ok(lifetime seconds)` or `Err(message)`.
pub type Answer = Result<i64, &'static str>;

/// A fetcher that answers from a script (then repeats the last answer),
/// issuing credentials relative to the clock, and records each call.
pub struct Scripted {
    /// The clock the credentials' expiry is computed from.
    pub clock: Arc<ManualClock>,
    /// Answers still to give.
    pub script: Arc<Mutex<VecDeque<Answer>>>,
    /// The time of every call.
    pub calls: Arc<Mutex<Vec<i64>>>,
    /// How many credentials were issued (names them).
    pub issued: u32,
    /// The last answer, repeated when the script runs out.
    pub last: Answer,
}

impl Scripted {
    /// A fetcher with this script.
    pub fn new(clock: &Arc<ManualClock>, script: &[Answer]) -> Self {
        Scripted {
            clock: Arc::clone(clock),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            calls: Arc::new(Mutex::new(Vec::new())),
            issued: 0,
            last: Err("script is empty"),
        }
    }
}

impl Fetch for Scripted {
    fn fetch(&mut self) -> Result<Credentials, Error> {
        let now = self.clock.now().0;
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(now);
        let next = self
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        if let Some(a) = next {
            self.last = a;
        }
        match self.last {
            Ok(life) => {
                self.issued += 1;
                Credentials::new(
                    &format!("ASIA{:04}", self.issued),
                    "secret",
                    "token",
                    UnixTime(now + life),
                )
                .map_err(|e| Error::Response(e.to_string()))
            }
            Err(m) => Err(Error::Transport(m.to_owned())),
        }
    }
}
