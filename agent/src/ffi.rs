//! All of the agent's `unsafe` code, in one place: FFI glue that the safe
//! crates we build on do not cover. Each block carries a `// SAFETY:` line.
//!
//! - PKCS#11: a single-part `C_Sign` after `C_SignInit`, which cryptoki 0.12
//!   does not offer on its own. A key with `CKA_ALWAYS_AUTHENTICATE` needs
//!   `C_SignInit`, then `C_Login(CKU_CONTEXT_SPECIFIC)`, then `C_Sign`
//!   (PKCS#11 2.40 section 4.9). cryptoki's `Session::sign` always starts
//!   with its own `C_SignInit`, and the multi-part `sign_update`/`sign_final`
//!   it does offer are not supported for `CKM_ECDSA` and `CKM_RSA_PKCS` by
//!   most tokens (SoftHSM2 answers `CKR_FUNCTION_NOT_SUPPORTED`). So we look
//!   up `C_Sign` in the module's function list and call it on cryptoki's
//!   session handle.
#![allow(unsafe_code)]

#[cfg(feature = "pkcs11")]
pub use pkcs11::RawSign;

#[cfg(feature = "pkcs11")]
mod pkcs11 {

    use cryptoki::error::{Error as CkError, Rv};
    use cryptoki::session::Session;
    use cryptoki_sys::{
        CK_BYTE, CK_FUNCTION_LIST, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_BUFFER_TOO_SMALL, CKR_OK,
    };

    /// `C_Sign` as the module's function list holds it.
    type CSign = unsafe extern "C" fn(
        CK_SESSION_HANDLE,
        *mut CK_BYTE,
        CK_ULONG,
        *mut CK_BYTE,
        *mut CK_ULONG,
    ) -> CK_RV;

    /// A handle on the module's `C_Sign`, kept with the library it lives in.
    pub struct RawSign {
        /// Keeps the module mapped for as long as `c_sign` may be called.
        _library: cryptoki_sys::Pkcs11,
        c_sign: CSign,
    }

    impl std::fmt::Debug for RawSign {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RawSign")
        }
    }

    impl RawSign {
        /// Finds `C_Sign` in the module at `path`, which cryptoki has already
        /// loaded and initialised: the dynamic loader hands back the same
        /// mapping (and so the same module state and session handles).
        pub fn load(path: &str) -> Result<Self, String> {
            // SAFETY: loading a library runs its initialisers. This library is
            // already loaded (by cryptoki, from the same path, moments ago), so
            // the loader only takes another reference on the same mapping and
            // runs nothing.
            let library = unsafe { cryptoki_sys::Pkcs11::new(path) }
                .map_err(|e| format!("reloading {path} for C_Sign: {e}"))?;
            let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
            // SAFETY: C_GetFunctionList is the mandatory PKCS#11 entry point; it
            // writes one pointer through the valid out-pointer we pass. cryptoki
            // called it successfully on this module already.
            let rv = match &library.C_GetFunctionList {
                Ok(f) => unsafe { f(&mut list) },
                Err(e) => return Err(format!("{path} has no C_GetFunctionList: {e}")),
            };
            if rv != CKR_OK || list.is_null() {
                return Err(format!("C_GetFunctionList failed in {path} (0x{rv:X})"));
            }
            // SAFETY: on CKR_OK the module returned a pointer to its static
            // function list, valid while the library stays loaded (we hold it).
            // We copy one function pointer out of it.
            let c_sign =
                unsafe { (*list).C_Sign }.ok_or_else(|| format!("{path} has no C_Sign"))?;
            Ok(RawSign {
                _library: library,
                c_sign,
            })
        }

        /// `C_Sign(data)` on an operation `C_SignInit` started on `session`,
        /// into a buffer of `capacity` bytes (grown once if the module asks).
        pub fn sign(
            &self,
            session: &Session,
            data: &[u8],
            capacity: usize,
        ) -> Result<Vec<u8>, CkError> {
            let data_len = CK_ULONG::try_from(data.len())?;
            let mut out = vec![0u8; capacity];
            for _ in 0..2 {
                let mut out_len = CK_ULONG::try_from(out.len())?;
                // SAFETY: `data` is valid for `data_len` bytes and only read (the
                // C prototype lacks const); `out` is valid for `out_len` bytes of
                // writes and the module writes at most that many; `out_len` is a
                // valid out-pointer. The session handle comes from a live
                // cryptoki Session borrowed for the whole call, and the caller
                // holds the signer's lock, so no other thread uses the session.
                let rv = unsafe {
                    (self.c_sign)(
                        session.handle(),
                        data.as_ptr().cast_mut(),
                        data_len,
                        out.as_mut_ptr(),
                        &mut out_len,
                    )
                };
                let written = usize::try_from(out_len)?;
                if rv == CKR_BUFFER_TOO_SMALL && written > out.len() {
                    // The operation stays active after CKR_BUFFER_TOO_SMALL.
                    out.resize(written, 0);
                    continue;
                }
                Rv::from(rv).into_result(cryptoki::context::Function::Sign)?;
                out.truncate(written);
                return Ok(out);
            }
            Err(CkError::Pkcs11(
                cryptoki::error::RvError::BufferTooSmall,
                cryptoki::context::Function::Sign,
            ))
        }
    }
}
