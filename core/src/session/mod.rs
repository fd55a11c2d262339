//! The IAM Roles Anywhere `CreateSession` call: the signed request
//! ([`request`]) and the parsed answer ([`response`]).

pub mod request;
pub mod response;

pub use request::{Endpoint, SessionError, SessionRequest, SignedRequest, sign_request};
pub use response::{Credentials, ResponseError, parse_response};
