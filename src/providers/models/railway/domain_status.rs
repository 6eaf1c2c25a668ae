//! Railway's `CustomDomainStatus`: the DNS records Railway requires, ownership verification
//! and certificate state, with the schema's long enum names.

use chrono::{DateTime, Utc};
use serde::Deserialize;

string_enum! {
    /// `DNSRecordType`.
    pub enum DnsRecordType {
        A = "DNS_RECORD_TYPE_A",
        Cname = "DNS_RECORD_TYPE_CNAME",
        Ns = "DNS_RECORD_TYPE_NS",
        Txt = "DNS_RECORD_TYPE_TXT",
        Unspecified = "DNS_RECORD_TYPE_UNSPECIFIED",
        Unrecognized = "UNRECOGNIZED",
    }
}

string_enum! {
    /// `DNSRecordStatus`.
    pub enum DnsRecordStatus {
        Propagated = "DNS_RECORD_STATUS_PROPAGATED",
        RequiresUpdate = "DNS_RECORD_STATUS_REQUIRES_UPDATE",
        Unspecified = "DNS_RECORD_STATUS_UNSPECIFIED",
        Unrecognized = "UNRECOGNIZED",
    }
}

string_enum! {
    /// `DNSRecordPurpose`.
    pub enum DnsRecordPurpose {
        TrafficRoute = "DNS_RECORD_PURPOSE_TRAFFIC_ROUTE",
        AcmeDns01Challenge = "DNS_RECORD_PURPOSE_ACME_DNS01_CHALLENGE",
        Unspecified = "DNS_RECORD_PURPOSE_UNSPECIFIED",
        Unrecognized = "UNRECOGNIZED",
    }
}

string_enum! {
    /// `CertificateStatusType`.
    pub enum CertificateStatus {
        IssueFailed = "CERTIFICATE_STATUS_TYPE_ISSUE_FAILED",
        Issuing = "CERTIFICATE_STATUS_TYPE_ISSUING",
        Unspecified = "CERTIFICATE_STATUS_TYPE_UNSPECIFIED",
        Valid = "CERTIFICATE_STATUS_TYPE_VALID",
        ValidatingOwnership = "CERTIFICATE_STATUS_TYPE_VALIDATING_OWNERSHIP",
        Unrecognized = "UNRECOGNIZED",
    }
}

string_enum! {
    /// `CertificateStatusDetailed`.
    pub enum CertificateStatusDetailed {
        CleaningUp = "CERTIFICATE_STATUS_DETAILED_CLEANING_UP",
        Complete = "CERTIFICATE_STATUS_DETAILED_COMPLETE",
        CreatingOrder = "CERTIFICATE_STATUS_DETAILED_CREATING_ORDER",
        DownloadingCertificate = "CERTIFICATE_STATUS_DETAILED_DOWNLOADING_CERTIFICATE",
        Failed = "CERTIFICATE_STATUS_DETAILED_FAILED",
        FetchingAuthorizations = "CERTIFICATE_STATUS_DETAILED_FETCHING_AUTHORIZATIONS",
        FinalizingOrder = "CERTIFICATE_STATUS_DETAILED_FINALIZING_ORDER",
        GeneratingKeys = "CERTIFICATE_STATUS_DETAILED_GENERATING_KEYS",
        InitiatingChallenges = "CERTIFICATE_STATUS_DETAILED_INITIATING_CHALLENGES",
        PollingAuthorizations = "CERTIFICATE_STATUS_DETAILED_POLLING_AUTHORIZATIONS",
        PresentingChallenges = "CERTIFICATE_STATUS_DETAILED_PRESENTING_CHALLENGES",
        Unspecified = "CERTIFICATE_STATUS_DETAILED_UNSPECIFIED",
    }
}

string_enum! {
    /// `CertificateErrorType`.
    pub enum CertificateErrorType {
        AuthorizationFailed = "CERTIFICATE_ERROR_TYPE_AUTHORIZATION_FAILED",
        DnsValidation = "CERTIFICATE_ERROR_TYPE_DNS_VALIDATION",
        Internal = "CERTIFICATE_ERROR_TYPE_INTERNAL",
        KeyGeneration = "CERTIFICATE_ERROR_TYPE_KEY_GENERATION",
        OrderCreation = "CERTIFICATE_ERROR_TYPE_ORDER_CREATION",
        RateLimit = "CERTIFICATE_ERROR_TYPE_RATE_LIMIT",
        Unspecified = "CERTIFICATE_ERROR_TYPE_UNSPECIFIED",
    }
}

string_enum! {
    /// `DetectedCdnProvider`.
    pub enum CdnProvider {
        Cloudflare = "DETECTED_CDN_PROVIDER_CLOUDFLARE",
        Unspecified = "DETECTED_CDN_PROVIDER_UNSPECIFIED",
    }
}

/// One DNS record Railway requires (`DNSRecords`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecords {
    /// The record type.
    pub record_type: DnsRecordType,
    /// The label within `zone`; empty for the apex (`@`).
    #[serde(default)]
    pub hostlabel: String,
    /// The full name.
    #[serde(default)]
    pub fqdn: String,
    /// The zone.
    #[serde(default)]
    pub zone: String,
    /// The value Railway wants.
    #[serde(default)]
    pub required_value: String,
    /// The value Railway sees now.
    #[serde(default)]
    pub current_value: String,
    /// Whether it is in place.
    pub status: DnsRecordStatus,
    /// What the record is for.
    #[serde(default)]
    pub purpose: Option<DnsRecordPurpose>,
}

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// The names it covers.
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// Expiry.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Issue time.
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// SHA-256 fingerprint.
    #[serde(default)]
    pub fingerprint_sha256: Option<String>,
    /// Key type (value set unverified, kept as text).
    #[serde(default)]
    pub key_type: Option<String>,
}

/// `CustomDomainStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainStatus {
    /// The records Railway requires.
    #[serde(default)]
    pub dns_records: Vec<DnsRecords>,
    /// Ownership verified (false when not selected).
    #[serde(default)]
    pub verified: bool,
    /// Where the ownership TXT record goes.
    #[serde(default)]
    pub verification_dns_host: Option<String>,
    /// The ownership TXT record's value.
    #[serde(default)]
    pub verification_token: Option<String>,
    /// Certificate state.
    #[serde(default)]
    pub certificate_status: Option<CertificateStatus>,
    /// Certificate state, in detail.
    #[serde(default)]
    pub certificate_status_detailed: Option<CertificateStatusDetailed>,
    /// Why issuance failed.
    #[serde(default)]
    pub certificate_error_type: Option<CertificateErrorType>,
    /// The failure message.
    #[serde(default)]
    pub certificate_error_message: Option<String>,
    /// Whether `customDomainIssueCertificate` may help.
    #[serde(default)]
    pub certificate_retryable: Option<bool>,
    /// Issued certificates.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// A CDN detected in front.
    #[serde(default)]
    pub cdn_provider: Option<CdnProvider>,
}

impl CustomDomainStatus {
    /// Every record propagated and ownership verified.
    #[must_use]
    pub fn dns_ready(&self) -> bool {
        self.verified
            && self
                .dns_records
                .iter()
                .all(|r| r.status == DnsRecordStatus::Propagated)
    }
}
