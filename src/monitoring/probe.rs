//! One HTTP probe of a [`Target`], on a connection of its own so each phase can be timed:
//! DNS, TCP connect, the TLS handshake (timed alone), then `GET` over HTTP/1.1 until the
//! answer's head. Redirects are not followed (a redirect can be the expected status) and the
//! body is not read. The certificate is checked against the platform's roots, as a browser
//! would.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use http_body_util::Empty;
use hyper::{Request, body::Bytes, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;

use super::{ErrorKind, Sample, Target};

/// How uptime probes introduce themselves.
const USER_AGENT: &str = concat!("berth-probe/", env!("CARGO_PKG_VERSION"));

/// Builds and runs probes; cheap to clone.
#[derive(Clone)]
pub struct Prober {
    tls: TlsConnector,
    user_agent: &'static str,
}

/// The TLS set-up failed (no usable root store).
#[derive(Debug, thiserror::Error)]
#[error("failed to set up TLS for probes")]
pub struct SetupError(#[source] rustls::Error);

impl Prober {
    /// Trusts the platform's roots.
    pub fn new() -> Result<Self, SetupError> {
        Self::with_roots(Vec::new())
    }

    /// Trusts the platform's roots and `extra` (a private CA; tests use their own).
    pub fn with_roots(extra: Vec<CertificateDer<'static>>) -> Result<Self, SetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(SetupError)?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(SetupError)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            user_agent: USER_AGENT,
        })
    }

    /// The same probes under another name, so a service's access log tells a release check
    /// from an uptime probe.
    #[must_use]
    pub fn introduced_as(self, user_agent: &'static str) -> Self {
        Self { user_agent, ..self }
    }

    /// Probes `target` once and judges the answer.
    pub async fn probe(&self, target: &Target) -> Sample {
        let at = Utc::now();
        let started = Instant::now();
        let mut tls = None;
        let answer = tokio::time::timeout(target.timeout, self.exchange(&target.url, &mut tls))
            .await
            .unwrap_or(Err(ErrorKind::Timeout));
        let took = started.elapsed();
        let (ok, error_kind) = judge(&answer, took, target);
        Sample {
            target: target.name.clone(),
            at,
            status_code: answer.ok().map(i32::from),
            latency_ms: ms(took),
            tls_ms: tls.map(ms),
            error_kind,
            ok,
        }
    }

    /// Connects, handshakes (timing TLS into `tls`) and sends the request; the status.
    async fn exchange(&self, url: &str, tls: &mut Option<Duration>) -> Result<u16, ErrorKind> {
        let url = url::Url::parse(url).map_err(|_| ErrorKind::InvalidUrl)?;
        let secure = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(ErrorKind::InvalidUrl),
        };
        let host = url.host_str().ok_or(ErrorKind::InvalidUrl)?.to_owned();
        let port = url.port_or_known_default().ok_or(ErrorKind::InvalidUrl)?;
        let tcp = connect(&host, port).await?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        if !secure {
            return request(tcp, &authority, &path, self.user_agent).await;
        }
        // Bracketed IPv6 literals are not server names; rustls wants the bare address.
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|_| ErrorKind::InvalidUrl)?;
        let started = Instant::now();
        let stream = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|_| ErrorKind::Tls)?;
        *tls = Some(started.elapsed());
        request(stream, &authority, &path, self.user_agent).await
    }
}

/// The first address of `host` that accepts a connection.
async fn connect(host: &str, port: u16) -> Result<TcpStream, ErrorKind> {
    let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|_| ErrorKind::Dns)?;
    let mut any = false;
    for addr in addrs {
        any = true;
        if let Ok(stream) = TcpStream::connect(addr).await {
            let _ = stream.set_nodelay(true);
            return Ok(stream);
        }
    }
    Err(if any {
        ErrorKind::Connect
    } else {
        ErrorKind::Dns
    })
}

/// One `GET` over `io`; the answer's status.
async fn request<S>(io: S, authority: &str, path: &str, user_agent: &str) -> Result<u16, ErrorKind>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|_| ErrorKind::Http)?;
    // The connection task ends with the request (Connection: close) or when dropped.
    let driver = tokio::spawn(conn);
    let req = Request::get(path)
        .header(header::HOST, authority)
        .header(header::USER_AGENT, user_agent)
        .header(header::ACCEPT, "*/*")
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|_| ErrorKind::InvalidUrl)?;
    let answer = sender.send_request(req).await;
    driver.abort();
    answer
        .map(|r| r.status().as_u16())
        .map_err(|_| ErrorKind::Http)
}

/// Up or down, and why down (pure).
fn judge(
    answer: &Result<u16, ErrorKind>,
    took: Duration,
    target: &Target,
) -> (bool, Option<ErrorKind>) {
    match answer {
        Err(kind) => (false, Some(*kind)),
        Ok(status) if !target.expect.accepts(*status) => (false, Some(ErrorKind::Status)),
        Ok(_) if took > target.latency_budget => (false, Some(ErrorKind::Latency)),
        Ok(_) => (true, None),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use axum::{Router, http::StatusCode, routing::get};
    use tokio_rustls::TlsAcceptor;

    use super::*;
    use crate::monitoring::Expect;

    fn target(url: &str) -> Target {
        Target {
            name: "ns/Deployment/web".into(),
            url: url.into(),
            expect: Expect::Status(200),
            timeout: Duration::from_millis(500),
            latency_budget: Duration::from_millis(200),
            interval: Duration::from_secs(1),
        }
    }

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    // Protects: plain HTTP answers are judged on status and latency, failures say why, and a
    // hung server costs the time-out, not more.
    #[tokio::test]
    async fn plain_http_probes_judge_status_latency_and_errors() {
        let base = serve(
            Router::new()
                .route("/ok", get(|| async { "ok" }))
                .route("/down", get(|| async { StatusCode::BAD_GATEWAY }))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        "late"
                    }),
                )
                .route(
                    "/hang",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        "never"
                    }),
                ),
        )
        .await;
        let p = Prober::new().unwrap();

        let ok = p.probe(&target(&format!("{base}/ok?x=1"))).await;
        assert!(ok.ok, "{ok:?}");
        assert_eq!(ok.status_code, Some(200));
        assert_eq!((ok.tls_ms, ok.error_kind), (None, None));
        assert!(ok.latency_ms < 200.0);

        let down = p.probe(&target(&format!("{base}/down"))).await;
        assert_eq!(
            (down.ok, down.status_code, down.error_kind),
            (false, Some(502), Some(ErrorKind::Status))
        );

        let slow = p.probe(&target(&format!("{base}/slow"))).await;
        assert_eq!(
            (slow.ok, slow.status_code, slow.error_kind),
            (false, Some(200), Some(ErrorKind::Latency))
        );
        assert!(slow.latency_ms >= 300.0, "{slow:?}");

        let started = Instant::now();
        let hung = p.probe(&target(&format!("{base}/hang"))).await;
        assert_eq!(
            (hung.ok, hung.status_code, hung.error_kind),
            (false, None, Some(ErrorKind::Timeout))
        );
        assert!(started.elapsed() < Duration::from_secs(2));

        let refused = p.probe(&target("http://127.0.0.1:1/")).await;
        assert_eq!(refused.error_kind, Some(ErrorKind::Connect));
        let nowhere = p.probe(&target("http://no-such-host.invalid/")).await;
        assert_eq!(nowhere.error_kind, Some(ErrorKind::Dns));
        let bad = p.probe(&target("ftp://example.com/")).await;
        assert_eq!(bad.error_kind, Some(ErrorKind::InvalidUrl));
    }

    /// A TLS server on loopback for `localhost`, with its own CA; returns (base URL, CA).
    async fn tls_server() -> (String, CertificateDer<'static>) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            Empty::<Bytes>::new(),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        (format!("https://localhost:{port}"), ca.der().clone())
    }

    // Protects: an HTTPS probe times the TLS handshake on its own (inside the total), and a
    // certificate the platform does not trust is a `tls` failure, not an answer.
    #[tokio::test]
    async fn https_probes_time_the_handshake_and_check_the_certificate() {
        let (base, ca) = tls_server().await;
        let trusting = Prober::with_roots(vec![ca]).unwrap();
        let s = trusting.probe(&target(&format!("{base}/health"))).await;
        assert!(s.ok, "{s:?}");
        let tls = s.tls_ms.expect("handshake timed");
        assert!(tls > 0.0 && tls <= s.latency_ms, "{s:?}");

        let s = Prober::new()
            .unwrap()
            .probe(&target(&format!("{base}/health")))
            .await;
        assert_eq!(
            (s.ok, s.error_kind, s.tls_ms),
            (false, Some(ErrorKind::Tls), None)
        );
    }
}
