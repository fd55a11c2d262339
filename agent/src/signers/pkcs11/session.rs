//! Sessions opened while looking for the certificate and key: one per slot,
//! kept open (and logged in) until the search is over, so a token asks for
//! its PIN once. The key's session then moves into the signer.

use cryptoki::context::Pkcs11;
use cryptoki::error::Error as CkError;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use rolesanywhere_core::pkcs11_uri::{Pkcs11Uri, write_path_attr};

use super::login::{Pin, login_user};
use super::module::{SlotDesc, ckr};

/// One open session and whether this process logged in through it.
struct Open {
    slot: Slot,
    session: Session,
    logged_in: bool,
}

/// The sessions of one search.
pub struct Sessions<'c> {
    ctx: &'c Pkcs11,
    open: Vec<Open>,
    debug: bool,
}

impl<'c> Sessions<'c> {
    /// No sessions yet.
    pub fn new(ctx: &'c Pkcs11, debug: bool) -> Self {
        Sessions {
            ctx,
            open: Vec::new(),
            debug,
        }
    }

    fn index(&mut self, slot: Slot) -> Result<usize, String> {
        if let Some(i) = self.open.iter().position(|o| o.slot == slot) {
            return Ok(i);
        }
        let session = self.ctx.open_ro_session(slot).map_err(|e| {
            format!(
                "opening a session on slot {} failed ({})",
                slot.id(),
                ckr(&e)
            )
        })?;
        self.open.push(Open {
            slot,
            session,
            logged_in: false,
        });
        Ok(self.open.len() - 1)
    }

    /// The session on `slot`, opened (read-only) on first use.
    pub fn get(&mut self, slot: Slot) -> Result<&Session, String> {
        let i = self.index(slot)?;
        self.open
            .get(i)
            .map(|o| &o.session)
            .ok_or_else(|| "session vanished".to_owned())
    }

    /// True once this search logged in on `slot`.
    pub fn logged_in(&self, slot: Slot) -> bool {
        self.open.iter().any(|o| o.slot == slot && o.logged_in)
    }

    /// Logs in on the slot's session (once), asking on the terminal when
    /// `pin` is `None` and storing what was typed there.
    pub fn login(&mut self, desc: &SlotDesc, pin: &mut Option<Pin>) -> Result<(), String> {
        let i = self.index(desc.slot)?;
        let debug = self.debug;
        let open = self
            .open
            .get_mut(i)
            .ok_or_else(|| "session vanished".to_owned())?;
        if !open.logged_in {
            login_user(&open.session, &desc.token, pin, debug)?;
            open.logged_in = true;
        }
        Ok(())
    }

    /// Hands the slot's session over (to the signer); the others close when
    /// `self` drops.
    pub fn take(&mut self, slot: Slot) -> Option<Session> {
        let i = self.open.iter().position(|o| o.slot == slot)?;
        Some(self.open.swap_remove(i).session)
    }
}

/// The handles of every object matching `template`.
pub fn find(session: &Session, template: &[Attribute]) -> Result<Vec<ObjectHandle>, String> {
    session
        .find_objects(template)
        .map_err(|e: CkError| format!("searching objects failed ({})", ckr(&e)))
}

/// `CKA_CLASS`, plus `CKA_LABEL` from `object` and `CKA_ID` from `id` when
/// the URI has them (spec 1.4).
pub fn template(class: ObjectClass, uri: Option<&Pkcs11Uri<'_>>) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(uri) = uri {
        if let Some(label) = uri.path_attr("object") {
            t.push(Attribute::Label(label.to_vec()));
        }
        if let Some(id) = uri.path_attr("id") {
            t.push(Attribute::Id(id.to_vec()));
        }
    }
    t
}

/// How messages name an object: `"label" (id 01)`.
pub fn describe(label: &[u8], id: &[u8]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    match (label.is_empty(), id.is_empty()) {
        (false, false) => format!("\"{}\" (id {hex})", String::from_utf8_lossy(label)),
        (false, true) => format!("\"{}\"", String::from_utf8_lossy(label)),
        (true, false) => format!("id {hex}"),
        (true, true) => "an object without label or id".to_owned(),
    }
}

/// A URI naming one object on the token in `desc`: the token's attributes
/// (of the slot that really holds it), then `id`, `object` and `type`, in a
/// fixed order. Never carries a PIN.
pub fn object_uri(desc: &SlotDesc, id: &[u8], label: &[u8], kind: &str) -> String {
    let mut out = String::from("pkcs11:");
    let token = &desc.token;
    let attrs: [(&str, &[u8], bool); 8] = [
        ("token", token.label().as_bytes(), false),
        ("manufacturer", token.manufacturer_id().as_bytes(), false),
        ("model", token.model().as_bytes(), false),
        ("serial", token.serial_number().as_bytes(), false),
        (
            "slot-description",
            desc.info.slot_description().as_bytes(),
            false,
        ),
        (
            "slot-manufacturer",
            desc.info.manufacturer_id().as_bytes(),
            false,
        ),
        ("id", id, true),
        ("object", label, false),
    ];
    let mut first = true;
    for (name, value, encode_all) in attrs {
        if value.is_empty() && matches!(name, "id" | "object") {
            continue;
        }
        let _ = write_path_attr(&mut out, first, name, value, encode_all);
        first = false;
    }
    let _ = write_path_attr(&mut out, first, "type", kind.as_bytes(), false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_readably() {
        assert_eq!(describe(b"rsa", &[1]), "\"rsa\" (id 01)");
        assert_eq!(describe(b"", &[0xab, 1]), "id ab01");
        assert_eq!(describe(b"x", &[]), "\"x\"");
    }
}
