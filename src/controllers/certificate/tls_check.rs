//! The endpoint check: a real TLS handshake with the live endpoint, recording the certificate
//! it serves. The handshake trusts nothing and rejects nothing about the chain — it observes
//! (an expired or foreign certificate is exactly what the check must report) — but it does
//! verify the handshake signature, so the server holds the key of what it showed.

use std::{sync::Arc, time::Duration};

use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use tokio::net::TcpStream;

use super::x509::{self, CertInfo};

/// Errors of one check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{sni:?} is not a valid TLS server name")]
    ServerName { sni: String },
    #[error("failed to connect to {address}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS handshake with {address} failed")]
    Handshake {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{address} did not answer within {seconds} s")]
    Timeout { address: String, seconds: u64 },
    #[error("{address} sent no certificate")]
    NoCertificate { address: String },
    #[error("failed to read the certificate {address} served")]
    Parse {
        address: String,
        #[source]
        source: x509::ParseError,
    },
}

/// Connects to `host:port`, asks for `sni`, and returns the leaf certificate served.
pub async fn served(
    host: &str,
    port: u16,
    sni: &str,
    timeout: Duration,
) -> Result<CertInfo, CheckError> {
    let address = format!("{host}:{port}");
    let name = ServerName::try_from(sni.to_owned()).map_err(|_| CheckError::ServerName {
        sni: sni.to_owned(),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| CheckError::Handshake {
            address: address.clone(),
            source: std::io::Error::other(e),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Observe(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|source| CheckError::Connect {
                address: address.clone(),
                source,
            })?;
        connector
            .connect(name, tcp)
            .await
            .map_err(|source| CheckError::Handshake {
                address: address.clone(),
                source,
            })
    };
    let tls = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| CheckError::Timeout {
            address: address.clone(),
            seconds: timeout.as_secs(),
        })??;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| CheckError::NoCertificate {
            address: address.clone(),
        })?;
    x509::parse_der(leaf.as_ref()).map_err(|source| CheckError::Parse { address, source })
}

/// Accepts any chain (the check reports, it does not judge) but checks handshake signatures.
#[derive(Debug)]
struct Observe(Arc<CryptoProvider>);

impl ServerCertVerifier for Observe {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
