//! Reading certificates: the facts the plan and the status need from a PEM chain or a DER
//! certificate (validity, serial, issuer, names, key kind), and whether a key belongs to it.

use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, pem::PemObject};
use x509_parser::{
    extensions::GeneralName,
    prelude::{FromDer, X509Certificate},
    public_key::PublicKey,
};

/// What berth reads from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Lower-case hex, no separators.
    pub serial: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Subject alternative names of type DNS, lower case.
    pub dns_names: Vec<String>,
    /// `ECDSA-256`, `ECDSA-384`, `RSA-2048`, …
    pub key: String,
    /// The DER bytes of the subject public key info (to match a private key).
    pub spki: Vec<u8>,
}

/// Why a certificate could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("failed to parse the certificate")]
    Der,
    #[error("the certificate's validity is outside the representable range")]
    Time,
}

/// The first (leaf) certificate of a PEM chain.
pub fn leaf_of_pem(pem: &str) -> Result<CertInfo, ParseError> {
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or(ParseError::NoCertificate)?;
    parse_der(der.as_ref())
}

/// Every certificate of a PEM bundle, as DER.
#[must_use]
pub fn chain_der(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect()
}

/// One DER certificate.
pub fn parse_der(der: &[u8]) -> Result<CertInfo, ParseError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| ParseError::Der)?;
    let time = |t: x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or(ParseError::Time)
    };
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let spki = cert.public_key();
    let key = match spki.parsed() {
        Ok(PublicKey::EC(ec)) => format!("ECDSA-{}", ec.key_size()),
        Ok(PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
        Ok(other) => format!("{other:?}").chars().take(16).collect(),
        Err(_) => "unknown".into(),
    };
    Ok(CertInfo {
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        serial: hex(cert.raw_serial()),
        issuer: cert.issuer().to_string(),
        dns_names,
        key,
        spki: spki.raw.to_vec(),
    })
}

/// Whether the PEM private key `key_pem` is the key of `cert`.
#[must_use]
pub fn key_matches(cert: &CertInfo, key_pem: &str) -> bool {
    use rcgen::PublicKeyData as _;
    rcgen::KeyPair::from_pem(key_pem).is_ok_and(|k| k.subject_public_key_info() == cert.spki)
}

fn hex(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // DER serials carry a leading zero byte when the top bit is set; it is not part of the number.
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: what status shows (names, serial, issuer, validity, key kind) is read from the
    // certificate itself, and a key from another pair is told apart.
    #[test]
    fn reads_a_generated_certificate() {
        let mut params =
            rcgen::CertificateParams::new(vec!["api.example.test".into(), "*.example.test".into()])
                .unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x00, 0xab, 0x01]));
        params.not_before = rcgen::date_time_ymd(2030, 1, 2);
        params.not_after = rcgen::date_time_ymd(2030, 4, 2);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = leaf_of_pem(&cert.pem()).unwrap();
        assert_eq!(info.dns_names, ["api.example.test", "*.example.test"]);
        assert_eq!(info.serial, "ab01");
        assert_eq!(info.key, "ECDSA-256");
        assert_eq!(info.not_after.to_rfc3339(), "2030-04-02T00:00:00+00:00");
        assert!(key_matches(&info, &key.serialize_pem()));
        let other = rcgen::KeyPair::generate().unwrap();
        assert!(!key_matches(&info, &other.serialize_pem()));
        assert!(matches!(
            leaf_of_pem("junk"),
            Err(ParseError::NoCertificate)
        ));
    }
}
