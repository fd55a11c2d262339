//! One open connection to the TPM and the transient objects made through it.
//!
//! The TPM is opened for each operation and closed after it, as the original
//! does: a long-running `serve` must not hold `/dev/tpm0` (one opener only)
//! for months, and a TPM or simulator restart must not leave it with a dead
//! connection. Every transient object and session created here is flushed
//! when the [`Connection`] drops, newest first, including on error paths:
//! without a resource manager (raw `/dev/tpm0`, swtpm) a leaked object
//! stays in one of the TPM's few slots until the next reset (0x902).

use std::convert::TryFrom;

use rolesanywhere_core::tss2::{TPM_RH_ENDORSEMENT, TPM_RH_NULL, TPM_RH_OWNER, TPM_RH_PLATFORM};
use tss_esapi::Context;
use tss_esapi::Error as TssError;
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::SessionType;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::handles::{KeyHandle, ObjectHandle, SessionHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    Auth, Digest, EccPoint, EccScheme, HashcheckTicket, KeyDerivationFunctionScheme, Private,
    Public, PublicBuilder, PublicEccParametersBuilder, PublicKeyRsa, PublicRsaParametersBuilder,
    RsaExponent, RsaScheme, Signature, SignatureScheme, SymmetricDefinition,
    SymmetricDefinitionObject,
};
use tss_esapi::traits::UnMarshall;
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;

use super::device::Device;
use super::rc::{self, Kind};

/// The largest authorization value a `TPM2B_AUTH` holds.
const MAX_AUTH_LEN: usize = 64;

/// A failed TPM step: what was being done, and the TSS error if any.
#[derive(Debug)]
pub struct TpmError {
    /// The step, e.g. `loading the key under its parent 0x81000001`.
    pub what: String,
    /// The library's error, when the failure came from libtss2.
    pub source: Option<TssError>,
}

impl TpmError {
    /// A failure of `what` caused by a TSS error.
    pub fn tss(what: impl Into<String>, source: TssError) -> Self {
        TpmError {
            what: what.into(),
            source: Some(source),
        }
    }

    /// A failure found by the agent itself.
    pub fn msg(what: impl Into<String>) -> Self {
        TpmError {
            what: what.into(),
            source: None,
        }
    }

    /// What the failure means: wrong password, lockout, busy, other.
    pub fn kind(&self) -> Kind {
        self.source.as_ref().map_or(Kind::Other, rc::kind)
    }
}

impl std::fmt::Display for TpmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {}", self.what, rc::describe(e)),
            None => f.write_str(&self.what),
        }
    }
}

/// The public and private parts of a key file, ready for `TPM2_Load`.
#[derive(Clone, Debug)]
pub struct FileKey {
    /// The parent handle from the file.
    pub parent: u32,
    /// A hierarchy parent is the RSA-2048 SRK (`rsaParent`), not the ECC one.
    pub rsa_parent: bool,
    /// The key's public area.
    pub public: Public,
    /// The key's private blob (wrapped by the parent; not a secret by itself).
    pub private: Private,
}

impl FileKey {
    /// Decodes the TPM structures of a checked key file.
    pub fn from_loadable(
        key: &rolesanywhere_core::tss2::LoadableKey<'_>,
    ) -> Result<Self, TpmError> {
        let public = Public::unmarshall(key.public)
            .map_err(|e| TpmError::tss("cannot decode the key file's TPMT_PUBLIC", e))?;
        let private = Private::try_from(key.private.to_vec())
            .map_err(|e| TpmError::tss("cannot decode the key file's TPM2B_PRIVATE", e))?;
        let parent = match key.parent {
            rolesanywhere_core::tss2::Parent::Persistent(h)
            | rolesanywhere_core::tss2::Parent::Hierarchy(h) => h,
        };
        Ok(FileKey {
            parent,
            rsa_parent: key.rsa_parent,
            public,
            private,
        })
    }
}

/// Where the signing key is.
#[derive(Clone, Debug)]
pub enum KeyLocation {
    /// A persistent (or otherwise already loaded) handle.
    Handle(u32),
    /// A key file, loaded under its parent for each operation.
    File(Box<FileKey>),
}

/// An open TPM with the transient objects created through it.
pub struct Connection {
    ctx: Context,
    /// Transient objects and sessions to flush, oldest first.
    transient: Vec<ObjectHandle>,
}

/// The storage primary key template that tpm2-tools, tpm2-openssl,
/// tpm2-tss-engine and the IBM engine derive under a hierarchy (spec 2.4):
/// ECC P-256, AES-128-CFB, restricted decrypt, unique X and Y empty.
pub fn ecc_srk_template() -> Result<Public, TssError> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(srk_attributes()?)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::AES_128_CFB)
                .with_ecc_scheme(EccScheme::Null)
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_signing_key(false)
                .with_is_decryption_key(true)
                .with_restricted(true)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
}

/// The RSA-2048 storage primary key template for `rsaParent` files:
/// AES-128-CFB, restricted decrypt, exponent 65537 (0), unique empty.
pub fn rsa_srk_template() -> Result<Public, TssError> {
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(srk_attributes()?)
        .with_rsa_parameters(
            PublicRsaParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::AES_128_CFB)
                .with_scheme(RsaScheme::Null)
                .with_key_bits(RsaKeyBits::Rsa2048)
                .with_exponent(RsaExponent::default())
                .with_is_signing_key(false)
                .with_is_decryption_key(true)
                .with_restricted(true)
                .build()?,
        )
        .with_rsa_unique_identifier(PublicKeyRsa::default())
        .build()
}

/// fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt
/// = 0x00030472.
fn srk_attributes() -> Result<tss_esapi::attributes::ObjectAttributes, TssError> {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()
}

fn hierarchy(handle: u32) -> Option<Hierarchy> {
    match handle {
        TPM_RH_OWNER => Some(Hierarchy::Owner),
        TPM_RH_NULL => Some(Hierarchy::Null),
        TPM_RH_ENDORSEMENT => Some(Hierarchy::Endorsement),
        TPM_RH_PLATFORM => Some(Hierarchy::Platform),
        _ => None,
    }
}

impl Connection {
    /// Opens the TPM.
    pub fn open(device: &Device) -> Result<Self, TpmError> {
        let ctx = Context::new(device.tcti.clone()).map_err(|e| {
            // The raw device admits one opener; the resource manager shares.
            let hint = if device.name.starts_with("/dev/tpm") && !device.name.contains("tpmrm") {
                " (is another process using it? /dev/tpmrm0 can be shared)"
            } else {
                ""
            };
            TpmError::tss(format!("cannot open the TPM {}{hint}", device.name), e)
        })?;
        Ok(Connection {
            ctx,
            transient: Vec::new(),
        })
    }

    /// Flushes one tracked object now (the primary once its child is loaded).
    fn flush(&mut self, handle: ObjectHandle) -> Result<(), TpmError> {
        self.transient.retain(|h| *h != handle);
        self.ctx
            .flush_context(handle)
            .map_err(|e| TpmError::tss("flushing a transient object", e))
    }

    /// An ESYS handle for a TPM handle that is already there (persistent).
    fn existing(&mut self, handle: u32) -> Result<ObjectHandle, TpmError> {
        let tpm_handle = TpmHandle::try_from(handle)
            .map_err(|e| TpmError::tss(format!("0x{handle:08x} is not a TPM object handle"), e))?;
        self.ctx
            .execute_without_session(|ctx| ctx.tr_from_tpm_public(tpm_handle))
            .map_err(|e| TpmError::tss(format!("reading the TPM object 0x{handle:08x}"), e))
    }

    /// Reads a loaded key's public area.
    pub fn read_public(&mut self, key: KeyHandle, name: &str) -> Result<Public, TpmError> {
        self.ctx
            .execute_without_session(|ctx| ctx.read_public(key))
            .map(|(public, _, _)| public)
            .map_err(|e| TpmError::tss(format!("reading the public key of {name}"), e))
    }

    /// Makes the key usable: a handle as it is, a file's key loaded under its
    /// parent (the primary, if one was derived, is flushed right away).
    pub fn key(&mut self, location: &KeyLocation) -> Result<KeyHandle, TpmError> {
        match location {
            KeyLocation::Handle(h) => Ok(self.existing(*h)?.into()),
            KeyLocation::File(file) => self.load(file),
        }
    }

    fn load(&mut self, file: &FileKey) -> Result<KeyHandle, TpmError> {
        let (parent, primary) = match hierarchy(file.parent) {
            Some(h) => {
                let (template, kind) = if file.rsa_parent {
                    (rsa_srk_template(), "RSA")
                } else {
                    (ecc_srk_template(), "ECC")
                };
                let template =
                    template.map_err(|e| TpmError::tss("building the SRK template", e))?;
                let created = self
                    .ctx
                    .execute_with_session(Some(AuthSession::Password), |ctx| {
                        ctx.create_primary(h, template, None, None, None, None)
                    })
                    .map_err(|e| {
                        TpmError::tss(
                            format!(
                                "creating the {kind} storage key under hierarchy 0x{:08x}",
                                file.parent
                            ),
                            e,
                        )
                    })?;
                let handle: ObjectHandle = created.key_handle.into();
                self.transient.push(handle);
                (created.key_handle, Some(handle))
            }
            None => (self.existing(file.parent)?.into(), None),
        };
        let loaded = self
            .ctx
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.load(parent, file.private.clone(), file.public.clone())
            })
            .map_err(|e| {
                TpmError::tss(
                    format!("loading the key under its parent 0x{:08x}", file.parent),
                    e,
                )
            })?;
        self.transient.push(loaded.into());
        if let Some(primary) = primary {
            self.flush(primary)?;
        }
        Ok(loaded)
    }

    /// Signs `digest` with `key` under `scheme`, authorising with `password`
    /// through an HMAC session (the password itself never crosses the bus).
    pub fn sign(
        &mut self,
        key: KeyHandle,
        password: &[u8],
        digest: &[u8],
        scheme: SignatureScheme,
    ) -> Result<Signature, TpmError> {
        // Checked first so that a refused copy is never dropped unzeroized
        // (Auth keeps its bytes in a Zeroizing buffer once it holds them).
        if password.len() > MAX_AUTH_LEN {
            return Err(TpmError::msg(format!(
                "the TPM key password is longer than {MAX_AUTH_LEN} bytes"
            )));
        }
        let auth = Auth::try_from(password.to_vec())
            .map_err(|e| TpmError::tss("the TPM key password is too long", e))?;
        self.ctx
            .tr_set_auth(key.into(), auth)
            .map_err(|e| TpmError::tss("setting the key password", e))?;
        let session = self
            .ctx
            .start_auth_session(
                None,
                None,
                None,
                SessionType::Hmac,
                SymmetricDefinition::AES_128_CFB,
                HashingAlgorithm::Sha256,
            )
            .map_err(|e| TpmError::tss("starting an authorization session", e))?
            .ok_or_else(|| TpmError::msg("the TPM returned no authorization session"))?;
        self.transient.push(SessionHandle::from(session).into());
        let digest = Digest::try_from(digest.to_vec())
            .map_err(|e| TpmError::tss("the digest does not fit a TPM2B_DIGEST", e))?;
        let ticket = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })
        .map_err(|e| TpmError::tss("building the null hashcheck ticket", e))?;
        let result = self
            .ctx
            .execute_with_session(Some(session), |ctx| ctx.sign(key, digest, scheme, ticket));
        self.flush(SessionHandle::from(session).into())?;
        result.map_err(|e| TpmError::tss("TPM2_Sign", e))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Newest first: a key before the session that used it. Errors are
        // ignored here: the context's own drop tries again, and a closing
        // connection has nowhere to report to.
        while let Some(handle) = self.transient.pop() {
            let _ = self.ctx.flush_context(handle);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use tss_esapi::traits::Marshall;

    #[test]
    fn the_ecc_srk_template_is_the_one_tpm2_tools_uses() {
        // TPMT_PUBLIC: type ECC, nameAlg SHA-256, attributes 0x00030472,
        // empty policy, AES-128-CFB, scheme NULL, P-256, KDF NULL, empty X/Y.
        let bytes = ecc_srk_template().unwrap().marshall().unwrap();
        assert_eq!(
            bytes,
            [
                0x00, 0x23, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00, 0x00, 0x06, 0x00, 0x80,
                0x00, 0x43, 0x00, 0x10, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn hierarchies_are_the_four_of_the_spec() {
        assert_eq!(hierarchy(0x4000_0001), Some(Hierarchy::Owner));
        assert_eq!(hierarchy(0x4000_0007), Some(Hierarchy::Null));
        assert_eq!(hierarchy(0x4000_000b), Some(Hierarchy::Endorsement));
        assert_eq!(hierarchy(0x4000_000c), Some(Hierarchy::Platform));
        assert_eq!(hierarchy(0x8100_0001), None);
    }
}
