//! IMDSv2 session tokens: random, bounded in number, expiring.
//!
//! A token is 100 characters of base64 over 75 bytes from the OS RNG (the
//! original took the first 100 characters of base64 over 128 bytes: the same
//! alphabet and length, and as unguessable). Only its SHA-256 is kept, so the
//! store holds nothing a memory dump could replay, and lookups compare digests,
//! which leak nothing useful through timing. At most [`MAX_TOKENS`] live at
//! once; when full, the one that expires first is evicted. Expired tokens are
//! swept on every issue and never accepted. Token values are never logged.

use std::sync::{Mutex, PoisonError};

use rolesanywhere_core::time::UnixTime;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Most tokens alive at once (as the original).
pub const MAX_TOKENS: usize = 256;
/// Longest TTL a client may ask for, in seconds (6 hours, as EC2).
pub const MAX_TTL: u32 = 21_600;
/// Length of a token, in characters.
pub const TOKEN_LEN: usize = 100;

struct Entry {
    digest: [u8; 32],
    /// Valid while `now <= expires`, so a token lives at least its TTL even
    /// though the clock counts whole seconds.
    expires: i64,
    /// Issue order: among tokens expiring in the same second, the oldest goes
    /// first (never the one just handed out).
    seq: u64,
}

/// Why a token was refused (both are 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// The request has no token header.
    Missing,
    /// Unknown, evicted or expired.
    Invalid,
}

impl TokenError {
    /// The body of the 401, as the original words it.
    pub fn message(self) -> &'static str {
        match self {
            TokenError::Missing => "no token provided",
            TokenError::Invalid => "invalid token provided",
        }
    }
}

/// The live tokens.
#[derive(Default)]
pub struct TokenStore {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    live: Vec<Entry>,
    issued: u64,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenStore({} live)", self.len())
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Parses a TTL header value as the original does (Go's `Atoi`: optional
/// sign, decimal digits), requiring 1..=[`MAX_TTL`].
pub fn parse_ttl(value: &[u8]) -> Option<u32> {
    let digits = value.strip_prefix(b"+").unwrap_or(value);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    u32::try_from(n).ok().filter(|n| (1..=MAX_TTL).contains(n))
}

impl TokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (not yet swept) tokens.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .len()
    }

    /// Mints a token valid for `ttl` seconds from `now`.
    ///
    /// # Errors
    /// The OS RNG failed.
    pub fn issue(&self, now: UnixTime, ttl: u32) -> Result<Zeroizing<String>, getrandom::Error> {
        let mut raw = Zeroizing::new([0u8; TOKEN_LEN * 3 / 4]);
        getrandom::fill(raw.as_mut())?;
        let mut token = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        base64_into(raw.as_ref(), &mut token);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.issued = entries.issued.wrapping_add(1);
        let entry = Entry {
            digest: digest(token.as_bytes()),
            expires: now.0.saturating_add(i64::from(ttl)),
            seq: entries.issued,
        };
        let live = &mut entries.live;
        live.retain(|e| e.expires >= now.0);
        if live.len() >= MAX_TOKENS
            && let Some(i) = live
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| (e.expires, e.seq))
                .map(|(i, _)| i)
        {
            live.remove(i);
        }
        live.push(entry);
        Ok(token)
    }

    /// Checks a request's token; on success returns the seconds it has left.
    ///
    /// # Errors
    /// [`TokenError::Missing`] without a token, [`TokenError::Invalid`] for an
    /// unknown or expired one.
    pub fn check(&self, now: UnixTime, token: Option<&[u8]>) -> Result<u32, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let d = digest(token);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries
            .live
            .iter()
            .find(|e| e.digest == d)
            .filter(|e| e.expires >= now.0)
            .ok_or(TokenError::Invalid)?;
        Ok(u32::try_from(entry.expires - now.0).unwrap_or(MAX_TTL))
    }
}

/// Standard base64 without padding (the token is a whole number of groups).
fn base64_into(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'A'));
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let v = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        if chunk.len() > 1 {
            out.push(sym(v >> 6));
        }
        if chunk.len() > 2 {
            out.push(sym(v));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const T0: i64 = 1_800_000_000;

    #[test]
    fn tokens_are_random_base64_of_the_right_length() {
        let s = TokenStore::new();
        let a = s.issue(UnixTime(T0), 60).unwrap();
        let b = s.issue(UnixTime(T0), 60).unwrap();
        assert_ne!(*a, *b);
        for t in [&a, &b] {
            assert_eq!(t.len(), TOKEN_LEN);
            assert!(
                t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
            );
        }
        let mut out = String::new();
        base64_into(b"any carnal pleas", &mut out);
        assert_eq!(out, "YW55IGNhcm5hbCBwbGVhcw");
    }

    #[test]
    fn a_token_lives_at_least_its_ttl() {
        let s = TokenStore::new();
        let t = s.issue(UnixTime(T0), 2).unwrap();
        assert_eq!(s.check(UnixTime(T0), Some(t.as_bytes())), Ok(2));
        assert_eq!(s.check(UnixTime(T0 + 2), Some(t.as_bytes())), Ok(0));
        assert_eq!(
            s.check(UnixTime(T0 + 3), Some(t.as_bytes())),
            Err(TokenError::Invalid)
        );
        assert_eq!(s.check(UnixTime(T0), None), Err(TokenError::Missing));
        assert_eq!(
            s.check(UnixTime(T0), Some(b"not a token")),
            Err(TokenError::Invalid)
        );
        // The next issue sweeps the expired one.
        let _ = s.issue(UnixTime(T0 + 3), 1).unwrap();
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn full_store_evicts_the_earliest_expiring() {
        let s = TokenStore::new();
        let short = s.issue(UnixTime(T0), 10).unwrap();
        let mut long = Vec::new();
        for _ in 0..MAX_TOKENS - 1 {
            long.push(s.issue(UnixTime(T0), 600).unwrap());
        }
        assert_eq!(s.len(), MAX_TOKENS);
        assert!(s.check(UnixTime(T0), Some(short.as_bytes())).is_ok());
        let newest = s.issue(UnixTime(T0), 600).unwrap();
        assert_eq!(s.len(), MAX_TOKENS);
        assert_eq!(
            s.check(UnixTime(T0), Some(short.as_bytes())),
            Err(TokenError::Invalid)
        );
        assert!(s.check(UnixTime(T0), Some(newest.as_bytes())).is_ok());
        assert!(
            long.iter()
                .all(|t| s.check(UnixTime(T0), Some(t.as_bytes())).is_ok())
        );
    }

    #[test]
    fn ttl_parsing_follows_go_atoi() {
        assert_eq!(parse_ttl(b"21600"), Some(21_600));
        assert_eq!(parse_ttl(b"+60"), Some(60));
        assert_eq!(parse_ttl(b"1"), Some(1));
        assert_eq!(parse_ttl(b"0021600"), Some(21_600));
        for bad in [
            &b""[..],
            b"0",
            b"21601",
            b"-1",
            b"+",
            b"1.5",
            b" 60",
            b"99999999999999999999",
            b"sixty",
        ] {
            assert_eq!(parse_ttl(bad), None, "{bad:?}");
        }
    }
}
