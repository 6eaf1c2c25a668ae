//! A throwaway Pebble (Let's Encrypt's test ACME server, Debian's `pebble`) on loopback, asking
//! a given DNS server for DNS-01 records. Its HTTPS listener gets a certificate from a CA made
//! here with rcgen (Debian ships none); [`Pebble::tls_ca_pem`] is what ACME clients must trust.
//! The issuing root is new on every start: read it from [`Pebble::issuing_root_pem`].
//!
//! Always started with `PEBBLE_VA_NOSLEEP=1` (no random 0–15 s sleep before validating) and
//! `PEBBLE_WFE_NONCEREJECT=0` (no deliberately rejected nonces).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use super::{Error, Supervised, controlplane::wait_until, free_port, scratch_dir, write};

/// How to start Pebble.
#[derive(Clone, Debug)]
pub struct PebbleConfig {
    /// The DNS server Pebble asks for challenge records.
    pub dns_server: SocketAddr,
    /// Certificate lifetime in seconds (Pebble's default: five years).
    pub validity_seconds: Option<u64>,
    /// Reuse valid authorizations (Pebble's default is 50 %); off shows every challenge.
    pub reuse_authorizations: bool,
}

impl PebbleConfig {
    /// Pebble asking `dns_server`, default lifetime, no authorization reuse.
    #[must_use]
    pub fn new(dns_server: SocketAddr) -> Self {
        Self {
            dns_server,
            validity_seconds: None,
            reuse_authorizations: false,
        }
    }
}

/// A running Pebble. Dropping it stops the server and removes its directory.
pub struct Pebble {
    /// The ACME directory URL, e.g. `https://127.0.0.1:14000/dir`.
    pub directory: String,
    /// The management API (roots, intermediates), e.g. `https://127.0.0.1:15000`.
    pub management: String,
    /// The CA (PEM) that signed Pebble's HTTPS certificate.
    pub tls_ca_pem: String,
    /// Its scratch directory (config, certificates, log).
    pub dir: PathBuf,
    server: Option<Supervised>,
}

impl Pebble {
    /// Makes Pebble's TLS certificate, writes its config and starts it.
    pub async fn start(config: PebbleConfig) -> Result<Self, Error> {
        let binary = pebble_binary()?;
        let dir = scratch_dir("berth-pebble-")?;
        let (ca_pem, cert_pem, key_pem) = listener_certificate()?;
        let cert = write(dir.join("cert.pem"), cert_pem)?;
        let key = write(dir.join("key.pem"), key_pem)?;
        let (port, management_port) = (free_port()?, free_port()?);
        let mut pebble = serde_json::json!({
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management_port}"),
            "certificate": cert,
            "privateKey": key,
            // Validation ports Pebble connects to (HTTP-01, TLS-ALPN-01); unused with DNS-01.
            "httpPort": free_port()?,
            "tlsPort": free_port()?,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        });
        if let Some(v) = config.validity_seconds {
            pebble["certificateValidityPeriod"] = v.into();
        }
        let config_path = write(
            dir.join("pebble-config.json"),
            serde_json::json!({ "pebble": pebble }).to_string(),
        )?;
        let args = vec![
            "-config".to_owned(),
            config_path.display().to_string(),
            "-dnsserver".to_owned(),
            config.dns_server.to_string(),
            "-strict=false".to_owned(),
        ];
        let env = [
            ("PEBBLE_VA_NOSLEEP", "1".to_owned()),
            ("PEBBLE_WFE_NONCEREJECT", "0".to_owned()),
            (
                "PEBBLE_AUTHZREUSE",
                if config.reuse_authorizations {
                    "50"
                } else {
                    "0"
                }
                .to_owned(),
            ),
        ];
        let log = dir.join("pebble.log");
        let server = Supervised::spawn("pebble", &binary, &args, &log, None, &env)?;
        let directory = format!("https://127.0.0.1:{port}/dir");
        let client = https_client(&ca_pem)?;
        wait_until("pebble", &log, || async {
            client
                .get(&directory)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await?;
        Ok(Self {
            directory,
            management: format!("https://127.0.0.1:{management_port}"),
            tls_ca_pem: ca_pem,
            dir,
            server: Some(server),
        })
    }

    /// The root that signs this run's certificates (PEM), from the management API.
    pub async fn issuing_root_pem(&self) -> Result<String, Error> {
        self.management_get("/roots/0").await
    }

    /// The intermediate that signs the leaves (PEM).
    pub async fn intermediate_pem(&self) -> Result<String, Error> {
        self.management_get("/intermediates/0").await
    }

    async fn management_get(&self, path: &str) -> Result<String, Error> {
        let url = format!("{}{path}", self.management);
        let failed = |detail: String| Error::Command {
            command: format!("GET {url}"),
            detail,
        };
        https_client(&self.tls_ca_pem)?
            .get(&url)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?
            .error_for_status()
            .map_err(|e| failed(e.to_string()))?
            .text()
            .await
            .map_err(|e| failed(e.to_string()))
    }

    /// The server's log so far (for failure messages).
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA and a certificate for `localhost`/`127.0.0.1` signed by it: (CA, cert, key) as PEM.
fn listener_certificate() -> Result<(String, String, String), Error> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "berth test Pebble TLS CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
        .signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), leaf.pem(), key.serialize_pem()))
}

fn https_client(ca_pem: &str) -> Result<reqwest::Client, Error> {
    let failed = |e: reqwest::Error| Error::Command {
        command: "build an HTTPS client for Pebble".into(),
        detail: e.to_string(),
    };
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(failed)?;
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .map_err(failed)
}

fn pebble_binary() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("BERTH_PEBBLE") {
        return Ok(p.into());
    }
    let p = Path::new("/usr/bin/pebble");
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(Error::Binary {
            what: "pebble",
            detail: "not found (scripts/prereqs installs Debian's pebble)".into(),
        })
    }
}
