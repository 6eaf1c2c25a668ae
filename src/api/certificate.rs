//! `Certificate`: a TLS certificate for some DNS names, issued through ACME (DNS-01 in the
//! environment's zone) or issued by the hosting platform and only watched.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    CommonStatus, DURATION_MAX_LENGTH, DURATION_PATTERN, DeletionPolicy, LocalRef, duration_rule,
};

/// A certificate berth issues and renews (ACME) or watches (platform).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Certificate",
    namespaced,
    status = "CertificateStatus",
    shortname = "bcert",
    category = "berth",
    doc = "A Certificate is issued by an ACME server through DNS-01 challenges in the environment's zone, or by the hosting platform, and its live endpoint is checked.",
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".spec.secretName"),
    // Future times: kubectl prints a `date` column as an age, `<invalid>` when ahead.
    printcolumn(name = "Expires", type_ = "string", json_path = ".status.notAfter"),
    printcolumn(name = "Renewal", type_ = "string", json_path = ".status.renewalTime", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = kube::core::Rule::new("!has(self.spec.issuer.acme) || has(self.spec.secretName)").message("spec.secretName is required with an acme issuer").field_path(".spec.secretName"),
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// The Environment whose DNS zone (for DNS-01) and platform bindings are used.
    pub environment_ref: LocalRef,
    /// Names on the certificate; the first is the subject. `*.` wildcards are allowed with `acme`.
    #[schemars(
        length(min = 1, max = 100),
        inner(
            pattern(
                r"^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
            ),
            length(max = 253)
        )
    )]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub dns_names: Vec<String>,
    /// The Domain this certificate serves (for dependency tracking and the endpoint check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_ref: Option<LocalRef>,
    /// Who issues it: exactly one of `acme` or `platform`.
    pub issuer: Issuer,
    /// Name of the `kubernetes.io/tls` Secret berth writes (required with `acme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"), length(max = 253))]
    pub secret_name: Option<String>,
    /// Renew this long before expiry (Go duration). Default: a third of the certificate's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    #[x_kube(validation = duration_rule("duration(self) >= duration('5m') && duration(self) < duration('2160h')").message("spec.renewBefore must be at least 5m and shorter than 90 days (2160h), the longest ACME lifetime in use"))]
    pub renew_before: Option<String>,
    /// Private key parameters.
    #[serde(default)]
    pub private_key: PrivateKey,
    /// Check the certificate served by the live endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_check: Option<EndpointCheck>,
    /// Stop issuing and renewing.
    #[serde(default)]
    pub suspend: bool,
    /// `Delete` (default) removes the Secret berth wrote when this object is deleted; `Orphan` keeps it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Issuer choice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.acme) != has(self.platform)").message("spec.issuer: set exactly one of acme or platform"))]
pub struct Issuer {
    /// Issue through an ACME server with DNS-01 challenges in the environment's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeIssuer>,
    /// The hosting platform issues the certificate; berth reads and reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformIssuer>,
}

/// ACME issuer settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmeIssuer {
    /// Directory URL of the ACME server, e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    #[schemars(extend("format" = "uri"), length(min = 1, max = 2048))]
    #[x_kube(validation = kube::core::Rule::new("self.startsWith('https://')").message("spec.issuer.acme.server must be an https:// URL"))]
    pub server: String,
    /// Contact e-mail for the ACME account.
    #[schemars(pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), length(max = 254))]
    pub email: String,
    /// Secret holding the account key (created when missing). Default: `<certificate>-acme-account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub account_key_secret_name: Option<String>,
    /// Secret key holding a PEM bundle to trust for the ACME server's TLS (private or test CAs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_secret_ref: Option<super::common::SecretKeyRef>,
}

/// Platform-issued certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformIssuer {
    /// Which platform issues it.
    pub provider: Platform,
}

/// A hosting platform that issues certificates for attached domains.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum Platform {
    /// Vercel.
    Vercel,
    /// Railway.
    Railway,
}

/// Private key parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.algorithm == 'RSA' ? self.size in [2048, 3072, 4096] : self.size in [256, 384]").message("spec.privateKey.size: RSA takes 2048, 3072 or 4096; ECDSA takes 256 or 384").field_path(".size"))]
pub struct PrivateKey {
    /// Key algorithm.
    #[serde(default)]
    pub algorithm: KeyAlgorithm,
    /// Key size in bits (ECDSA: 256 or 384; RSA: 2048, 3072, 4096).
    #[serde(default = "default_key_size")]
    pub size: i32,
}

impl Default for PrivateKey {
    fn default() -> Self {
        Self {
            algorithm: KeyAlgorithm::default(),
            size: default_key_size(),
        }
    }
}

fn default_key_size() -> i32 {
    256
}

/// Private key algorithm.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum KeyAlgorithm {
    /// ECDSA (P-256 or P-384).
    #[default]
    ECDSA,
    /// RSA.
    RSA,
}

/// Where to check the served certificate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointCheck {
    /// Host to connect to (default: the first DNS name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub host: Option<String>,
    /// TLS port (default 443).
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Warn when the served certificate expires within this window (Go duration, default `336h`).
    #[serde(default = "default_warning")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub warning_window: String,
}

fn default_port() -> i32 {
    443
}
fn default_warning() -> String {
    "336h".into()
}

/// What the live endpoint served at the last check.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServedCertificate {
    /// Issuer distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Serial number (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Expiry (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Whether it is the certificate berth expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
    /// When checked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_time: Option<String>,
    /// Why the last check could not read a certificate (connection refused, handshake failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Observed state of a Certificate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// Generation, conditions and the handled reconcile request.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Start of validity of the current certificate (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// End of validity (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// When berth will renew it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_time: Option<String>,
    /// Serial number (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Issuer distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The ACME order in progress, recorded before waiting on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_order_url: Option<String>,
    /// The live endpoint's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<ServedCertificate>,
    /// The last failed ACME order, kept until an order succeeds; the next one waits out a
    /// backoff that grows with `attempts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<IssuanceFailure>,
}

/// A failed issuance and how often it failed in a row.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuanceFailure {
    /// Failed orders in a row.
    pub attempts: i32,
    /// When the last one failed (RFC 3339).
    pub time: String,
    /// What the ACME server said (its problem document) or what went wrong before it.
    pub message: String,
}
