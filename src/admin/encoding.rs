//! Gzip for clients that ask for it. Large answers (a full status page is about 260 KiB) are
//! bound by the bytes copied to the client, not by computing them, so a cached answer keeps
//! its gzip form next to the plain one: compressed once, on the first request that accepts
//! it, and served as is to every later one until the answer is replaced.

use std::{io::Write as _, sync::OnceLock};

use axum::{
    http::{
        HeaderMap, HeaderValue,
        header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY},
    },
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use flate2::{Compression, write::GzEncoder};

/// Answers smaller than this are always sent plain: gzip would save next to nothing.
pub const MIN_GZIP_BYTES: usize = 1024;

/// The encoding a request accepts for its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Gzip,
}

impl Encoding {
    /// Gzip when `Accept-Encoding` gives `gzip` (or `x-gzip`, or else `*`) a non-zero
    /// q-value; plain otherwise, including when the header is absent.
    #[must_use]
    pub fn accepted(headers: &HeaderMap) -> Self {
        let (mut gzip, mut any) = (None, None);
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(text) = value.to_str() else { continue };
            for item in text.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or_default().trim();
                let quality = parts
                    .find_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("q").then(|| v.trim())
                    })
                    .map_or(Some(1.0), |q| q.parse::<f32>().ok());
                // A malformed q-value makes the entry unusable rather than a yes.
                let acceptable = quality.is_some_and(|q| q > 0.0);
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(acceptable);
                } else if coding == "*" {
                    any = Some(acceptable);
                }
            }
        }
        if gzip.or(any).unwrap_or(false) {
            Self::Gzip
        } else {
            Self::Plain
        }
    }
}

/// A JSON answer, with its gzip form made on first demand.
pub struct JsonBody {
    plain: Bytes,
    /// `None` inside when compression failed: the plain form is served instead.
    gzip: OnceLock<Option<Bytes>>,
}

impl JsonBody {
    #[must_use]
    pub fn new(plain: Bytes) -> Self {
        Self {
            plain,
            gzip: OnceLock::new(),
        }
    }

    /// The answer in `encoding` when it is worth it, else plain; always `Vary:
    /// Accept-Encoding` since which form is sent depends on it.
    #[must_use]
    pub fn response(&self, encoding: Encoding) -> Response {
        let gzip = match encoding {
            Encoding::Gzip if self.plain.len() >= MIN_GZIP_BYTES => self.gzip().cloned(),
            _ => None,
        };
        let vary = (VARY, HeaderValue::from_static("accept-encoding"));
        let json = (CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match gzip {
            Some(body) => (
                [
                    json,
                    vary,
                    (CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                ],
                body,
            )
                .into_response(),
            None => ([json, vary], self.plain.clone()).into_response(),
        }
    }

    fn gzip(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                // The fast level: a full page compresses about 10x in a millisecond or two,
                // and it is done once per answer, on a request's thread.
                let mut encoder = GzEncoder::new(
                    Vec::with_capacity(self.plain.len() / 8),
                    Compression::fast(),
                );
                encoder
                    .write_all(&self.plain)
                    .and_then(|()| encoder.finish())
                    .map(Bytes::from)
                    .inspect_err(|e| tracing::error!(error = %e, "gzip of an answer failed"))
                    .ok()
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn accepted(values: &[&str]) -> Encoding {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        Encoding::accepted(&headers)
    }

    // Protects: q-values are honoured (q=0 refuses), identity or no header means plain, and
    // `*` stands for gzip only when gzip is not named.
    #[test]
    fn accept_encoding_is_parsed_with_q_values() {
        use Encoding::{Gzip, Plain};
        for (values, want) in [
            (&[][..], Plain),
            (&["identity"][..], Plain),
            (&["gzip"][..], Gzip),
            (&["GZip;Q=0.5"][..], Gzip),
            (&["br, gzip;q=1.0, deflate"][..], Gzip),
            (&["deflate", "x-gzip"][..], Gzip),
            (&["gzip;q=0"][..], Plain),
            (&["gzip; q=0.000, identity"][..], Plain),
            (&["gzip;q=oops"][..], Plain),
            (&["*"][..], Gzip),
            (&["*;q=0"][..], Plain),
            (&["gzip;q=0, *"][..], Plain),
            (&["*;q=0, gzip"][..], Gzip),
            (&["br"][..], Plain),
        ] {
            assert_eq!(accepted(values), want, "{values:?}");
        }
    }

    async fn parts(resp: Response) -> (HeaderMap, Bytes) {
        let headers = resp.headers().clone();
        (
            headers,
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap(),
        )
    }

    // Protects: a large answer is gzipped once and decompresses to exactly the plain one;
    // small answers and plain requests get the plain bytes.
    #[tokio::test]
    async fn large_answers_are_gzipped_once_small_ones_stay_plain() {
        let plain = Bytes::from(format!("[{}0]", "12345,".repeat(1000)));
        let body = JsonBody::new(plain.clone());
        let (h, gz) = parts(body.response(Encoding::Gzip)).await;
        assert_eq!(h[CONTENT_ENCODING], "gzip");
        assert_eq!(h[VARY], "accept-encoding");
        assert!(gz.len() < plain.len() / 10);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        let (_, again) = parts(body.response(Encoding::Gzip)).await;
        assert_eq!(again.as_ptr(), gz.as_ptr(), "compressed once, shared");

        let (h, got) = parts(body.response(Encoding::Plain)).await;
        assert!(h.get(CONTENT_ENCODING).is_none());
        assert_eq!(got, plain);

        let small = JsonBody::new(Bytes::from_static(b"[1,2,3]"));
        let (h, got) = parts(small.response(Encoding::Gzip)).await;
        assert!(h.get(CONTENT_ENCODING).is_none());
        assert_eq!(&got[..], b"[1,2,3]");
    }
}
