//! Command frames and their responses (TPM 2.0 Part 3).
//!
//! A command is `tag, commandSize, commandCode, handles, [authorizationSize,
//! TPMS_AUTH_COMMAND], parameters`; a response is `tag, responseSize,
//! responseCode, handles, [parameterSize], parameters, [TPMS_AUTH_RESPONSE]`.

use super::wire::{Reader, Writer};
use super::*;

/// `continueSession`: keep a session (or the password pseudo-session) open.
pub const CONTINUE_SESSION: u8 = 0x01;

/// One `TPMS_AUTH_COMMAND`.
#[derive(Clone, Copy, Debug)]
pub struct AuthCommand<'a> {
    /// The session handle, or [`TPM_RS_PW`].
    pub session: u32,
    /// The caller's nonce (empty for a password).
    pub nonce: &'a [u8],
    /// `TPMA_SESSION`.
    pub attributes: u8,
    /// The HMAC, or the password itself for [`TPM_RS_PW`].
    pub hmac: &'a [u8],
}

impl<'a> AuthCommand<'a> {
    /// The password pseudo-session: `password` crosses the bus in clear, so
    /// it is used for empty passwords only (parents, storage keys).
    pub fn password(password: &'a [u8]) -> Self {
        AuthCommand {
            session: TPM_RS_PW,
            nonce: &[],
            attributes: CONTINUE_SESSION,
            hmac: password,
        }
    }
}

/// One `TPMS_AUTH_RESPONSE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthResponse<'a> {
    /// The TPM's new nonce.
    pub nonce: &'a [u8],
    /// `TPMA_SESSION`.
    pub attributes: u8,
    /// The response HMAC (empty for a password).
    pub hmac: &'a [u8],
}

/// A successful response, split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The handle the command created, for commands that return one.
    pub handle: Option<u32>,
    /// The response parameters.
    pub params: &'a [u8],
    /// The authorization area, when the command had one.
    pub auth: Option<AuthResponse<'a>>,
}

/// Writes a command's header, handles and authorization area; the caller
/// appends the parameters and hands the writer to [`finish`].
fn begin<'b>(
    out: &'b mut [u8],
    code: u32,
    handles: &[u32],
    auth: Option<&AuthCommand<'_>>,
) -> Result<Writer<'b>, Error> {
    let mut w = Writer::new(out);
    w.u16(if auth.is_some() {
        TPM_ST_SESSIONS
    } else {
        TPM_ST_NO_SESSIONS
    })?;
    w.u32(0)?; // commandSize, set by `finish`
    w.u32(code)?;
    for h in handles {
        w.u32(*h)?;
    }
    if let Some(a) = auth {
        let size = 4 + 2 + a.nonce.len() + 1 + 2 + a.hmac.len();
        w.u32(u32::try_from(size).map_err(|_| Error::TooLong)?)?;
        w.u32(a.session)?;
        w.tpm2b(a.nonce)?;
        w.u8(a.attributes)?;
        w.tpm2b(a.hmac)?;
    }
    Ok(w)
}

/// Sets `commandSize` and returns the frame's length.
fn finish(mut w: Writer<'_>) -> Result<usize, Error> {
    let len = w.len();
    w.patch_u32(2, u32::try_from(len).map_err(|_| Error::TooLong)?)?;
    Ok(len)
}

/// `TPM2_CreatePrimary` of a storage key from `template` (a `TPMT_PUBLIC`)
/// under `hierarchy`, whose (empty) authorization is `auth`.
pub fn create_primary(
    out: &mut [u8],
    hierarchy: u32,
    auth: &AuthCommand<'_>,
    template: &[u8],
) -> Result<usize, Error> {
    let mut w = begin(out, TPM_CC_CREATE_PRIMARY, &[hierarchy], Some(auth))?;
    // inSensitive: TPM2B_SENSITIVE_CREATE { userAuth: empty, data: empty }.
    w.u16(4)?;
    w.u16(0)?;
    w.u16(0)?;
    w.tpm2b(template)?;
    w.tpm2b(&[])?; // outsideInfo
    w.u32(0)?; // creationPCR: an empty TPML_PCR_SELECTION
    finish(w)
}

/// `TPM2_Load` of a key's private and public parts (`TPM2B` bodies) under
/// `parent`.
pub fn load(
    out: &mut [u8],
    parent: u32,
    auth: &AuthCommand<'_>,
    private: &[u8],
    public: &[u8],
) -> Result<usize, Error> {
    let mut w = begin(out, TPM_CC_LOAD, &[parent], Some(auth))?;
    w.tpm2b(private)?;
    w.tpm2b(public)?;
    finish(w)
}

/// `TPM2_ReadPublic` of a loaded or persistent object.
pub fn read_public(out: &mut [u8], handle: u32) -> Result<usize, Error> {
    finish(begin(out, TPM_CC_READ_PUBLIC, &[handle], None)?)
}

/// `TPM2_StartAuthSession` of an unbound, unsalted HMAC session with
/// SHA-256 and no parameter encryption.
pub fn start_auth_session(out: &mut [u8], nonce_caller: &[u8]) -> Result<usize, Error> {
    if !(16..=32).contains(&nonce_caller.len()) {
        return Err(Error::NonceLength);
    }
    let mut w = begin(
        out,
        TPM_CC_START_AUTH_SESSION,
        &[TPM_RH_NULL, TPM_RH_NULL],
        None,
    )?;
    w.tpm2b(nonce_caller)?;
    w.tpm2b(&[])?; // encryptedSalt
    w.u8(0x00)?; // TPM_SE_HMAC
    w.u16(TPM_ALG_NULL)?; // symmetric: none
    w.u16(TPM_ALG_SHA256)?; // authHash
    finish(w)
}

/// `TPM2_FlushContext`.
pub fn flush_context(out: &mut [u8], handle: u32) -> Result<usize, Error> {
    let mut w = begin(out, TPM_CC_FLUSH_CONTEXT, &[], None)?;
    w.u32(handle)?;
    finish(w)
}

/// The parameters of `TPM2_Sign`: `digest` under `scheme`
/// ([`TPM_ALG_RSASSA`] or [`TPM_ALG_ECDSA`]) with `hash`, and the null
/// hashcheck ticket (the key is not restricted). They are what the session
/// HMAC covers, so they are built before the frame.
pub fn sign_parameters(
    out: &mut [u8],
    digest: &[u8],
    scheme: u16,
    hash: u16,
) -> Result<usize, Error> {
    let mut w = Writer::new(out);
    w.tpm2b(digest)?;
    w.u16(scheme)?;
    w.u16(hash)?;
    w.u16(TPM_ST_HASHCHECK)?;
    w.u32(TPM_RH_NULL)?;
    w.tpm2b(&[])?;
    Ok(w.len())
}

/// `TPM2_Sign` with `key`, authorised by `auth`, with `params` from
/// [`sign_parameters`].
pub fn sign(
    out: &mut [u8],
    key: u32,
    auth: &AuthCommand<'_>,
    params: &[u8],
) -> Result<usize, Error> {
    let mut w = begin(out, TPM_CC_SIGN, &[key], Some(auth))?;
    w.bytes(params)?;
    finish(w)
}

/// The result of a response frame: a TPM error code, or the parts.
pub type Parsed<'a> = Result<Response<'a>, ResponseCode>;

impl<'a> Response<'a> {
    /// Splits a response frame. `handles` is how many handles the command
    /// returns (0 or 1 here), `sessions` whether it sent an authorization
    /// area. The outer error is a malformed frame; the inner one the TPM's
    /// response code.
    pub fn parse(frame: &'a [u8], handles: usize, sessions: bool) -> Result<Parsed<'a>, Error> {
        let mut r = Reader::new(frame);
        let tag = r.u16()?;
        let size = r.u32()?;
        if usize::try_from(size).ok() != Some(frame.len()) {
            return Err(Error::SizeMismatch);
        }
        let code = r.u32()?;
        if code != 0 {
            // An error response is the header alone.
            if tag != TPM_ST_NO_SESSIONS {
                return Err(Error::BadTag(tag));
            }
            r.finish()?;
            return Ok(Err(ResponseCode(code)));
        }
        let expected = if sessions {
            TPM_ST_SESSIONS
        } else {
            TPM_ST_NO_SESSIONS
        };
        if tag != expected {
            return Err(Error::BadTag(tag));
        }
        let handle = match handles {
            0 => None,
            _ => Some(r.u32()?),
        };
        if !sessions {
            return Ok(Ok(Response {
                handle,
                params: r.rest(),
                auth: None,
            }));
        }
        let param_size = r.u32()?;
        let params = r.bytes(usize::try_from(param_size).map_err(|_| Error::Truncated)?)?;
        let nonce = r.tpm2b()?;
        let attributes = r.u8()?;
        let hmac = r.tpm2b()?;
        r.finish()?;
        Ok(Ok(Response {
            handle,
            params,
            auth: Some(AuthResponse {
                nonce,
                attributes,
                hmac,
            }),
        }))
    }
}

/// A `TPMT_SIGNATURE` of the two kinds Roles Anywhere accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature<'a> {
    /// `TPM_ALG_RSASSA`: the PKCS#1 v1.5 signature.
    RsaSsa {
        /// The hash signed.
        hash: u16,
        /// The signature, the modulus's length.
        sig: &'a [u8],
    },
    /// `TPM_ALG_ECDSA`: r and s, big-endian, possibly without leading zeros.
    Ecdsa {
        /// The hash the scheme named.
        hash: u16,
        /// r.
        r: &'a [u8],
        /// s.
        s: &'a [u8],
    },
}

impl<'a> Signature<'a> {
    /// Reads the `TPMT_SIGNATURE` that `TPM2_Sign` returns.
    pub fn parse(params: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(params);
        let alg = r.u16()?;
        let hash = r.u16()?;
        let sig = match alg {
            TPM_ALG_RSASSA => Signature::RsaSsa {
                hash,
                sig: r.tpm2b()?,
            },
            TPM_ALG_ECDSA => Signature::Ecdsa {
                hash,
                r: r.tpm2b()?,
                s: r.tpm2b()?,
            },
            other => return Err(Error::UnknownSelector(other)),
        };
        r.finish()?;
        Ok(sig)
    }
}

/// The parameters of `TPM2_ReadPublic`: the public area and the name.
pub fn read_public_response(params: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let mut r = Reader::new(params);
    let public = r.tpm2b()?;
    let name = r.tpm2b()?;
    let _qualified = r.tpm2b()?;
    r.finish()?;
    Ok((public, name))
}

/// The parameters of `TPM2_Load`: the loaded object's name.
pub fn load_response(params: &[u8]) -> Result<&[u8], Error> {
    let mut r = Reader::new(params);
    let name = r.tpm2b()?;
    r.finish()?;
    Ok(name)
}

/// The parameters of `TPM2_StartAuthSession`: the TPM's first nonce.
pub fn start_auth_session_response(params: &[u8]) -> Result<&[u8], Error> {
    let mut r = Reader::new(params);
    let nonce = r.tpm2b()?;
    r.finish()?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flush_context_is_the_spec_example_shape() {
        let mut out = [0u8; 32];
        let n = flush_context(&mut out, 0x8000_0001).unwrap();
        assert_eq!(
            out[..n],
            [
                0x80, 0x01, 0, 0, 0, 0x0e, 0, 0, 0x01, 0x65, 0x80, 0, 0, 0x01
            ]
        );
    }

    #[test]
    fn password_sessions_carry_the_password_as_the_hmac() {
        let mut out = [0u8; 64];
        let n = read_public(&mut out, 0x8100_0001).unwrap();
        assert_eq!(
            out[..n],
            [0x80, 1, 0, 0, 0, 14, 0, 0, 1, 0x73, 0x81, 0, 0, 1]
        );
        let n = sign(
            &mut out,
            0x8000_0000,
            &AuthCommand::password(b"pw"),
            &[0xAA],
        )
        .unwrap();
        assert_eq!(
            out[..n],
            [
                0x80, 2, 0, 0, 0, 30, 0, 0, 1, 0x5d, 0x80, 0, 0, 0, // header, handle
                0, 0, 0, 11, 0x40, 0, 0, 9, 0, 0, 1, 0, 2, b'p', b'w', // auth
                0xAA
            ]
        );
    }

    #[test]
    fn responses_split_into_handle_parameters_and_auth() {
        // StartAuthSession: no sessions, a handle, a 16-byte nonce.
        let mut f = [0u8; 32];
        f[..10].copy_from_slice(&[0x80, 1, 0, 0, 0, 32, 0, 0, 0, 0]);
        f[10..14].copy_from_slice(&0x0200_0000u32.to_be_bytes());
        f[14..16].copy_from_slice(&[0, 16]);
        let resp = Response::parse(&f, 1, false).unwrap().unwrap();
        assert_eq!(resp.handle, Some(0x0200_0000));
        assert_eq!(start_auth_session_response(resp.params).unwrap(), [0; 16]);
        // An error is the header alone, tagged without sessions.
        let err = [0x80, 1, 0, 0, 0, 10, 0, 0, 0x09, 0xa2];
        assert_eq!(
            Response::parse(&err, 1, true).unwrap(),
            Err(ResponseCode(0x9a2))
        );
        let mut bad = err;
        bad[5] = 11;
        assert_eq!(Response::parse(&bad, 1, true), Err(Error::SizeMismatch));
        // A sessions response: parameters, then the auth area.
        let ok = [
            0x80, 2, 0, 0, 0, 23, 0, 0, 0, 0, // header
            0, 0, 0, 2, 0xAB, 0xCD, // parameterSize, parameters
            0, 1, 7, 1, 0, 1, 9, // nonce, attributes, hmac
        ];
        let resp = Response::parse(&ok, 0, true).unwrap().unwrap();
        assert_eq!(resp.params, [0xAB, 0xCD]);
        assert_eq!(
            resp.auth,
            Some(AuthResponse {
                nonce: &[7],
                attributes: 1,
                hmac: &[9]
            })
        );
        assert_eq!(Response::parse(&ok, 0, false), Err(Error::BadTag(0x8002)));
        assert_eq!(
            Response::parse(&ok[..22], 0, true),
            Err(Error::SizeMismatch)
        );
    }

    #[test]
    fn signatures_of_both_kinds_parse() {
        let rsa = [0, 0x14, 0, 0x0b, 0, 2, 1, 2];
        assert_eq!(
            Signature::parse(&rsa).unwrap(),
            Signature::RsaSsa {
                hash: TPM_ALG_SHA256,
                sig: &[1, 2]
            }
        );
        let ec = [0, 0x18, 0, 0x0b, 0, 1, 5, 0, 1, 6];
        assert_eq!(
            Signature::parse(&ec).unwrap(),
            Signature::Ecdsa {
                hash: TPM_ALG_SHA256,
                r: &[5],
                s: &[6]
            }
        );
        assert_eq!(
            Signature::parse(&[0, 0x16, 0, 0x0b, 0, 0]),
            Err(Error::UnknownSelector(0x16))
        );
    }
}
