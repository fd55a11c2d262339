//! The `no_std` protocol and crypto core of the IAM Roles Anywhere credential helper.
//!
//! Nothing here does I/O, reads a clock or owns a randomness source: the caller
//! passes the time and the bytes. The ECDSA path (parse certificate and key,
//! build and sign the `CreateSession` request, parse the response, format the
//! output) needs no heap; RSA keys need the `alloc` feature.
//!
//! The flow of one `credential-process` call:
//! [`x509`] and [`key`] turn files into a [`signer::Signer`] and a leaf
//! certificate, [`session`] builds the signed request (through [`sigv4`]) and
//! parses the answer, and [`output`] formats what the AWS SDKs read.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod arn;
pub mod key;
pub mod output;
pub mod pem;
pub mod session;
pub mod signer;
pub mod sigv4;
pub mod time;
pub mod x509;

mod buf;
