//! The Certificate controller end to end on real components: a `berth controller` process,
//! a real PowerDNS serving the zone, and a real Pebble (ACME) validating DNS-01 through it.
//! Each test starts its own PowerDNS and Pebble (well under a second each) so that lifetimes,
//! DNS servers and failures can differ.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use berth::{
    devstack::{Pebble, PebbleConfig, PowerDns as Server},
    providers::{
        dns::{DnsRecords, RecordType, lookup::Lookup, powerdns::PowerDns},
        http::{HttpMetrics, Secret},
    },
};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::Api;
use rustls::{
    client::danger::ServerCertVerifier,
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use serde_json::Value;

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json};

/// PowerDNS serving a fresh zone, and Pebble asking `pebble_dns` (PowerDNS by default).
struct Acme {
    pdns: Server,
    pebble: Pebble,
    zone: String,
}

async fn acme_stack(validity_seconds: Option<u64>, pebble_dns: Option<SocketAddr>) -> Acme {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let pdns = Server::start().await.expect("pdns_server starts");
    let zone = format!("c{:06x}.test", rand::random::<u32>() & 0xff_ffff);
    dns_client(&pdns)
        .ensure_zone(&zone)
        .await
        .expect("zone created");
    let mut config = PebbleConfig::new(pebble_dns.unwrap_or(pdns.dns));
    config.validity_seconds = validity_seconds;
    let pebble = Pebble::start(config).await.expect("pebble starts");
    Acme { pdns, pebble, zone }
}

fn dns_client(pdns: &Server) -> PowerDns {
    PowerDns::connect(
        &pdns.api_url,
        Secret::new(pdns.api_key.clone()),
        Arc::new(HttpMetrics::default()),
    )
    .expect("client")
}

/// The Environment (zone on PowerDNS, propagation checked at PowerDNS's DNS port), the
/// Secrets it and the issuer need, and a Certificate with `extra` spec lines.
fn manifests(a: &Acme, names: &[&str], extra: &str) -> String {
    let names = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let ca = a.pebble.tls_ca_pem.replace('\n', "\n    ");
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: pdns-key}}
stringData: {{key: "{key}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: pebble-ca}}
stringData:
  ca.crt: |
    {ca}
---
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata: {{name: production}}
spec:
  providers:
    dns:
      zone: {zone}
      nameservers: ["{ns}"]
      powerdns: {{url: "{url}", apiKeySecretRef: {{name: pdns-key, key: key}}}}
---
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata: {{name: site}}
spec:
  environmentRef: {{name: production}}
  dnsNames: [{names}]
  secretName: site-tls
  issuer:
    acme:
      server: {server}
      email: ops@{zone}
      accountKeySecretName: acme-account
      caBundleSecretRef: {{name: pebble-ca, key: ca.crt}}
{extra}"#,
        key = a.pdns.api_key,
        zone = a.zone,
        ns = a.pdns.dns,
        url = a.pdns.api_url,
        server = a.pebble.directory,
    )
}

fn certificate(ns: &str) -> Option<Value> {
    get_json(ns, "certificate/site")
}

fn is_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == "True")
}

async fn tls_secret(ns: &str) -> Option<KubeSecret> {
    let api: Api<KubeSecret> = Api::namespaced(support::client().await, ns);
    api.get_opt("site-tls").await.expect("read Secret")
}

fn data(secret: &KubeSecret, key: &str) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

/// Verifies `chain_pem` (leaf first) for `name` against `root_pem` with webpki.
fn verify_chain(chain_pem: &str, root_pem: &str, name: &str) {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(root_pem.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    verifier
        .verify_server_cert(
            &chain[0],
            &chain[1..],
            &ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            UnixTime::now(),
        )
        .unwrap_or_else(|e| panic!("chain does not verify against Pebble's root: {e}"));
}

/// TXT sets at `_acme-challenge.*` names still in the zone.
async fn challenge_sets(a: &Acme) -> Vec<String> {
    dns_client(&a.pdns)
        .list_records(&a.zone)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.rtype == RecordType::Txt && s.name.starts_with("_acme-challenge."))
        .map(|s| s.name)
        .collect()
}

// Protects: an ACME certificate for an apex and its wildcard is issued end to end through
// DNS-01 in PowerDNS; the kubernetes.io/tls Secret holds a chain that verifies against
// Pebble's root for both names; status reports serial, validity and renewal time; the
// challenge records are gone afterwards (from the API and from real DNS answers); the
// account Secret has no owner, so it outlives the Certificate.
#[tokio::test]
async fn acme_certificate_is_issued_into_its_secret_and_challenges_are_removed() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cert_issue").await;
    let a = acme_stack(None, None).await;
    let controller = ControllerProcess::start(&ns, None);
    let apex = a.zone.clone();
    let wildcard = format!("*.{}", a.zone);
    apply(&ns, &manifests(&a, &[&apex, &wildcard], ""));

    let cert = eventually(Duration::from_secs(60), "Certificate Ready", || async {
        certificate(&ns).filter(|c| is_true(c, "Ready"))
    })
    .await;
    let secret = tls_secret(&ns).await.expect("TLS Secret written");
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let chain = data(&secret, "tls.crt");
    let root = a.pebble.issuing_root_pem().await.unwrap();
    verify_chain(&chain, &root, &apex);
    verify_chain(&chain, &root, &format!("www.{}", a.zone));
    assert!(data(&secret, "tls.key").contains("PRIVATE KEY"));

    let status = &cert["status"];
    let leaf = CertificateDer::from_pem_slice(chain.as_bytes()).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    let serial: String = parsed
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        status["serialNumber"].as_str().unwrap(),
        serial.trim_start_matches('0'),
        "{cert}"
    );
    assert!(
        status["issuer"].as_str().unwrap().contains("Pebble"),
        "{cert}"
    );
    assert!(status["notAfter"].is_string() && status["renewalTime"].is_string());
    assert!(status.get("pendingOrderUrl").is_none(), "{cert}");
    let issuing = condition(&cert, "Issuing").expect("Issuing condition");
    assert_eq!(issuing["status"], "False", "{cert}");

    assert!(
        challenge_sets(&a).await.is_empty(),
        "challenge records left: {:?}",
        challenge_sets(&a).await
    );
    let lookup = Lookup::new(a.pdns.dns).unwrap();
    assert!(
        lookup
            .txt(&format!("_acme-challenge.{}", a.zone))
            .await
            .unwrap()
            .is_empty()
    );

    let accounts: Api<KubeSecret> = Api::namespaced(client.clone(), &ns);
    let account = accounts.get("acme-account").await.unwrap();
    assert!(
        account
            .metadata
            .owner_references
            .is_none_or(|o| o.is_empty())
    );
    assert_eq!(
        account.metadata.labels.unwrap()["berth.dev/acme-account"],
        "true"
    );
    drop(controller);
}

// Protects: a short-lived certificate is renewed on its own at its renewal time (a third of
// its lifetime before expiry) and the Secret then holds the new one.
#[tokio::test]
async fn short_lived_certificate_is_renewed_automatically() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cert_renew").await;
    let a = acme_stack(Some(30), None).await;
    let controller = ControllerProcess::start(&ns, None);
    let name = format!("api.{}", a.zone);
    apply(&ns, &manifests(&a, &[&name], ""));

    let first = eventually(Duration::from_secs(60), "first certificate", || async {
        certificate(&ns).filter(|c| is_true(c, "Ready"))
    })
    .await;
    let first_serial = first["status"]["serialNumber"].as_str().unwrap().to_owned();
    let renewal =
        chrono::DateTime::parse_from_rfc3339(first["status"]["renewalTime"].as_str().unwrap())
            .unwrap();
    let not_after =
        chrono::DateTime::parse_from_rfc3339(first["status"]["notAfter"].as_str().unwrap())
            .unwrap();
    assert!(
        (not_after - renewal).num_seconds() <= 11 && (not_after - renewal).num_seconds() >= 9,
        "renews a third of 30 s before expiry: {renewal} vs {not_after}"
    );

    let renewed = eventually(Duration::from_secs(60), "renewed certificate", || async {
        certificate(&ns).filter(|c| {
            c["status"]["serialNumber"]
                .as_str()
                .is_some_and(|s| s != first_serial)
        })
    })
    .await;
    let secret = tls_secret(&ns).await.unwrap();
    let leaf = CertificateDer::from_pem_slice(data(&secret, "tls.crt").as_bytes()).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    let serial: String = parsed
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        serial.trim_start_matches('0'),
        renewed["status"]["serialNumber"].as_str().unwrap(),
        "the Secret holds the renewed certificate\n{}",
        controller.log()
    );
    assert!(challenge_sets(&a).await.is_empty());
}

// Protects: an order the CA cannot validate (its DNS server does not serve the zone) ends
// with the ACME problem document in the conditions, a failure count in status, no TLS
// Secret, and no challenge records left behind.
#[tokio::test]
async fn failing_order_reports_the_acme_problem() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cert_fail").await;
    // Nothing answers DNS at this port: the CA cannot see any challenge record.
    let nowhere = SocketAddr::from(([127, 0, 0, 1], berth::devstack::free_port().unwrap()));
    let a = acme_stack(None, Some(nowhere)).await;
    let controller = ControllerProcess::start(&ns, None);
    let name = format!("api.{}", a.zone);
    apply(&ns, &manifests(&a, &[&name], ""));

    let cert = eventually(Duration::from_secs(60), "order failure", || async {
        certificate(&ns)
            .filter(|c| condition(c, "Issuing").is_some_and(|i| i["reason"] == "OrderFailed"))
    })
    .await;
    let issuing = condition(&cert, "Issuing").unwrap();
    let message = issuing["message"].as_str().unwrap();
    assert!(
        message.contains("urn:ietf:params:acme:error:"),
        "the ACME problem type is in the condition: {message}\n{}",
        controller.log()
    );
    let ready = condition(&cert, "Ready").unwrap();
    assert_eq!(ready["status"], "False");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("urn:ietf:params:acme:error:"),
        "{ready}"
    );
    assert_eq!(condition(&cert, "Synced").unwrap()["reason"], "OrderFailed");
    assert!(cert["status"]["lastFailure"]["attempts"].as_i64().unwrap() >= 1);
    assert!(cert["status"].get("pendingOrderUrl").is_none(), "{cert}");
    assert!(tls_secret(&ns).await.is_none());
    assert!(challenge_sets(&a).await.is_empty());
}

/// A TLS server on 127.0.0.1 serving a self-signed certificate for `name` that expires in
/// `days`; returns its port and the certificate's serial (hex) and issuer.
async fn tls_server(name: &str, days: i64) -> (u16, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "berth test endpoint");
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0b, 0xe7, 0x71]));
    // Midnight (UTC) of the day, as rcgen takes it.
    let ymd = |t: chrono::DateTime<chrono::Utc>| {
        use chrono::Datelike;
        rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8)
    };
    params.not_before = ymd(chrono::Utc::now() - chrono::Duration::days(1));
    params.not_after = ymd(chrono::Utc::now() + chrono::Duration::days(days));
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().clone();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![der],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    (port, "be771".into())
}

// Protects: the endpoint check makes a real TLS handshake with the live endpoint, records
// the served certificate's issuer, serial and expiry, says it is not the one berth issued,
// and raises ExpiringSoon (with an Event) when it expires inside the warning window.
#[tokio::test]
async fn endpoint_check_records_the_served_certificate_and_the_mismatch() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cert_endpoint").await;
    let a = acme_stack(None, None).await;
    let name = format!("api.{}", a.zone);
    let (port, served_serial) = tls_server(&name, 3).await;
    let controller = ControllerProcess::start(&ns, None);
    apply(
        &ns,
        &manifests(
            &a,
            &[&name],
            &format!("  endpointCheck: {{host: 127.0.0.1, port: {port}, warningWindow: 336h}}\n"),
        ),
    );

    let cert = eventually(Duration::from_secs(60), "endpoint checked", || async {
        certificate(&ns)
            .filter(|c| is_true(c, "Ready") && c["status"]["served"]["serialNumber"].is_string())
    })
    .await;
    let served = &cert["status"]["served"];
    assert_eq!(served["serialNumber"], served_serial.as_str(), "{cert}");
    assert!(
        served["issuer"]
            .as_str()
            .unwrap()
            .contains("berth test endpoint"),
        "{served}"
    );
    assert_eq!(served["matches"], false, "{served}");
    assert!(served["notAfter"].is_string() && served["checkTime"].is_string());
    assert_ne!(cert["status"]["serialNumber"], served["serialNumber"]);
    let expiring = condition(&cert, "ExpiringSoon").expect("ExpiringSoon condition");
    assert_eq!(expiring["status"], "True", "{cert}\n{}", controller.log());
    assert!(expiring["message"].as_str().unwrap().contains("served"));

    let events = eventually(Duration::from_secs(20), "ExpiringSoon Event", || async {
        let (ok, out, _) = support::kubectl(
            &[
                "get",
                "events",
                "-n",
                &ns,
                "--field-selector",
                "reason=ExpiresSoon",
                "-o",
                "json",
            ],
            None,
        );
        let v: Value = serde_json::from_str(&out).ok()?;
        (ok && !v["items"].as_array()?.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(events["items"][0]["type"], "Warning");
}
