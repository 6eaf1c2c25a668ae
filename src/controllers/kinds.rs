//! [`Managed`] for the five kinds: the same few accessors, written once by a macro.

use super::Managed;
use crate::api::{
    BackupPolicy, Certificate, CommonStatus, Deployment, Domain, Environment,
    backup_policy::BackupPolicyStatus, certificate::CertificateStatus,
    deployment::DeploymentStatus, domain::DomainStatus, environment::EnvironmentStatus,
};

macro_rules! managed {
    ($kind:ty, $status:ty, $name:literal) => {
        impl Managed for $kind {
            type Status = $status;
            const KIND: &'static str = $name;
            fn status(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn common(status: &Self::Status) -> &CommonStatus {
                &status.common
            }
            fn common_mut(status: &mut Self::Status) -> &mut CommonStatus {
                &mut status.common
            }
            fn suspended(&self) -> bool {
                self.spec.suspend
            }
            fn with_status(&self, status: Self::Status) -> Self {
                Self {
                    status: Some(status),
                    ..self.clone()
                }
            }
        }
    };
}

managed!(Environment, EnvironmentStatus, "Environment");
managed!(Deployment, DeploymentStatus, "Deployment");
managed!(Domain, DomainStatus, "Domain");
managed!(Certificate, CertificateStatus, "Certificate");
managed!(BackupPolicy, BackupPolicyStatus, "BackupPolicy");
