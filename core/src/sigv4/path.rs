//! `CanonicalURI`: the request path, normalised and URI-encoded.

use embedded_io::Write;

use super::MAX_PATH_SEGMENTS;
use super::Sigv4Error;
use super::encode::{Chunked, put_encoded};

/// A request path after RFC 3986 dot-segment removal, with empty segments
/// (`//`) dropped, as borrowed raw segments.
///
/// `CanonicalURI = "/" + join("/", UriEncode(decode(segment))) [+ "/"]`
#[derive(Clone, Debug)]
pub(crate) struct CanonicalPath<'a> {
    segments: heapless::Vec<&'a str, MAX_PATH_SEGMENTS>,
    trailing_slash: bool,
}

impl<'a> CanonicalPath<'a> {
    /// Normalises `raw` (the path as on the request line, without the query).
    ///
    /// `.` segments and empty segments are dropped, `..` removes the segment
    /// before it (never climbing above the root). The result ends in `/` when
    /// the raw path did, or when it ended in a dot segment (RFC 3986 5.2.4).
    /// Only literal dots are dot segments: `%2E` is data.
    pub(crate) fn new(raw: &'a str) -> Result<Self, Sigv4Error> {
        let mut segments = heapless::Vec::new();
        let mut trailing_slash = false;
        for segment in raw.split('/') {
            trailing_slash = matches!(segment, "" | "." | "..");
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments
                    .push(s)
                    .map_err(|_| Sigv4Error::TooManyPathSegments)?,
            }
        }
        Ok(CanonicalPath {
            segments,
            trailing_slash,
        })
    }

    /// Writes the canonical URI (no line break).
    pub(crate) fn write<W: Write + ?Sized>(
        &self,
        out: &mut Chunked<'_, W>,
    ) -> Result<(), Sigv4Error> {
        out.byte(b'/')?;
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.byte(b'/')?;
            }
            put_encoded(out, segment, false)?;
        }
        if self.trailing_slash && !self.segments.is_empty() {
            out.byte(b'/')?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::sigv4::encode::TestBuf;

    fn canon(raw: &str) -> Result<heapless::String<512>, Sigv4Error> {
        let path = CanonicalPath::new(raw)?;
        let mut out = TestBuf::new();
        let mut chunked = Chunked::new(&mut out);
        path.write(&mut chunked)?;
        chunked.flush()?;
        let mut s = heapless::String::new();
        s.push_str(out.as_str()).map_err(|_| Sigv4Error::Write)?;
        Ok(s)
    }

    #[test]
    fn dot_segments_and_slashes() {
        for (raw, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/.", "/"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a//b", "/a/b"),
            ("/sessions", "/sessions"),
            ("sessions", "/sessions"),
            ("/a/.../b", "/a/.../b"),
        ] {
            assert_eq!(canon(raw).unwrap().as_str(), want, "path {raw:?}");
        }
    }

    #[test]
    fn segments_encoded_once() {
        for (raw, want) in [
            ("/example space/", "/example%20space/"),
            ("/example%20space/", "/example%20space/"),
            ("/a%2Fb", "/a%2Fb"),
            ("/a+b", "/a%2Bb"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/-._~AZaz09", "/-._~AZaz09"),
            ("/%2E%2E", "/.."),
            ("/50%", "/50%25"),
        ] {
            assert_eq!(canon(raw).unwrap().as_str(), want, "path {raw:?}");
        }
    }

    #[test]
    fn depth_limit() {
        let mut deep: heapless::String<512> = heapless::String::new();
        for _ in 0..MAX_PATH_SEGMENTS {
            deep.push_str("/a").unwrap();
        }
        assert!(CanonicalPath::new(&deep).is_ok());
        deep.push_str("/b/..").unwrap();
        assert_eq!(
            CanonicalPath::new(&deep).err(),
            Some(Sigv4Error::TooManyPathSegments)
        );
    }
}
