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
//!
//! Key files beyond plain PKCS#8/PKCS#1/SEC1 (RSA, EC, ML-DSA) sit behind
//! features that need a heap: `pkcs8-encrypted` (`ENCRYPTED PRIVATE KEY`,
//! [`key::encrypted`]) and `pkcs12` (PKCS#12 bundles, `pkcs12`). Their
//! key-derivation caps are a parameter ([`key::encrypted::KdfLimits`]).
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
pub mod pkcs11_uri;
#[cfg(feature = "pkcs12")]
pub mod pkcs12;
pub mod session;
pub mod signer;
pub mod sigv4;
pub mod time;
#[cfg(feature = "tpm")]
pub mod tpm;
pub mod tss2;
pub mod x509;

mod buf;
