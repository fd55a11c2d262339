//! `CanonicalQueryString`: the query parameters, re-encoded and sorted.

use core::cmp::Ordering;

use embedded_io::Write;

use super::MAX_QUERY_PARAMS;
use super::Sigv4Error;
use super::encode::{Chunked, Encoded, put_encoded};

/// The parameters of a raw query string, borrowed, in canonical order.
///
/// `CanonicalQueryString = join("&", UriEncode(key) "=" UriEncode(value))`,
/// sorted by encoded key, then encoded value.
#[derive(Clone, Debug)]
pub(crate) struct CanonicalQuery<'a> {
    params: heapless::Vec<(&'a str, &'a str), MAX_QUERY_PARAMS>,
}

/// Orders two raw components by their SigV4 encodings, without building them.
fn cmp_encoded(a: &str, b: &str) -> Ordering {
    Encoded::new(a, true).cmp(Encoded::new(b, true))
}

impl<'a> CanonicalQuery<'a> {
    /// Splits `raw` (everything after `?`) on `&`, and each parameter on its
    /// first `=`. Empty parameters (`a&&b`) are skipped; a parameter without
    /// `=` gets an empty value (`key=` in the canonical form).
    pub(crate) fn new(raw: &'a str) -> Result<Self, Sigv4Error> {
        let mut params = heapless::Vec::new();
        for param in raw.split('&').filter(|p| !p.is_empty()) {
            let pair = param.split_once('=').unwrap_or((param, ""));
            params
                .push(pair)
                .map_err(|_| Sigv4Error::TooManyQueryParameters)?;
        }
        params.sort_unstable_by(|(ka, va), (kb, vb)| {
            cmp_encoded(ka, kb).then_with(|| cmp_encoded(va, vb))
        });
        Ok(CanonicalQuery { params })
    }

    /// Writes the canonical query string (no line break).
    pub(crate) fn write<W: Write + ?Sized>(
        &self,
        out: &mut Chunked<'_, W>,
    ) -> Result<(), Sigv4Error> {
        for (i, (key, value)) in self.params.iter().enumerate() {
            if i > 0 {
                out.byte(b'&')?;
            }
            put_encoded(out, key, true)?;
            out.byte(b'=')?;
            put_encoded(out, value, true)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::sigv4::encode::TestBuf;

    fn canon(raw: &str) -> Result<heapless::String<1024>, Sigv4Error> {
        let query = CanonicalQuery::new(raw)?;
        let mut out = TestBuf::new();
        let mut chunked = Chunked::new(&mut out);
        query.write(&mut chunked)?;
        chunked.flush()?;
        let mut s = heapless::String::new();
        s.push_str(out.as_str()).map_err(|_| Sigv4Error::Write)?;
        Ok(s)
    }

    #[test]
    fn sorted_by_key_then_value() {
        for (raw, want) in [
            ("", ""),
            ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("b=1&a=2&a=1", "a=1&a=2&b=1"),
            ("a&b=", "a=&b="),
            ("a&&b", "a=&b="),
            ("=x", "=x"),
            ("k=a=b", "k=a%3Db"),
        ] {
            assert_eq!(canon(raw).unwrap().as_str(), want, "query {raw:?}");
        }
    }

    #[test]
    fn decoded_then_reencoded() {
        for (raw, want) in [
            ("a b=c d", "a%20b=c%20d"),
            ("a+b=c+d", "a%20b=c%20d"),
            ("a%20b=c%2bd", "a%20b=c%2Bd"),
            ("\u{1234}=bar", "%E1%88%B4=bar"),
            ("-._~=~", "-._~=~"),
            (
                "roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr",
                "roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr",
            ),
            (
                "roleArn=arn:aws:iam::1:role/r",
                "roleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr",
            ),
        ] {
            assert_eq!(canon(raw).unwrap().as_str(), want, "query {raw:?}");
        }
    }

    #[test]
    fn sorted_by_encoded_form_not_raw_bytes() {
        // Raw '~' (0x7e) sorts before raw 'é' (0xc3 0xa9), but encoded 'é' is
        // "%C3%A9" and '%' (0x25) sorts before '~'.
        assert_eq!(canon("~=1&\u{e9}=2").unwrap().as_str(), "%C3%A9=2&~=1");
        // Raw "%61" sorts before "B", but it is "a", which sorts after "B".
        assert_eq!(canon("%61=1&B=2").unwrap().as_str(), "B=2&a=1");
    }

    #[test]
    fn parameter_limit() {
        let mut raw: heapless::String<512> = heapless::String::new();
        for _ in 0..MAX_QUERY_PARAMS {
            raw.push_str("a=1&").unwrap();
        }
        assert!(CanonicalQuery::new(&raw).is_ok());
        raw.push_str("b").unwrap();
        assert_eq!(
            CanonicalQuery::new(&raw).err(),
            Some(Sigv4Error::TooManyQueryParameters)
        );
    }
}
