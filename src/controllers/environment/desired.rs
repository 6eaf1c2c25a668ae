//! From the spec and the resolved values, the variables each target should hold (pure).

use std::collections::BTreeMap;

use crate::{
    api::environment::{EnvironmentSpec, Variable, VercelTarget},
    providers::{
        http::Secret,
        variables::{DesiredVariable, VarKind, VarTarget},
    },
};

/// Where variables are written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A service in the environment's Railway project environment.
    Railway { service: String },
    /// A Vercel project of the environment's team.
    Vercel { project: String },
}

impl Target {
    /// The label used in status (`railway:<service>`, `vercel:<project>`).
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Railway { service } => format!("railway:{service}"),
            Self::Vercel { project } => format!("vercel:{project}"),
        }
    }

    /// The inverse of [`Target::label`].
    #[must_use]
    pub fn parse(label: &str) -> Option<Self> {
        match label.split_once(':')? {
            ("railway", service) if !service.is_empty() => Some(Self::Railway {
                service: service.into(),
            }),
            ("vercel", project) if !project.is_empty() => Some(Self::Vercel {
                project: project.into(),
            }),
            _ => None,
        }
    }

    /// The service or project inside the provider.
    #[must_use]
    pub fn service(&self) -> &str {
        match self {
            Self::Railway { service } => service,
            Self::Vercel { project } => project,
        }
    }
}

/// Whether a variable's value must be written write-only: it came from a Secret, or it was
/// marked sensitive.
#[must_use]
pub fn is_sensitive(v: &Variable) -> bool {
    v.sensitive
        || v.value_from
            .as_ref()
            .is_some_and(|f| f.secret_key_ref.is_some())
}

/// The declared variables grouped by target. `values` holds each variable's resolved value
/// by name (a variable without one is skipped: the caller reports it as missing).
#[must_use]
pub fn by_target(
    spec: &EnvironmentSpec,
    values: &BTreeMap<String, Secret>,
    marker: &str,
) -> BTreeMap<Target, Vec<DesiredVariable>> {
    let mut out: BTreeMap<Target, Vec<DesiredVariable>> = BTreeMap::new();
    for v in &spec.variables {
        let Some(value) = values.get(&v.name) else {
            continue;
        };
        let kind = if is_sensitive(v) {
            VarKind::Sensitive
        } else {
            VarKind::Encrypted
        };
        for t in &v.targets {
            let (target, targets, kind) = match (&t.railway_service, &t.vercel_project) {
                // Railway keeps every value encrypted and readable by the token: it has no
                // write-only kind, so asking for one would look like drift on every pass.
                (Some(service), _) => (
                    Target::Railway {
                        service: service.clone(),
                    },
                    Vec::new(),
                    VarKind::Encrypted,
                ),
                (None, Some(project)) => (
                    Target::Vercel {
                        project: project.clone(),
                    },
                    vercel_targets(t.vercel_targets.as_deref()),
                    kind,
                ),
                // Admission (CEL) rejects a target with neither.
                (None, None) => continue,
            };
            out.entry(target).or_default().push(DesiredVariable {
                name: v.name.clone(),
                value: value.clone(),
                kind,
                targets,
                comment: Some(marker.to_owned()),
            });
        }
    }
    out
}

/// Sorted, deduplicated; production only when none are given.
fn vercel_targets(given: Option<&[VercelTarget]>) -> Vec<VarTarget> {
    let mut targets: Vec<VarTarget> = given
        .unwrap_or(&[VercelTarget::Production])
        .iter()
        .map(|t| match t {
            VercelTarget::Production => VarTarget::Production,
            VercelTarget::Preview => VarTarget::Preview,
            VercelTarget::Development => VarTarget::Development,
        })
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: one declaration fans out to each target; Vercel defaults to production;
    // Secret-sourced values are written write-only.
    #[test]
    fn variables_fan_out_to_their_targets() {
        let spec: EnvironmentSpec = crate::yaml::from_str(
            "providers: {}\nvariables:\n- name: URL\n  value: https://api\n  targets:\n  - vercelProject: web\n    vercelTargets: [preview, production, preview]\n  - vercelProject: admin\n- name: DB\n  valueFrom: {secretKeyRef: {name: db, key: uri}}\n  targets:\n  - railwayService: svc\n",
        )
        .unwrap();
        let values = BTreeMap::from([
            ("URL".to_string(), Secret::new("https://api")),
            ("DB".to_string(), Secret::new("postgres://x")),
        ]);
        let got = by_target(&spec, &values, "berth");
        let web = &got[&Target::Vercel {
            project: "web".into(),
        }];
        assert_eq!(web[0].targets, [VarTarget::Production, VarTarget::Preview]);
        assert_eq!(web[0].kind, VarKind::Encrypted);
        let admin = &got[&Target::Vercel {
            project: "admin".into(),
        }];
        assert_eq!(admin[0].targets, [VarTarget::Production]);
        let svc = &got[&Target::Railway {
            service: "svc".into(),
        }];
        assert_eq!(svc[0].name, "DB");
        assert_eq!(
            svc[0].kind,
            VarKind::Encrypted,
            "Railway has no write-only values"
        );
        assert!(svc[0].targets.is_empty());
        assert_eq!(
            Target::Railway {
                service: "svc".into()
            }
            .label(),
            "railway:svc"
        );
    }
}
