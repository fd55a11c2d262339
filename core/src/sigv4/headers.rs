//! `CanonicalHeaders` and `SignedHeaders`: which header fields are signed,
//! in which order, and how their values are normalised.

use core::cmp::Ordering;

use embedded_io::Write;

use super::encode::{Chunked, is_token};
use super::{Header, MAX_SIGNED_HEADERS, NameSnippet, SignedHeaders, Sigv4Error};

/// The header fields of a request that are signed, in canonical order: by
/// lowercased name, and in order of appearance within one name. Borrows the
/// request's headers; holds only an index array (no heap).
///
/// ```text
/// CanonicalHeaders = for each name: Lowercase(name) ":" join(",", Trim(value)) "\n"
/// SignedHeaders    = join(";", Lowercase(name))
/// ```
///
/// Built once, it feeds both the canonical request and the
/// `SignedHeaders=` part of the `Authorization` header, so the two can never
/// disagree.
#[derive(Clone, Debug)]
pub struct CanonicalHeaders<'a> {
    headers: &'a [Header<'a>],
    /// Indices into `headers`, sorted.
    order: heapless::Vec<usize, MAX_SIGNED_HEADERS>,
}

/// Compares two header names as if both were lowercased (no buffer).
fn cmp_names(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Checks that a line break in a header value only ever starts an obs-fold
/// continuation line (LF or CRLF followed by a space or tab), the form the
/// SigV4 suite's `get-header-value-multiline` case uses. Any other CR or LF
/// could split one header into two on the wire.
fn check_value(header: &Header<'_>) -> Result<(), Sigv4Error> {
    let mut lines = header.value.split('\n').peekable();
    let mut first = true;
    while let Some(line) = lines.next() {
        let line = match lines.peek() {
            Some(_) => line.strip_suffix('\r').unwrap_or(line),
            None => line,
        };
        if line.contains('\r') || (!first && !line.starts_with([' ', '\t'])) {
            return Err(Sigv4Error::HeaderValueLineBreak(NameSnippet::new(
                header.name,
            )));
        }
        first = false;
    }
    Ok(())
}

/// Writes `Trimall(value)`: each line trimmed of spaces and tabs, runs of
/// spaces and tabs collapsed to one space, obs-fold continuation lines
/// joined to the first with `,` (blank continuation lines are dropped).
fn write_value<W: Write + ?Sized>(out: &mut Chunked<'_, W>, value: &str) -> Result<(), Sigv4Error> {
    for (i, line) in value.split('\n').enumerate() {
        let line = line
            .strip_suffix('\r')
            .unwrap_or(line)
            .trim_matches([' ', '\t']);
        if i > 0 {
            if line.is_empty() {
                continue;
            }
            out.byte(b',')?;
        }
        let mut in_space = false;
        for b in line.bytes() {
            if b == b' ' || b == b'\t' {
                if !in_space {
                    out.byte(b' ')?;
                }
                in_space = true;
            } else {
                out.byte(b)?;
                in_space = false;
            }
        }
    }
    Ok(())
}

impl<'a> CanonicalHeaders<'a> {
    /// Picks the headers to sign from `headers` and puts them in canonical
    /// order.
    ///
    /// With [`SignedHeaders::AllPresent`] every header is signed. With
    /// [`SignedHeaders::Only`] the headers whose names (any case) are in the
    /// list are signed, and each listed name must be present.
    ///
    /// # Errors
    /// [`Sigv4Error::InvalidHeaderName`] for a signed name that is not an HTTP
    /// token, [`Sigv4Error::HeaderValueLineBreak`] for a signed value with a
    /// line break that is not an obs-fold, [`Sigv4Error::SignedHeaderMissing`]
    /// for a listed name the request lacks, and
    /// [`Sigv4Error::TooManyHeaders`] for more than [`MAX_SIGNED_HEADERS`]
    /// signed header fields.
    pub fn new(headers: &'a [Header<'a>], signed: &SignedHeaders<'_>) -> Result<Self, Sigv4Error> {
        if let SignedHeaders::Only(names) = signed
            && let Some(bad) = names.iter().find(|n| !is_token(n))
        {
            return Err(Sigv4Error::InvalidHeaderName(NameSnippet::new(bad)));
        }
        let mut order = heapless::Vec::new();
        for (i, header) in headers.iter().enumerate() {
            let wanted = match signed {
                SignedHeaders::AllPresent => true,
                SignedHeaders::Only(names) => {
                    names.iter().any(|n| n.eq_ignore_ascii_case(header.name))
                }
            };
            if !wanted {
                continue;
            }
            if !is_token(header.name) {
                return Err(Sigv4Error::InvalidHeaderName(NameSnippet::new(header.name)));
            }
            check_value(header)?;
            order.push(i).map_err(|_| Sigv4Error::TooManyHeaders)?;
        }
        if let SignedHeaders::Only(names) = signed {
            let present = |n: &&str| headers.iter().any(|h| h.name.eq_ignore_ascii_case(n));
            if let Some(missing) = names.iter().find(|n| !present(n)) {
                return Err(Sigv4Error::SignedHeaderMissing(NameSnippet::new(missing)));
            }
        }
        let name_of = |i: usize| headers.get(i).map_or("", |h| h.name);
        // Unstable sort on (name, index) is a stable sort on name: repeated
        // headers keep their order of appearance, as SigV4 requires.
        order.sort_unstable_by(|&a, &b| cmp_names(name_of(a), name_of(b)).then(a.cmp(&b)));
        Ok(CanonicalHeaders { headers, order })
    }

    /// The signed headers grouped by name, in canonical order.
    fn groups(&self) -> impl Iterator<Item = &[usize]> + '_ {
        let name_of = |i: usize| self.headers.get(i).map_or("", |h| h.name);
        self.order
            .chunk_by(move |&a, &b| name_of(a).eq_ignore_ascii_case(name_of(b)))
    }

    fn group_name(&self, group: &[usize]) -> &'a str {
        group
            .first()
            .and_then(|&i| self.headers.get(i))
            .map_or("", |h| h.name)
    }

    /// How many distinct header names are signed.
    pub fn len(&self) -> usize {
        self.groups().count()
    }

    /// Whether no header is signed (never the case for a valid SigV4 request,
    /// which signs at least `host`).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Writes the `SignedHeaders` list, `a;b;c` (lowercase, sorted, unique).
    ///
    /// # Errors
    /// [`Sigv4Error::Write`] if `out` fails.
    pub fn write_signed_headers<W: Write + ?Sized>(&self, out: &mut W) -> Result<(), Sigv4Error> {
        let mut out = Chunked::new(out);
        self.write_names(&mut out)?;
        out.flush()
    }

    pub(crate) fn write_names<W: Write + ?Sized>(
        &self,
        out: &mut Chunked<'_, W>,
    ) -> Result<(), Sigv4Error> {
        for (n, group) in self.groups().enumerate() {
            if n > 0 {
                out.byte(b';')?;
            }
            self.group_name(group)
                .bytes()
                .try_for_each(|b| out.byte(b.to_ascii_lowercase()))?;
        }
        Ok(())
    }

    /// Writes the canonical header lines, each ending in `\n`.
    pub(crate) fn write_lines<W: Write + ?Sized>(
        &self,
        out: &mut Chunked<'_, W>,
    ) -> Result<(), Sigv4Error> {
        for group in self.groups() {
            self.group_name(group)
                .bytes()
                .try_for_each(|b| out.byte(b.to_ascii_lowercase()))?;
            out.byte(b':')?;
            for (n, header) in group
                .iter()
                .filter_map(|&i| self.headers.get(i))
                .enumerate()
            {
                if n > 0 {
                    out.byte(b',')?;
                }
                write_value(out, header.value)?;
            }
            out.byte(b'\n')?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::sigv4::encode::TestBuf;

    fn h<'a>(name: &'a str, value: &'a str) -> Header<'a> {
        Header { name, value }
    }

    fn lines(headers: &[Header<'_>], signed: &SignedHeaders<'_>) -> Result<TestBuf, Sigv4Error> {
        let canonical = CanonicalHeaders::new(headers, signed)?;
        let mut out = TestBuf::new();
        let mut c = Chunked::new(&mut out);
        canonical.write_lines(&mut c)?;
        c.byte(b'|')?;
        canonical.write_names(&mut c)?;
        c.flush()?;
        Ok(out)
    }

    #[test]
    fn lowercased_sorted_joined_in_order_of_appearance() {
        let headers = [
            h("X-Amz-Date", "20150830T123600Z"),
            h("My-Header1", "value4"),
            h("Host", "example.amazonaws.com"),
            h("my-header1", "value1"),
            h("MY-HEADER1", "value3"),
        ];
        let out = lines(&headers, &SignedHeaders::AllPresent).unwrap();
        assert_eq!(
            out.as_str(),
            "host:example.amazonaws.com\nmy-header1:value4,value1,value3\n\
             x-amz-date:20150830T123600Z\n|host;my-header1;x-amz-date"
        );
    }

    #[test]
    fn values_trimmed_collapsed_and_folded() {
        let headers = [
            h("A", "  \t value1 \t "),
            h("B", "\"a   b \t  c\""),
            h("C", "value1\n  value2\r\n\t   value3  "),
            h("D", ""),
            h("E", "x\n   \n y"),
        ];
        let out = lines(&headers, &SignedHeaders::AllPresent).unwrap();
        assert_eq!(
            out.as_str(),
            "a:value1\nb:\"a b c\"\nc:value1,value2,value3\nd:\ne:x,y\n|a;b;c;d;e"
        );
    }

    #[test]
    fn line_breaks_that_are_not_folds_are_rejected() {
        for value in ["a\nb", "a\r\nb", "a\rb", "a\r", "a\n", "a\r\n", "\nb"] {
            let headers = [h("x-amz-date", value)];
            assert_eq!(
                CanonicalHeaders::new(&headers, &SignedHeaders::AllPresent).err(),
                Some(Sigv4Error::HeaderValueLineBreak(NameSnippet::new(
                    "x-amz-date"
                ))),
                "{value:?}"
            );
        }
    }

    #[test]
    fn only_signs_listed_headers_and_requires_them() {
        let headers = [
            h("Host", "h"),
            h("User-Agent", "ua\r\nInjected: yes"),
            h("Content-Type", "application/json"),
            h("X-Amz-Date", "20261204T153823Z"),
        ];
        let only = SignedHeaders::Only(&["x-amz-date", "HOST", "content-type", "host"]);
        let out = lines(&headers, &only).unwrap();
        assert_eq!(
            out.as_str(),
            "content-type:application/json\nhost:h\nx-amz-date:20261204T153823Z\n\
             |content-type;host;x-amz-date"
        );
        let missing = SignedHeaders::Only(&["host", "x-amz-x509"]);
        assert_eq!(
            CanonicalHeaders::new(&headers, &missing).err(),
            Some(Sigv4Error::SignedHeaderMissing(NameSnippet::new(
                "x-amz-x509"
            )))
        );
        let bad = SignedHeaders::Only(&["host", "bad name"]);
        assert_eq!(
            CanonicalHeaders::new(&headers, &bad).err(),
            Some(Sigv4Error::InvalidHeaderName(NameSnippet::new("bad name")))
        );
        // The unsigned User-Agent's line break is not our business here...
        assert!(CanonicalHeaders::new(&headers, &SignedHeaders::Only(&["host"])).is_ok());
        // ...but it is when every header is signed.
        assert!(matches!(
            CanonicalHeaders::new(&headers, &SignedHeaders::AllPresent),
            Err(Sigv4Error::HeaderValueLineBreak(_))
        ));
    }

    #[test]
    fn invalid_names_and_header_limit() {
        let headers = [h("", "x")];
        assert!(matches!(
            CanonicalHeaders::new(&headers, &SignedHeaders::AllPresent),
            Err(Sigv4Error::InvalidHeaderName(_))
        ));
        let headers = [h("Bad:Name", "x")];
        assert!(matches!(
            CanonicalHeaders::new(&headers, &SignedHeaders::AllPresent),
            Err(Sigv4Error::InvalidHeaderName(_))
        ));
        let many = [h("x-a", "1"); MAX_SIGNED_HEADERS + 1];
        let ok =
            CanonicalHeaders::new(&many[..MAX_SIGNED_HEADERS], &SignedHeaders::AllPresent).unwrap();
        assert_eq!(ok.len(), 1);
        assert!(!ok.is_empty());
        assert_eq!(
            CanonicalHeaders::new(&many, &SignedHeaders::AllPresent).err(),
            Some(Sigv4Error::TooManyHeaders)
        );
        // Headers that are not signed do not count.
        let mut more = [h("x-other", "1"); MAX_SIGNED_HEADERS + 8];
        if let Some(first) = more.first_mut() {
            *first = h("host", "h");
        }
        assert!(CanonicalHeaders::new(&more, &SignedHeaders::Only(&["host"])).is_ok());
    }
}
