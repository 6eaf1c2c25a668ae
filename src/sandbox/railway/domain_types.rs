//! The domain part of the schema: service and custom domain objects, the custom domain's
//! `status` (DNS records, ownership verification, certificate) with Railway's long enum
//! names, and the domain inputs.

use async_graphql::{Enum, InputObject, SimpleObject};

use super::schema::GqlDateTime;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServiceDomainSyncStatus {
    Active,
    Creating,
    Deleted,
    Deleting,
    Unspecified,
    Updating,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CustomDomainSyncStatus {
    Active,
    Creating,
    Deleted,
    Deleting,
    Unspecified,
    Updating,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordType")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordType {
    DnsRecordTypeA,
    DnsRecordTypeCname,
    DnsRecordTypeNs,
    DnsRecordTypeTxt,
    DnsRecordTypeUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordStatus")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordStatus {
    DnsRecordStatusPropagated,
    DnsRecordStatusRequiresUpdate,
    DnsRecordStatusUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordPurpose")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordPurpose {
    DnsRecordPurposeTrafficRoute,
    DnsRecordPurposeAcmeDns01Challenge,
    DnsRecordPurposeUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum CertificateStatus {
    CertificateStatusTypeIssueFailed,
    CertificateStatusTypeIssuing,
    CertificateStatusTypeUnspecified,
    CertificateStatusTypeValid,
    CertificateStatusTypeValidatingOwnership,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum CertificateStatusDetailed {
    CertificateStatusTypeDetailedCleaningUp,
    CertificateStatusTypeDetailedComplete,
    CertificateStatusTypeDetailedCreatingOrder,
    CertificateStatusTypeDetailedDownloadingCertificate,
    CertificateStatusTypeDetailedFailed,
    CertificateStatusTypeDetailedFetchingAuthorizations,
    CertificateStatusTypeDetailedFinalizingOrder,
    CertificateStatusTypeDetailedGeneratingKeys,
    CertificateStatusTypeDetailedInitiatingChallenges,
    CertificateStatusTypeDetailedPollingAuthorizations,
    CertificateStatusTypeDetailedPresentingChallenges,
    CertificateStatusTypeDetailedUnspecified,
    Unrecognized,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceDomain {
    pub(super) id: String,
    pub(super) domain: String,
    pub(super) suffix: Option<String>,
    pub(super) target_port: Option<i32>,
    pub(super) sync_status: ServiceDomainSyncStatus,
    pub(super) environment_id: String,
    pub(super) service_id: String,
    pub(super) project_id: Option<String>,
    pub(super) created_at: GqlDateTime,
    pub(super) updated_at: GqlDateTime,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DNSRecords")]
pub struct DnsRecords {
    pub(super) record_type: DnsRecordType,
    pub(super) hostlabel: String,
    pub(super) fqdn: String,
    pub(super) zone: String,
    pub(super) required_value: String,
    pub(super) current_value: String,
    pub(super) status: DnsRecordStatus,
    pub(super) purpose: DnsRecordPurpose,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CertificatePublicData {
    pub(super) domain_names: Vec<String>,
    pub(super) expires_at: GqlDateTime,
    pub(super) issued_at: GqlDateTime,
    pub(super) fingerprint_sha256: String,
    pub(super) key_type: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CustomDomainStatus {
    pub(super) dns_records: Vec<DnsRecords>,
    pub(super) verified: bool,
    pub(super) verification_dns_host: Option<String>,
    pub(super) verification_token: Option<String>,
    pub(super) certificate_status: CertificateStatus,
    pub(super) certificate_status_detailed: Option<CertificateStatusDetailed>,
    pub(super) certificate_error_message: Option<String>,
    pub(super) certificate_retryable: Option<bool>,
    pub(super) certificates: Option<Vec<CertificatePublicData>>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CustomDomain {
    pub(super) id: String,
    pub(super) domain: String,
    pub(super) target_port: Option<i32>,
    pub(super) sync_status: CustomDomainSyncStatus,
    pub(super) status: CustomDomainStatus,
    pub(super) environment_id: String,
    pub(super) service_id: String,
    pub(super) project_id: Option<String>,
    pub(super) created_at: GqlDateTime,
    pub(super) updated_at: GqlDateTime,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AllDomains {
    pub(super) service_domains: Vec<ServiceDomain>,
    pub(super) custom_domains: Vec<CustomDomain>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DomainAvailable {
    pub(super) available: bool,
    pub(super) message: String,
}

#[derive(InputObject)]
pub struct ServiceDomainCreateInput {
    pub(super) environment_id: String,
    pub(super) service_id: String,
    pub(super) target_port: Option<i32>,
}

#[derive(InputObject)]
pub struct CustomDomainCreateInput {
    pub(super) project_id: String,
    pub(super) environment_id: String,
    pub(super) service_id: String,
    pub(super) domain: String,
    pub(super) target_port: Option<i32>,
}
