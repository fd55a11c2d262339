//! X.509 names printed exactly as the original prints them (Go's
//! `pkix.Name.String()`), for `read-certificate-data`'s text listing.
//!
//! Go does not print the name as encoded: it sorts the attributes it knows
//! into fields (C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER) and
//! prints them in the reverse of that order, each type's values as one
//! `+`-joined RDN, then the attributes it does not know (as `OID=#hex`), in
//! reverse order of appearance. Values are escaped as RFC 2253 asks.

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Reader, SliceReader, Tag, Tagged};

/// Short names Go prints, by the last arc of `2.5.4.x`, in the order its
/// `ToRDNSequence` builds them (printing reverses it).
const KNOWN: [(u32, &str); 9] = [
    (6, "C"),
    (8, "ST"),
    (7, "L"),
    (9, "STREET"),
    (17, "POSTALCODE"),
    (10, "O"),
    (11, "OU"),
    (3, "CN"),
    (5, "SERIALNUMBER"),
];

/// The `2.5.4.x` arc of a known attribute type.
fn known_arc(oid: &ObjectIdentifier) -> Option<u32> {
    let arcs: Vec<u32> = oid.arcs().collect();
    match arcs.as_slice() {
        [2, 5, 4, x] if KNOWN.iter().any(|(k, _)| k == x) => Some(*x),
        _ => None,
    }
}

/// A directory string as Go reads it into a Go `string`; `None` for other types.
fn string_value(v: &AnyRef<'_>) -> Option<String> {
    let bytes = v.value();
    match v.tag() {
        Tag::PrintableString | Tag::Ia5String | Tag::Utf8String | Tag::NumericString => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        // Go keeps T.61 bytes as they are; read them as Latin-1.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// The DER Go's `asn1.Marshal` gives a string: PrintableString when every
/// character allows it, UTF8String otherwise.
fn marshal_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let tag = if printable { 0x13 } else { 0x0c };
    let mut out = vec![tag];
    let len = s.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let sig = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | sig.len() as u8);
        out.extend_from_slice(sig);
    }
    out.extend_from_slice(s.as_bytes());
    out
}

/// RFC 2253 escaping as Go does it.
fn escape(value: &str, out: &mut String) {
    let chars: Vec<char> = value.chars().collect();
    let last = chars.len().saturating_sub(1);
    for (k, &c) in chars.iter().enumerate() {
        let needs = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if needs {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Formats a DER `Name` as Go's `pkix.Name.String()`; `None` when it is not a Name.
pub fn format(name_der: &[u8]) -> Option<String> {
    let mut typed: Vec<(u32, Vec<String>)> = KNOWN.iter().map(|(k, _)| (*k, Vec::new())).collect();
    let mut extra: Vec<String> = Vec::new();
    let mut reader = SliceReader::new(name_der).ok()?;
    let parsed = reader.sequence(|seq| {
        while !seq.is_finished() {
            // A SET OF AttributeTypeAndValue; read in encoded order.
            let rdn = AnyRef::decode(seq)?;
            if rdn.tag() != Tag::Set {
                return Err(der::ErrorKind::TagUnexpected {
                    expected: Some(Tag::Set),
                    actual: rdn.tag(),
                }
                .into());
            }
            let mut set = SliceReader::new(rdn.value())?;
            while !set.is_finished() {
                let (oid, value, raw) = set.sequence(|atv| {
                    let oid = ObjectIdentifier::decode(atv)?;
                    let raw = atv.tlv_bytes()?;
                    let value = AnyRef::from_der(raw)?;
                    Ok::<_, der::Error>((oid, value, raw))
                })?;
                match (known_arc(&oid), string_value(&value)) {
                    (Some(arc), Some(s)) => {
                        if let Some((_, values)) = typed.iter_mut().find(|(k, _)| *k == arc) {
                            // CN and SERIALNUMBER hold one value: the last wins.
                            if arc == 3 || arc == 5 {
                                values.clear();
                            }
                            values.push(s);
                        }
                    }
                    // Go keeps non-string values of known types out of the string.
                    (Some(_), None) => {}
                    (None, s) => {
                        let der = match s {
                            Some(s) => marshal_string(&s),
                            None => raw.to_vec(),
                        };
                        let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                        extra.push(format!("{oid}=#{hex}"));
                    }
                }
            }
        }
        Ok::<_, der::Error>(())
    });
    parsed.ok()?;
    reader.finish().ok()?;
    let mut rdns: Vec<String> = Vec::new();
    for (arc, values) in typed.iter().rev() {
        if values.is_empty() {
            continue;
        }
        let label = KNOWN.iter().find(|(k, _)| k == arc).map_or("", |(_, n)| n);
        let mut rdn = String::new();
        for (j, v) in values.iter().enumerate() {
            if j > 0 {
                rdn.push('+');
            }
            rdn.push_str(label);
            rdn.push('=');
            escape(v, &mut rdn);
        }
        rdns.push(rdn);
    }
    rdns.extend(extra.into_iter().rev());
    Some(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a Name from (oid DER, tag, value) RDNs, one attribute each.
    fn name(attrs: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (oid, tag, value) in attrs {
            let mut atv = oid.to_vec();
            atv.push(*tag);
            atv.push(value.len() as u8);
            atv.extend_from_slice(value);
            let mut seq = vec![0x30, atv.len() as u8];
            seq.extend(atv);
            let mut set = vec![0x31, seq.len() as u8];
            set.extend(seq);
            body.extend(set);
        }
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    const C: &[u8] = &[6, 3, 0x55, 4, 6];
    const O: &[u8] = &[6, 3, 0x55, 4, 10];
    const OU: &[u8] = &[6, 3, 0x55, 4, 11];
    const CN: &[u8] = &[6, 3, 0x55, 4, 3];
    const EMAIL: &[u8] = &[6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 9, 1];

    #[test]
    fn go_order_and_escaping() {
        let n = name(&[
            (C, 0x13, b"US"),
            (O, 0x0c, b"Example, Inc."),
            (OU, 0x0c, b"edge"),
            (OU, 0x0c, b"gw"),
            (CN, 0x0c, b" lead#"),
            (EMAIL, 0x16, b"a@b.c"),
        ]);
        assert_eq!(
            format(&n).unwrap(),
            "CN=\\ lead#,OU=edge+OU=gw,O=Example\\, Inc.,C=US,1.2.840.113549.1.9.1=#0c056140622e63"
        );
        assert_eq!(
            format(&name(&[(CN, 0x0c, b"p256 leaf")])).unwrap(),
            "CN=p256 leaf"
        );
        assert_eq!(
            format(&name(&[(CN, 0x0c, b"#x y ")])).unwrap(),
            "CN=\\#x y\\ "
        );
        assert_eq!(format(&[0x30, 0x00]).unwrap(), "");
        assert_eq!(format(b"junk"), None);
    }
}
