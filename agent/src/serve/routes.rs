//! What the IMDS endpoint answers, request by request (no sockets here).
//!
//! | request | answer |
//! |---|---|
//! | `PUT /latest/api/token[/]` | 200, a token, `x-aws-ec2-metadata-token-ttl-seconds: <ttl>` |
//! | ... with `X-Forwarded-For`, or a TTL outside 1..=21600 | 400 |
//! | `GET /latest/meta-data/iam/security-credentials[/]` | 200, the role name |
//! | `GET .../security-credentials/<role>[/]` | 200, the credentials JSON |
//! | a GET without a token / with an unknown or expired one | 401 |
//! | `.../security-credentials/<other>`, any other path | 404 |
//! | a known path with another method | 405 with `Allow` |
//! | no valid credentials (refresh failing after expiry) | 500 with the reason |
//!
//! Differences from the original, on purpose: an unknown role name is a 404
//! (the original answered with the role name); the TTL header is on every
//! token-checked answer (the original set it after writing the body, so it
//! was never sent); never a 200 with empty credentials.

use std::sync::Arc;
use std::time::Duration;

use rolesanywhere_core::output::write_imds_credentials;
use zeroize::Zeroizing;

use super::request::{Request, TTL_HEADER};
use super::tokens::{MAX_TTL, TokenStore, parse_ttl};
use crate::commands::VecSink;
use crate::refresh::Engine;

/// Path of the token route.
pub const TOKEN_PATH: &str = "/latest/api/token";
/// Path of the credentials routes.
pub const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials";
/// How long a credentials request waits for a refresh in flight when nothing
/// valid is cached (clients time out after 1 s).
const REFRESH_WAIT: Duration = Duration::from_millis(500);

/// One answer. The body may hold credentials or a token: zeroized on drop.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (Content-Length and Connection are added when written).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

impl Response {
    /// A `text/plain` answer with `text` plus a newline (like Go's `http.Error`).
    pub fn text(status: u16, text: &str) -> Self {
        let mut body = Zeroizing::new(Vec::with_capacity(text.len() + 1));
        body.extend_from_slice(text.as_bytes());
        body.push(b'\n');
        Response {
            status,
            headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
            body,
        }
    }

    fn ok(body: Zeroizing<Vec<u8>>, ttl: u32) -> Self {
        Response {
            status: 200,
            headers: vec![
                ("Content-Type", "text/plain; charset=utf-8".to_owned()),
                (TTL_HEADER, ttl.to_string()),
                ("Cache-Control", "no-store".to_owned()),
            ],
            body,
        }
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        let mut r = Response::text(405, "method not allowed");
        r.headers.push(("Allow", allow.to_owned()));
        r
    }
}

/// Which route a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// The token route.
    Token,
    /// The role listing.
    RoleList,
    /// The credentials of the named role.
    Credentials(&'a str),
    /// Anything else.
    NotFound,
}

/// Matches a path exactly (one optional trailing `/`, no normalisation, so
/// `..` and `//` never reach a route).
pub fn route(path: &str) -> Route<'_> {
    if path == TOKEN_PATH || path.strip_suffix('/') == Some(TOKEN_PATH) {
        return Route::Token;
    }
    let Some(rest) = path.strip_prefix(CREDENTIALS_PATH) else {
        return Route::NotFound;
    };
    if rest.is_empty() || rest == "/" {
        return Route::RoleList;
    }
    let name = rest.strip_prefix('/').unwrap_or_default();
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() || name.contains('/') {
        return Route::NotFound;
    }
    Route::Credentials(name)
}

/// The endpoint's state: the credential cache, the tokens, the role name.
pub struct Endpoint {
    /// The shared credential cache.
    pub engine: Arc<Engine>,
    /// Live session tokens.
    pub tokens: TokenStore,
    /// The role name IMDS reports (last segment of the role ARN).
    pub role_name: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("role_name", &self.role_name)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The answer to one parsed request.
    pub fn respond(&self, req: &Request<'_>) -> Response {
        match route(req.path) {
            Route::NotFound => Response::text(404, "404 page not found"),
            Route::Token if req.method != "PUT" => Response::method_not_allowed("PUT"),
            Route::Token => self.token(req),
            _ if req.method != "GET" => Response::method_not_allowed("GET"),
            Route::RoleList => self.checked(req, |ttl| {
                Response::ok(Zeroizing::new(self.role_name.as_bytes().to_vec()), ttl)
            }),
            Route::Credentials(name) => self.checked(req, |ttl| {
                if name == self.role_name {
                    self.credentials(ttl)
                } else {
                    Response::text(404, "404 page not found")
                }
            }),
        }
    }

    fn token(&self, req: &Request<'_>) -> Response {
        if req.forwarded {
            return Response::text(
                400,
                "unable to process requests with X-Forwarded-For header",
            );
        }
        let ttl = match req.ttl {
            None => MAX_TTL,
            Some(v) => match parse_ttl(v) {
                Some(t) => t,
                None => return Response::text(400, "invalid token TTL"),
            },
        };
        match self.tokens.issue(self.engine.clock().now(), ttl) {
            Ok(token) => {
                let mut r = Response::ok(Zeroizing::new(token.as_bytes().to_vec()), ttl);
                r.headers.retain(|(name, _)| *name != "Cache-Control");
                r
            }
            Err(_) => Response::text(500, "unable to generate token"),
        }
    }

    fn checked(&self, req: &Request<'_>, then: impl FnOnce(u32) -> Response) -> Response {
        match self.tokens.check(self.engine.clock().now(), req.token) {
            Ok(left) => then(left),
            Err(e) => Response::text(401, e.message()),
        }
    }

    fn credentials(&self, ttl: u32) -> Response {
        match self.engine.current_or_wait(REFRESH_WAIT) {
            Ok(issued) => {
                // Sized for the worst case (every byte escaped as \u00XX) so the
                // buffer holding the secrets never moves.
                let c = &issued.credentials;
                let secrets =
                    c.access_key_id().len() + c.secret_access_key().len() + c.session_token().len();
                let mut out = VecSink(Zeroizing::new(Vec::with_capacity(256 + 6 * secrets)));
                let Ok(()) = write_imds_credentials(&mut out, c, issued.obtained);
                Response::ok(out.0, ttl)
            }
            Err(why) => Response::text(500, &why.0),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::refresh::testing::{ManualClock, Scripted};
    use crate::refresh::{Clock, Policy};
    use crate::serve::request::parse;

    const T0: i64 = 1_800_000_000;

    fn endpoint(script: &[Result<i64, &'static str>]) -> (Endpoint, Arc<ManualClock>) {
        let clock = ManualClock::at(T0);
        let engine = Engine::new(
            Box::new(Scripted::new(&clock, script)),
            Arc::clone(&clock) as Arc<dyn Clock>,
            Policy::default(),
            Box::new(|_| 0),
            false,
        );
        let ep = Endpoint {
            engine: Arc::new(engine),
            tokens: TokenStore::new(),
            role_name: "edge-gateway".to_owned(),
        };
        (ep, clock)
    }

    fn ask(ep: &Endpoint, raw: &str) -> Response {
        ep.respond(&parse(raw.as_bytes()).unwrap())
    }

    fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn token(ep: &Endpoint, ttl: &str) -> String {
        let r = ask(
            ep,
            &format!("PUT /latest/api/token HTTP/1.1\r\n{TTL_HEADER}: {ttl}\r\n\r\n"),
        );
        assert_eq!(r.status, 200);
        String::from_utf8(r.body.to_vec()).unwrap()
    }

    fn get(ep: &Endpoint, path: &str, token: &str) -> Response {
        ask(
            ep,
            &format!("GET {path} HTTP/1.1\r\nx-aws-ec2-metadata-token: {token}\r\n\r\n"),
        )
    }

    #[test]
    fn routes_match_exactly() {
        assert_eq!(route("/latest/api/token"), Route::Token);
        assert_eq!(route("/latest/api/token/"), Route::Token);
        assert_eq!(route("/latest/api/token//"), Route::NotFound);
        assert_eq!(route(CREDENTIALS_PATH), Route::RoleList);
        assert_eq!(route(&format!("{CREDENTIALS_PATH}/")), Route::RoleList);
        assert_eq!(
            route(&format!("{CREDENTIALS_PATH}/r")),
            Route::Credentials("r")
        );
        assert_eq!(
            route(&format!("{CREDENTIALS_PATH}/r/")),
            Route::Credentials("r")
        );
        for bad in [
            "/",
            "/latest/meta-data/iam/security-credentialsX",
            "/latest/meta-data/iam/security-credentials//",
            "/latest/meta-data/iam/security-credentials/r/x",
            "/latest/meta-data/iam/security-credentials/../../api/token",
            "/latest/meta-data/iam/security-credentials/r//",
            "/latest/../latest/api/token",
        ] {
            assert_eq!(route(bad), Route::NotFound, "{bad}");
        }
    }

    #[test]
    fn the_whole_imds_dance() {
        let (ep, _clock) = endpoint(&[Ok(3600)]);
        ep.engine.start().unwrap();
        let r = ask(&ep, "PUT /latest/api/token HTTP/1.1\r\n\r\n");
        assert_eq!(header(&r, TTL_HEADER), Some("21600"));
        let t = String::from_utf8(r.body.to_vec()).unwrap();
        assert_eq!(t.len(), 100);
        for path in [CREDENTIALS_PATH, &format!("{CREDENTIALS_PATH}/")] {
            let r = get(&ep, path, &t);
            assert_eq!((r.status, &r.body[..]), (200, &b"edge-gateway"[..]));
            assert_eq!(header(&r, TTL_HEADER), Some("21600"));
        }
        for path in ["edge-gateway", "edge-gateway/"] {
            let r = get(&ep, &format!("{CREDENTIALS_PATH}/{path}"), &t);
            assert_eq!(r.status, 200);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["Code"], "Success");
            assert_eq!(v["Type"], "AWS-HMAC");
            assert_eq!(v["AccessKeyId"], "ASIA0001");
            assert_eq!(v["Expiration"], "2027-01-15T09:00:00Z");
            assert_eq!(v["LastUpdated"], "2027-01-15T08:00:00Z");
        }
    }

    #[test]
    fn token_rules() {
        let (ep, clock) = endpoint(&[Ok(3600)]);
        ep.engine.start().unwrap();
        for bad in ["0", "21601", "-5", "abc", ""] {
            let r = ask(
                &ep,
                &format!("PUT /latest/api/token HTTP/1.1\r\n{TTL_HEADER}: {bad}\r\n\r\n"),
            );
            assert_eq!(
                (r.status, &r.body[..]),
                (400, &b"invalid token TTL\n"[..]),
                "{bad}"
            );
        }
        let r = ask(
            &ep,
            "PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
        );
        assert_eq!(r.status, 400);
        let r = ask(&ep, "GET /latest/api/token HTTP/1.1\r\n\r\n");
        assert_eq!((r.status, header(&r, "Allow")), (405, Some("PUT")));
        let r = ask(&ep, &format!("POST {CREDENTIALS_PATH}/ HTTP/1.1\r\n\r\n"));
        assert_eq!((r.status, header(&r, "Allow")), (405, Some("GET")));
        // +60 is accepted (Go's Atoi), and the reply carries the number.
        let t = token(&ep, "+60");
        let r = get(&ep, CREDENTIALS_PATH, &t);
        assert_eq!((r.status, header(&r, TTL_HEADER)), (200, Some("60")));
        clock.advance(60);
        assert_eq!(get(&ep, CREDENTIALS_PATH, &t).status, 200);
        clock.advance(1);
        let r = get(&ep, CREDENTIALS_PATH, &t);
        assert_eq!(
            (r.status, &r.body[..]),
            (401, &b"invalid token provided\n"[..])
        );
        let r = ask(&ep, &format!("GET {CREDENTIALS_PATH} HTTP/1.1\r\n\r\n"));
        assert_eq!((r.status, &r.body[..]), (401, &b"no token provided\n"[..]));
    }

    #[test]
    fn unknown_roles_and_paths() {
        let (ep, _clock) = endpoint(&[Ok(3600)]);
        ep.engine.start().unwrap();
        let t = token(&ep, "60");
        assert_eq!(
            get(&ep, &format!("{CREDENTIALS_PATH}/other"), &t).status,
            404
        );
        // Token first: an unknown role without a token is a 401, not a 404.
        assert_eq!(
            get(&ep, &format!("{CREDENTIALS_PATH}/other"), "x").status,
            401
        );
        assert_eq!(get(&ep, "/latest/meta-data/", &t).status, 404);
        assert_eq!(
            get(
                &ep,
                "/latest/meta-data/iam/security-credentials/../../../api/token",
                &t
            )
            .status,
            404
        );
    }

    #[test]
    fn never_200_without_valid_credentials() {
        let (ep, clock) = endpoint(&[Ok(900), Err("endpoint down")]);
        ep.engine.start().unwrap();
        let t = token(&ep, "21600");
        let path = format!("{CREDENTIALS_PATH}/edge-gateway");
        clock.advance(600);
        assert!(matches!(
            ep.engine.step(),
            Some(crate::refresh::Refreshed::Failed(_))
        ));
        // Still the old, valid credentials.
        let r = get(&ep, &path, &t);
        assert_eq!(r.status, 200);
        clock.advance(300);
        let r = get(&ep, &path, &t);
        assert_eq!(r.status, 500);
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains("endpoint down"), "{body}");
        assert!(!body.contains("secret") && !body.contains("ASIA"), "{body}");
    }
}
