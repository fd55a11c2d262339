//! One `CreateSession` client: the identity, the request parameters, the
//! endpoint and the transport, built once from the flags and used by
//! `credential-process` (once) and by `serve`/`update` (on every refresh).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rolesanywhere_core::session::request::required_buffer_len;
use rolesanywhere_core::session::response::parse_error_message;
use rolesanywhere_core::session::{
    Credentials, Endpoint, SessionRequest, parse_response, sign_request,
};
use rolesanywhere_core::time::UnixTime;

use crate::cli::CredentialArgs;
use crate::error::{Error, one_line};
use crate::identity::Identity;
use crate::transport::{ResolvedEndpoint, Transport, TransportOptions, backoff, resolve_endpoint};

/// Attempts per fetch: the first try and two retries.
const MAX_ATTEMPTS: u32 = 3;

/// Everything needed to call `CreateSession` again and again.
#[derive(Debug)]
pub struct SessionClient {
    identity: Identity,
    role_arn: String,
    profile_arn: String,
    trust_anchor_arn: String,
    duration_seconds: u32,
    role_session_name: Option<String>,
    endpoint: ResolvedEndpoint,
    transport: Transport,
    debug: bool,
}

/// Seconds since the epoch, from the system clock.
pub fn now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}

impl SessionClient {
    /// Validates the flags, loads the identity and prepares the transport.
    pub fn from_args(args: &CredentialArgs) -> Result<Self, Error> {
        // Key-source errors come first, before the ARNs are looked at.
        let source = crate::identity::checked_key_source(&args.keys)?;
        let duration_seconds = u32::try_from(args.session_duration)
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .ok_or_else(|| {
                Error::flag(
                    "--session-duration",
                    format!(
                        "{} is out of range (900 to 43200 seconds)",
                        args.session_duration
                    ),
                )
            })?;
        let role_session_name = args.role_session_name.clone().filter(|s| !s.is_empty());
        let probe = SessionRequest {
            role_arn: &args.role_arn,
            profile_arn: &args.profile_arn,
            trust_anchor_arn: &args.trust_anchor_arn,
            duration_seconds,
            role_session_name: role_session_name.as_deref(),
        };
        let (trust_anchor, profile) = probe
            .validate::<std::convert::Infallible>()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if trust_anchor.region != profile.region {
            return Err(Error::flag(
                "--profile-arn",
                format!(
                    "trust anchor and profile regions don't match ({} and {})",
                    trust_anchor.region, profile.region
                ),
            ));
        }
        let region = args
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(trust_anchor.region);
        let endpoint = resolve_endpoint(region, args.endpoint.as_deref())?;
        let identity = Identity::load(&args.keys, source, args.intermediates.as_deref(), true)?;
        let transport = Transport::new(&TransportOptions {
            no_verify_ssl: args.no_verify_ssl,
            with_proxy: args.with_proxy,
            ca_bundle: std::env::var("AWS_CA_BUNDLE").ok(),
        })?;
        Ok(SessionClient {
            identity,
            role_arn: args.role_arn.clone(),
            profile_arn: args.profile_arn.clone(),
            trust_anchor_arn: args.trust_anchor_arn.clone(),
            duration_seconds,
            role_session_name,
            endpoint,
            transport,
            debug: args.keys.debug,
        })
    }

    fn request(&self) -> SessionRequest<'_> {
        SessionRequest {
            role_arn: &self.role_arn,
            profile_arn: &self.profile_arn,
            trust_anchor_arn: &self.trust_anchor_arn,
            duration_seconds: self.duration_seconds,
            role_session_name: self.role_session_name.as_deref(),
        }
    }

    fn debug(&self, what: std::fmt::Arguments<'_>) {
        if self.debug {
            eprintln!("aws_signing_helper: debug: {what}");
        }
    }

    /// One signed attempt.
    fn attempt(&self) -> Result<Credentials, Error> {
        let leaf = self.identity.leaf()?;
        let chain: Vec<&[u8]> = self.identity.chain.iter().map(Vec::as_slice).collect();
        let req = self.request();
        let len = required_buffer_len(
            &req,
            &self.endpoint.host,
            leaf.der().len(),
            chain.iter().map(|c| c.len()),
            self.identity.signer.max_signature_len(),
        );
        let mut buf = vec![0u8; len];
        let endpoint = Endpoint {
            host: &self.endpoint.host,
            region: &self.endpoint.signing_region,
        };
        let signed = sign_request(
            &req,
            &endpoint,
            &*self.identity.signer,
            &leaf,
            &chain,
            now(),
            &mut buf,
        )
        .map_err(|e| {
            use rolesanywhere_core::session::SessionError;
            match e {
                SessionError::Sign(e) => Error::Sign(e.to_string()),
                other => Error::Invalid(other.to_string()),
            }
        })?;
        let url = format!("{}{}", self.endpoint.base_url, signed.path_and_query);
        let headers: Vec<(&str, &str)> = signed.headers().collect();
        self.debug(format_args!("POST {url}"));
        self.debug(format_args!("body {}", signed.body));
        self.debug(format_args!(
            "signed headers content-type;host;x-amz-date;x-amz-x509{}",
            if signed.x509_chain.is_some() {
                ";x-amz-x509-chain"
            } else {
                ""
            }
        ));
        let mut resp = self
            .transport
            .post(&url, &headers, signed.body.as_bytes())?;
        // Never log the body of a success: it holds the secret.
        self.debug(format_args!(
            "HTTP {} ({} bytes)",
            resp.status,
            resp.body.len()
        ));
        if !(200..300).contains(&resp.status) {
            let message = parse_error_message(&resp.body)
                .map(|m| m.as_str().to_owned())
                .unwrap_or_else(|| {
                    one_line(&String::from_utf8_lossy(
                        resp.body.get(..200).unwrap_or(&resp.body),
                    ))
                });
            return Err(Error::Service {
                status: resp.status,
                error_type: resp.error_type.unwrap_or_else(|| "UnknownError".to_owned()),
                message,
            });
        }
        let parsed = parse_response(&resp.body).map_err(|e| Error::Response(e.to_string()));
        // The body held the secrets; the parsed copy zeroizes itself.
        zeroize::Zeroize::zeroize(&mut resp.body);
        parsed
    }

    /// Fetches credentials, retrying network failures, 5xx and throttling
    /// (at most three attempts, exponential backoff with jitter); 4xx fail at once.
    pub fn fetch(&self) -> Result<Credentials, Error> {
        let mut attempt = 0;
        loop {
            match self.attempt() {
                Ok(c) => return Ok(c),
                Err(e) if e.is_transient() && attempt + 1 < MAX_ATTEMPTS => {
                    let wait = backoff(attempt, Duration::from_millis(200), Duration::from_secs(2));
                    self.debug(format_args!(
                        "attempt {} failed ({e}); retrying in {wait:?}",
                        attempt + 1
                    ));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
