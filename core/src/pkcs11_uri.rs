//! RFC 7512 `pkcs11:` URIs, parsed without a heap.
//!
//! The parse borrows the input and validates it once: the prefix, the
//! `name=value` shape of every attribute, percent escapes, duplicates, the
//! attribute names and the values that have a syntax (`slot-id`,
//! `library-version`, `type`, `module-path`). Values stay percent-encoded in
//! the input; [`Value`] decodes them on demand into an iterator, a caller
//! buffer or a comparison, so nothing is copied that need not be.
//!
//! Where the original helper (go-pkcs11uri) is wrong we are strict on purpose:
//! an unknown attribute name is an error (a typo such as `objet=` would
//! otherwise match every object), `slot-id` is plain decimal (no octal) and
//! `slot-id=0` selects slot 0. Vendor attributes (`x-...`) are accepted and
//! ignored, as RFC 7512 section 2.3 reserves them. `pin-value` is accepted in
//! the path too (RFC 7512 puts it in the query; the original silently ignored
//! it there and prompted).
//!
//! Errors never quote a value: the URI may carry a PIN.

use core::fmt;

/// The URI scheme prefix, exact and case-sensitive.
pub const PREFIX: &str = "pkcs11:";

/// Attribute names RFC 7512 defines for the path.
const PATH_ATTRIBUTES: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
    // Not RFC 7512 in the path, accepted for compatibility (see module docs).
    "pin-value",
];

/// Attribute names RFC 7512 defines for the query.
const QUERY_ATTRIBUTES: &[&str] = &["pin-source", "pin-value", "module-name", "module-path"];

/// Which half of the URI an attribute is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Between `pkcs11:` and `?`, attributes separated by `;`.
    Path,
    /// After `?`, attributes separated by `&`.
    Query,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Path => "path",
            Part::Query => "query",
        }
    }

    fn separator(self) -> char {
        match self {
            Part::Path => ';',
            Part::Query => '&',
        }
    }
}

/// Why a string is not a usable PKCS#11 URI. Never holds an attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriError<'a> {
    /// It does not start with `pkcs11:`.
    MissingPrefix,
    /// The `index`th attribute (1-based) of `part` has no `=`, or is empty
    /// (as after a trailing separator).
    Malformed {
        /// Path or query.
        part: Part,
        /// 1-based position of the attribute.
        index: usize,
    },
    /// The same attribute twice.
    Duplicate {
        /// Path or query.
        part: Part,
        /// The attribute name.
        name: &'a str,
    },
    /// A name RFC 7512 does not define for this part.
    Unknown {
        /// Path or query.
        part: Part,
        /// The attribute name.
        name: &'a str,
    },
    /// A `%` not followed by two hex digits.
    BadEscape {
        /// The attribute whose value holds it.
        name: &'a str,
    },
    /// `slot-id` is not a decimal number that fits 64 bits.
    BadSlotId,
    /// `library-version` is not `M` or `M.N`.
    BadLibraryVersion,
    /// `type` is not one of `public`, `private`, `cert`, `secret-key`, `data`.
    BadType,
    /// Both `pin-source` and `pin-value`, or `pin-value` in both parts.
    PinTwice,
    /// `module-path` is not an absolute path.
    ModulePathNotAbsolute,
}

impl fmt::Display for UriError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::MissingPrefix => f.write_str("missing pkcs11: prefix"),
            UriError::Malformed { part, index } => write!(
                f,
                "malformed {} attribute #{index} (expected name=value, separated by '{}')",
                part.name(),
                part.separator()
            ),
            UriError::Duplicate { part, name } => {
                write!(f, "duplicate {} attribute {name}", part.name())
            }
            UriError::Unknown { part, name } => {
                write!(f, "unknown {} attribute {name}", part.name())
            }
            UriError::BadEscape { name } => write!(
                f,
                "invalid percent escape in {name} (a % must be followed by two hex digits)"
            ),
            UriError::BadSlotId => f.write_str("slot-id must be a decimal number"),
            UriError::BadLibraryVersion => {
                f.write_str("library-version must be a number or major.minor")
            }
            UriError::BadType => {
                f.write_str("type must be one of public, private, cert, secret-key, data")
            }
            UriError::PinTwice => {
                f.write_str("URI must not contain pin-source and pin-value, or pin-value twice")
            }
            UriError::ModulePathNotAbsolute => f.write_str("module-path must be an absolute path"),
        }
    }
}

impl core::error::Error for UriError<'_> {}

/// One attribute value, still percent-encoded (and known to decode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a>(&'a str);

impl<'a> Value<'a> {
    /// The value as written in the URI (percent-encoded).
    pub fn raw(&self) -> &'a str {
        self.0
    }

    /// The decoded bytes, one at a time.
    pub fn bytes(&self) -> Decoded<'a> {
        Decoded {
            rest: self.0.as_bytes(),
        }
    }

    /// Length of the decoded value.
    pub fn decoded_len(&self) -> usize {
        self.bytes().count()
    }

    /// True when the value decodes to nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the decoded value is exactly `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        self.bytes().eq(other.iter().copied())
    }

    /// Decodes into `out`; `None` when it does not fit.
    pub fn decode_into<'b>(&self, out: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut n = 0;
        for b in self.bytes() {
            *out.get_mut(n)? = b;
            n += 1;
        }
        out.get(..n)
    }

    /// The decoded value.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        self.bytes().collect()
    }
}

/// Iterator over the decoded bytes of a [`Value`].
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    rest: &'a [u8],
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match self.rest {
            [b'%', h, l, rest @ ..] => {
                self.rest = rest;
                // Validated at parse time; a bad escape cannot reach here.
                Some((hex_val(*h).unwrap_or(0) << 4) | hex_val(*l).unwrap_or(0))
            }
            [b, rest @ ..] => {
                self.rest = rest;
                Some(*b)
            }
            [] => None,
        }
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// True when every `%` in `s` starts a two-hex-digit escape.
fn escapes_valid(s: &str) -> bool {
    let mut rest = s.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == b'%') {
        match rest.get(i + 1..i + 3) {
            Some([h, l]) if hex_val(*h).is_some() && hex_val(*l).is_some() => {
                rest = rest.get(i + 3..).unwrap_or_default();
            }
            _ => return false,
        }
    }
    true
}

/// A parsed, validated PKCS#11 URI, borrowing its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pkcs11Uri<'a> {
    path: &'a str,
    query: Option<&'a str>,
}

/// Splits `name=value` parts of one half; empty halves have no parts.
fn parts(text: &str, part: Part) -> impl Iterator<Item = &str> {
    let mut split = text.split(part.separator());
    if text.is_empty() {
        // `"".split(';')` yields one empty item; an empty path has none.
        let _ = split.next();
    }
    split
}

impl<'a> Pkcs11Uri<'a> {
    /// Parses and validates `text`.
    pub fn parse(text: &'a str) -> Result<Self, UriError<'a>> {
        let rest = text.strip_prefix(PREFIX).ok_or(UriError::MissingPrefix)?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let uri = Pkcs11Uri { path, query };
        for (part, text, known) in [
            (Part::Path, path, PATH_ATTRIBUTES),
            (Part::Query, query.unwrap_or_default(), QUERY_ATTRIBUTES),
        ] {
            for (i, attr) in parts(text, part).enumerate() {
                let (name, value) = attr
                    .split_once('=')
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or(UriError::Malformed { part, index: i + 1 })?;
                if !known.contains(&name) && !name.starts_with("x-") {
                    return Err(UriError::Unknown { part, name });
                }
                if !escapes_valid(value) {
                    return Err(UriError::BadEscape { name });
                }
                let seen_before = parts(text, part)
                    .take(i)
                    .any(|a| a.split_once('=').is_some_and(|(n, _)| n == name));
                if seen_before {
                    return Err(UriError::Duplicate { part, name });
                }
            }
        }
        uri.validate_values()?;
        Ok(uri)
    }

    fn validate_values(&self) -> Result<(), UriError<'a>> {
        if let Some(v) = self.path_attr("slot-id") {
            let mut digits = 0;
            let mut n: u64 = 0;
            for b in v.bytes() {
                let d = char::from(b).to_digit(10).ok_or(UriError::BadSlotId)?;
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or(UriError::BadSlotId)?;
                digits += 1;
            }
            if digits == 0 {
                return Err(UriError::BadSlotId);
            }
        }
        if let Some(v) = self.path_attr("library-version") {
            let mut major = 0;
            let mut minor: Option<usize> = None;
            for b in v.bytes() {
                match (b, &mut minor) {
                    (b'0'..=b'9', None) => major += 1,
                    (b'0'..=b'9', Some(m)) => *m += 1,
                    (b'.', None) if major > 0 => minor = Some(0),
                    _ => return Err(UriError::BadLibraryVersion),
                }
            }
            if major == 0 || minor == Some(0) {
                return Err(UriError::BadLibraryVersion);
            }
        }
        if let Some(v) = self.path_attr("type") {
            let ok = ["public", "private", "cert", "secret-key", "data"]
                .iter()
                .any(|t| v.eq_bytes(t.as_bytes()));
            if !ok {
                return Err(UriError::BadType);
            }
        }
        let pins = [
            self.path_attr("pin-value"),
            self.query_attr("pin-value"),
            self.query_attr("pin-source"),
        ];
        if pins.iter().filter(|p| p.is_some()).count() > 1 {
            return Err(UriError::PinTwice);
        }
        if let Some(v) = self.query_attr("module-path")
            && v.bytes().next() != Some(b'/')
        {
            return Err(UriError::ModulePathNotAbsolute);
        }
        Ok(())
    }

    fn find(text: &'a str, part: Part, name: &str) -> Option<Value<'a>> {
        parts(text, part)
            .filter_map(|a| a.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Value(v))
    }

    /// A path attribute (`token`, `object`, `id`, ...).
    pub fn path_attr(&self, name: &str) -> Option<Value<'a>> {
        Self::find(self.path, Part::Path, name)
    }

    /// A query attribute (`pin-value`, `pin-source`, `module-path`, ...).
    pub fn query_attr(&self, name: &str) -> Option<Value<'a>> {
        self.query.and_then(|q| Self::find(q, Part::Query, name))
    }

    /// The user PIN given in the URI: `pin-value` from the query, or from
    /// the path where the original tool ignored it.
    pub fn pin_value(&self) -> Option<Value<'a>> {
        self.query_attr("pin-value")
            .or_else(|| self.path_attr("pin-value"))
    }

    /// `slot-id`, when present (validated at parse time).
    pub fn slot_id(&self) -> Option<u64> {
        let v = self.path_attr("slot-id")?;
        v.bytes().try_fold(0u64, |n, b| {
            n.checked_mul(10)?
                .checked_add(u64::from(char::from(b).to_digit(10)?))
        })
    }

    /// Every path attribute in order, as `(name, value)`.
    pub fn path_attrs(&self) -> impl Iterator<Item = (&'a str, Value<'a>)> {
        parts(self.path, Part::Path)
            .filter_map(|a| a.split_once('='))
            .map(|(n, v)| (n, Value(v)))
    }

    /// The URI for messages: `pin-value` replaced by `***`, everything else as written.
    pub fn redacted(&self) -> Redacted<'a> {
        Redacted(*self)
    }
}

/// Display of a URI with any PIN hidden; see [`Pkcs11Uri::redacted`].
#[derive(Clone, Copy, Debug)]
pub struct Redacted<'a>(Pkcs11Uri<'a>);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        let halves = [(Part::Path, Some(self.0.path)), (Part::Query, self.0.query)];
        for (part, text) in halves {
            let Some(text) = text else { continue };
            if part == Part::Query {
                f.write_str("?")?;
            }
            for (i, attr) in parts(text, part).enumerate() {
                if i > 0 {
                    write!(f, "{}", part.separator())?;
                }
                match attr.split_once('=') {
                    Some(("pin-value", _)) => f.write_str("pin-value=***")?,
                    _ => f.write_str(attr)?,
                }
            }
        }
        Ok(())
    }
}

/// True for bytes a path attribute value may hold unescaped (the set the
/// original formats with: RFC 7512 `pk11-pchar` without `%`).
fn path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=&".contains(&b)
}

/// Appends `;name=value` (or `name=value` when `first`) to a URI being
/// built, percent-encoding the value; `encode_all` encodes every byte (as
/// the original does for `id`).
pub fn write_path_attr(
    out: &mut impl fmt::Write,
    first: bool,
    name: &str,
    value: &[u8],
    encode_all: bool,
) -> fmt::Result {
    if !first {
        out.write_char(';')?;
    }
    out.write_str(name)?;
    out.write_char('=')?;
    for &b in value {
        if !encode_all && path_safe(b) {
            out.write_char(char::from(b))?;
        } else {
            write!(out, "%{b:02X}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn decoded(v: Value<'_>) -> std::vec::Vec<u8> {
        v.bytes().collect()
    }

    #[test]
    fn parses_the_usual_forms() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=credential-helper-test;object=rsa%202048;id=%01%0a?pin-value=1234",
        )
        .unwrap();
        assert_eq!(
            decoded(u.path_attr("token").unwrap()),
            b"credential-helper-test"
        );
        assert_eq!(decoded(u.path_attr("object").unwrap()), b"rsa 2048");
        assert_eq!(decoded(u.path_attr("id").unwrap()), [1, 10]);
        assert_eq!(decoded(u.pin_value().unwrap()), b"1234");
        assert_eq!(u.path_attr("serial"), None);
        assert!(Pkcs11Uri::parse("pkcs11:").is_ok());
        assert!(Pkcs11Uri::parse("pkcs11:?pin-value=1").is_ok());
        assert!(
            Pkcs11Uri::parse("pkcs11:object=a+b")
                .unwrap()
                .path_attr("object")
                .unwrap()
                .eq_bytes(b"a+b")
        );
        assert!(
            Pkcs11Uri::parse("pkcs11:object=")
                .unwrap()
                .path_attr("object")
                .unwrap()
                .is_empty()
        );
        assert!(Pkcs11Uri::parse("pkcs11:x-vendor=1?x-other=2").is_ok());
    }

    #[test]
    fn rejects_malformed_uris() {
        assert_eq!(
            Pkcs11Uri::parse("PKCS11:token=a"),
            Err(UriError::MissingPrefix)
        );
        assert_eq!(Pkcs11Uri::parse("token=a"), Err(UriError::MissingPrefix));
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:token=a;"),
            Err(UriError::Malformed {
                part: Part::Path,
                index: 2
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:token"),
            Err(UriError::Malformed {
                part: Part::Path,
                index: 1
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:=a"),
            Err(UriError::Malformed {
                part: Part::Path,
                index: 1
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:?pin-value"),
            Err(UriError::Malformed {
                part: Part::Query,
                index: 1
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:token=a;token=b"),
            Err(UriError::Duplicate {
                part: Part::Path,
                name: "token"
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:objet=a"),
            Err(UriError::Unknown {
                part: Part::Path,
                name: "objet"
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:?token=a"),
            Err(UriError::Unknown {
                part: Part::Query,
                name: "token"
            })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:id=%zz"),
            Err(UriError::BadEscape { name: "id" })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:id=%0"),
            Err(UriError::BadEscape { name: "id" })
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:slot-id=-1"),
            Err(UriError::BadSlotId)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:slot-id="),
            Err(UriError::BadSlotId)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:slot-id=99999999999999999999"),
            Err(UriError::BadSlotId)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:library-version=1."),
            Err(UriError::BadLibraryVersion)
        );
        assert!(Pkcs11Uri::parse("pkcs11:library-version=2.40").is_ok());
        assert_eq!(Pkcs11Uri::parse("pkcs11:type=key"), Err(UriError::BadType));
        assert!(Pkcs11Uri::parse("pkcs11:type=secret-key").is_ok());
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:?pin-value=1&pin-source=file:/x"),
            Err(UriError::PinTwice)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:pin-value=1?pin-value=1"),
            Err(UriError::PinTwice)
        );
        assert_eq!(
            Pkcs11Uri::parse("pkcs11:?module-path=lib.so"),
            Err(UriError::ModulePathNotAbsolute)
        );
    }

    #[test]
    fn slot_ids_are_decimal_and_zero_is_a_slot() {
        let id = |s| Pkcs11Uri::parse(s).unwrap().slot_id();
        assert_eq!(id("pkcs11:slot-id=0"), Some(0));
        assert_eq!(id("pkcs11:slot-id=010"), Some(10));
        assert_eq!(id("pkcs11:slot-id=%31"), Some(1));
        assert_eq!(id("pkcs11:token=a"), None);
    }

    #[test]
    fn errors_and_redaction_never_show_the_pin() {
        let u = Pkcs11Uri::parse("pkcs11:token=a;pin-value=s3cret").unwrap();
        assert_eq!(
            std::format!("{}", u.redacted()),
            "pkcs11:token=a;pin-value=***"
        );
        let u = Pkcs11Uri::parse("pkcs11:token=a?pin-value=s3cret&module-path=/m.so").unwrap();
        assert_eq!(
            std::format!("{}", u.redacted()),
            "pkcs11:token=a?pin-value=***&module-path=/m.so"
        );
        let e = Pkcs11Uri::parse("pkcs11:?pin-value=s3%zzcret").unwrap_err();
        assert!(!std::format!("{e}").contains("s3"));
    }

    #[test]
    fn decode_into_checks_capacity() {
        let u = Pkcs11Uri::parse("pkcs11:object=ab%43").unwrap();
        let v = u.path_attr("object").unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(v.decode_into(&mut buf), Some(&b"abC"[..]));
        let mut small = [0u8; 2];
        assert_eq!(v.decode_into(&mut small), None);
        assert_eq!(v.decoded_len(), 3);
    }

    #[test]
    fn formats_values_like_the_original() {
        let mut s = String::new();
        write_path_attr(&mut s, true, "object", b"my key;1/%", false).unwrap();
        write_path_attr(&mut s, false, "id", b"\x01a", true).unwrap();
        assert_eq!(s, "object=my%20key%3B1%2F%25;id=%01%61");
        // What we print parses back to the same bytes.
        let text = std::format!("pkcs11:{s}");
        let u = Pkcs11Uri::parse(&text).unwrap();
        assert!(u.path_attr("object").unwrap().eq_bytes(b"my key;1/%"));
        assert!(u.path_attr("id").unwrap().eq_bytes(b"\x01a"));
    }
}
