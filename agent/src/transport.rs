//! Blocking HTTPS to the Roles Anywhere endpoint: endpoint resolution by
//! region and partition, trust roots, proxies, timeouts and retries.

use std::time::Duration;

use crate::error::{Error, one_line};

/// Where `CreateSession` goes and how it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEndpoint {
    /// `https://host[:port]` (or `http://` for a local test endpoint).
    pub base_url: String,
    /// The `Host` header (the URL's authority).
    pub host: String,
    /// The region in the SigV4 scope.
    pub signing_region: String,
}

/// The DNS suffix of each partition, from the region's prefix.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-isof-") {
        "csp.hci.ic.gov"
    } else if region.starts_with("eu-isoe-") {
        "cloud.adc-e.uk"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    }
}

/// Resolves the endpoint from `--endpoint` or the region. A `fips-` prefix or
/// `-fips` suffix selects the FIPS host; the scope keeps the bare region
/// (signing with the suffixed name is a known mismatch, spec 1.1).
pub fn resolve_endpoint(region: &str, endpoint: Option<&str>) -> Result<ResolvedEndpoint, Error> {
    let bare = region
        .strip_prefix("fips-")
        .or_else(|| region.strip_suffix("-fips"));
    let fips = bare.is_some();
    let signing_region = bare.unwrap_or(region).to_owned();
    if signing_region.is_empty()
        || !signing_region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::flag(
            "--region",
            format!("{region:?} is not a region name"),
        ));
    }
    let base_url = match endpoint.filter(|e| !e.is_empty()) {
        Some(e) => {
            let e = e.trim_end_matches('/');
            if e.contains("://") {
                e.to_owned()
            } else {
                format!("https://{e}")
            }
        }
        None => {
            let service = if fips {
                "rolesanywhere-fips"
            } else {
                "rolesanywhere"
            };
            format!(
                "https://{service}.{signing_region}.{}",
                dns_suffix(&signing_region)
            )
        }
    };
    let (scheme, rest) = base_url
        .split_once("://")
        .unwrap_or(("https", base_url.as_str()));
    if scheme != "https" && scheme != "http" {
        return Err(Error::flag(
            "--endpoint",
            format!("unsupported scheme {scheme:?} (use https://)"),
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || rest.len() != authority.len() || authority.contains('@') {
        return Err(Error::flag(
            "--endpoint",
            format!("{base_url:?} must be scheme://host[:port] with no path"),
        ));
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_owned();
    Ok(ResolvedEndpoint {
        base_url,
        host,
        signing_region,
    })
}

/// Connection settings from the flags and environment.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// `--no-verify-ssl`.
    pub no_verify_ssl: bool,
    /// `--with-proxy`: honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
    pub with_proxy: bool,
    /// `AWS_CA_BUNDLE`: the only roots to trust, if set.
    pub ca_bundle: Option<String>,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `X-Amzn-ErrorType`, if present.
    pub error_type: Option<String>,
    /// The body (bounded).
    pub body: Vec<u8>,
}

/// Largest body we read: a real answer is a few KiB.
const MAX_BODY: u64 = 1024 * 1024;

/// A reusable HTTPS client.
pub struct Transport {
    agent: ureq::Agent,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

#[cfg(feature = "tls")]
fn load_roots(opts: &TransportOptions) -> Result<ureq::tls::RootCerts, Error> {
    use ureq::tls::{Certificate, RootCerts};
    if let Some(path) = opts.ca_bundle.as_deref().filter(|p| !p.is_empty()) {
        let data = std::fs::read(path)
            .map_err(|e| Error::flag("AWS_CA_BUNDLE", format!("{path}: {e}")))?;
        let ders = crate::identity::read_certificates("AWS_CA_BUNDLE", path, &data)?;
        if ders.is_empty() {
            return Err(Error::flag(
                "AWS_CA_BUNDLE",
                format!("{path}: no certificates found"),
            ));
        }
        let certs = ders
            .iter()
            .map(|d| Certificate::from_der(d).to_owned())
            .collect();
        return Ok(RootCerts::Specific(std::sync::Arc::new(certs)));
    }
    // The system's roots; Mozilla's bundled roots where the system has none
    // (minimal containers).
    let native = rustls_native_certs::load_native_certs();
    if native.certs.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    let certs = native
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok(RootCerts::Specific(std::sync::Arc::new(certs)))
}

impl Transport {
    /// Builds the client.
    pub fn new(opts: &TransportOptions) -> Result<Self, Error> {
        #[cfg(feature = "tls")]
        let tls = {
            use ureq::tls::{TlsConfig, TlsProvider};
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .root_certs(load_roots(opts)?)
                .disable_verification(opts.no_verify_ssl)
                .build()
        };
        // Without TLS (a type-checking build for a platform whose C toolchain
        // is missing here), only plain-HTTP test endpoints can be reached.
        #[cfg(not(feature = "tls"))]
        let _ = (opts.no_verify_ssl, &opts.ca_bundle);
        let proxy = if opts.with_proxy {
            ureq::Proxy::try_from_env()
        } else {
            None
        };
        let builder = ureq::Agent::config_builder();
        #[cfg(feature = "tls")]
        let builder = builder.tls_config(tls);
        let agent: ureq::Agent = builder
            .proxy(proxy)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(format!(
                "CredHelper/{} (rust; {}; {})",
                crate::VERSION,
                std::env::consts::OS,
                std::env::consts::ARCH
            ))
            .build()
            .into();
        Ok(Transport { agent })
    }

    /// POSTs once; an `Err` is a failure to get any answer.
    pub fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse, Error> {
        if cfg!(not(feature = "tls")) && url.starts_with("https://") {
            return Err(Error::NotSupported(
                "HTTPS in a build without the `tls` feature".into(),
            ));
        }
        let mut req = self.agent.post(url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut resp = req
            .send(body)
            .map_err(|e| Error::Transport(one_line(&e.to_string())))?;
        let status = resp.status().as_u16();
        let error_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| Error::Transport(one_line(&e.to_string())))?;
        Ok(HttpResponse {
            status,
            error_type,
            body,
        })
    }
}

/// Exponential backoff with full jitter: attempt 1 waits up to `base`,
/// attempt 2 up to `2*base`, ..., never more than `cap`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let mut r = [0u8; 8];
    let fraction = match getrandom::fill(&mut r) {
        Ok(()) => (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    };
    ceiling.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_by_partition() {
        let e = resolve_endpoint("us-east-1", None).unwrap();
        assert_eq!(
            (e.base_url.as_str(), e.host.as_str()),
            (
                "https://rolesanywhere.us-east-1.amazonaws.com",
                "rolesanywhere.us-east-1.amazonaws.com"
            )
        );
        assert_eq!(
            resolve_endpoint("cn-north-1", None).unwrap().host,
            "rolesanywhere.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            resolve_endpoint("us-iso-east-1", None).unwrap().host,
            "rolesanywhere.us-iso-east-1.c2s.ic.gov"
        );
        let fips = resolve_endpoint("us-gov-west-1-fips", None).unwrap();
        assert_eq!(
            (fips.host.as_str(), fips.signing_region.as_str()),
            (
                "rolesanywhere-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1"
            )
        );
        assert_eq!(
            resolve_endpoint("fips-us-east-1", None)
                .unwrap()
                .signing_region,
            "us-east-1"
        );
    }

    #[test]
    fn explicit_endpoints() {
        let e = resolve_endpoint("us-east-1", Some("http://127.0.0.1:8080/")).unwrap();
        assert_eq!(
            (e.base_url.as_str(), e.host.as_str()),
            ("http://127.0.0.1:8080", "127.0.0.1:8080")
        );
        assert_eq!(
            resolve_endpoint("eu-west-1", Some("example.test:443"))
                .unwrap()
                .host,
            "example.test"
        );
        assert!(resolve_endpoint("us-east-1", Some("ftp://x")).is_err());
        assert!(resolve_endpoint("us-east-1", Some("https://x/path")).is_err());
        assert!(resolve_endpoint("US East", None).is_err());
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..40 {
            assert!(
                backoff(attempt, Duration::from_millis(100), Duration::from_secs(2))
                    <= Duration::from_secs(2)
            );
        }
    }
}
