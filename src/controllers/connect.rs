//! From an Environment's provider bindings and the credentials in its Secrets, the typed
//! provider clients the reconcilers use. HTTP layers come from the process-wide
//! [`Pool`], so every reconcile of every object bound to one account shares that account's
//! request budget and circuit.

use super::{Error, deps::Dependencies, environment::Target};
use crate::{
    api::{deployment::ServiceRef, environment::Providers},
    providers::{
        self, Pool,
        custom_domains::CustomDomains,
        deploys::Deploys,
        dns::{DnsRecords, cloudflare::Cloudflare, powerdns::PowerDns},
        http::{Auth, HttpConfig, Secret},
        railway::{self, RailwayClient},
        supabase::Supabase,
        variables::Variables,
        vercel::{self, VercelClient},
    },
};

/// The credential of each bound provider, read from its Secret.
#[derive(Default)]
pub struct Credentials {
    railway: Option<Secret>,
    vercel: Option<Secret>,
    supabase: Option<Secret>,
    powerdns: Option<Secret>,
    cloudflare: Option<Secret>,
}

impl Credentials {
    /// Reads every binding's Secret key; missing ones are noted in `deps`.
    pub async fn resolve(p: &Providers, deps: &mut Dependencies) -> Result<Self, Error> {
        let dns = p.dns.as_ref();
        let mut c = Self::default();
        if let Some(b) = &p.railway {
            c.railway = deps.secret_key(&b.token_secret_ref).await?;
        }
        if let Some(b) = &p.vercel {
            c.vercel = deps.secret_key(&b.token_secret_ref).await?;
        }
        if let Some(b) = &p.supabase {
            c.supabase = deps.secret_key(&b.token_secret_ref).await?;
        }
        if let Some(b) = dns.and_then(|d| d.powerdns.as_ref()) {
            c.powerdns = deps.secret_key(&b.api_key_secret_ref).await?;
        }
        if let Some(b) = dns.and_then(|d| d.cloudflare.as_ref()) {
            c.cloudflare = deps.secret_key(&b.token_secret_ref).await?;
        }
        Ok(c)
    }
}

/// The clients of one Environment's bindings. A binding whose credential is missing has no
/// client (the caller is Blocked on the Secret before it gets here).
pub struct Connections {
    /// Where a passed access check is remembered.
    pool: Pool,
    railway: Option<(RailwayClient, Secret)>,
    vercel: Option<(VercelClient, Secret)>,
    supabase: Option<Supabase>,
    /// The PowerDNS client again, concretely, for its access check.
    powerdns: Option<PowerDns>,
    dns: Option<Box<dyn DnsRecords>>,
}

impl Connections {
    /// Clients for `p` with `credentials`, over `pool`'s shared HTTP layers.
    pub fn new(pool: &Pool, p: &Providers, credentials: &Credentials) -> providers::Result<Self> {
        let railway = match (&p.railway, &credentials.railway) {
            (Some(b), Some(token)) => {
                let endpoint = b.endpoint.as_deref().unwrap_or(railway::DEFAULT_ENDPOINT);
                let config = RailwayClient::config(
                    endpoint,
                    token.clone(),
                    format!("project {}", b.project_id),
                );
                let client =
                    RailwayClient::new(pool.http(config)?, &b.project_id, &b.environment_id);
                Some((client, token.clone()))
            }
            _ => None,
        };
        let vercel = match (&p.vercel, &credentials.vercel) {
            (Some(b), Some(token)) => {
                let endpoint = b.endpoint.as_deref().unwrap_or(vercel::DEFAULT_ENDPOINT);
                let config = VercelClient::config(endpoint, token.clone(), b.team_id.as_deref());
                let client = VercelClient::new(pool.http(config)?, b.team_id.clone());
                Some((client, token.clone()))
            }
            _ => None,
        };
        let supabase = match (&p.supabase, &credentials.supabase) {
            (Some(b), Some(token)) => {
                let config = Supabase::config(b.endpoint.as_deref(), token.clone(), &b.project_ref);
                Some(Supabase::new(pool.http(config)?, &b.project_ref))
            }
            _ => None,
        };
        let dns = p.dns.as_ref();
        let powerdns = match (dns.and_then(|d| d.powerdns.as_ref()), &credentials.powerdns) {
            (Some(b), Some(key)) => {
                let mut config = HttpConfig::new(
                    providers::dns::powerdns::PROVIDER,
                    &b.url,
                    Auth::ApiKey(key.clone()),
                );
                config.account = Some(format!("server {}", b.server_id));
                let nameservers = dns.map(|d| d.nameservers.clone()).unwrap_or_default();
                Some(PowerDns::new(pool.http(config)?, nameservers).with_server_id(&b.server_id))
            }
            _ => None,
        };
        let cloudflare = match (
            dns.and_then(|d| d.cloudflare.as_ref()),
            &credentials.cloudflare,
        ) {
            (Some(b), Some(token)) => {
                let config = Cloudflare::config(b.endpoint.as_deref(), token.clone(), None);
                Some(Box::new(Cloudflare::new(pool.http(config)?, None)) as Box<dyn DnsRecords>)
            }
            _ => None,
        };
        Ok(Self {
            pool: pool.clone(),
            railway,
            vercel,
            supabase,
            dns: powerdns
                .clone()
                .map(|p| Box::new(p) as Box<dyn DnsRecords>)
                .or(cloudflare),
            powerdns,
        })
    }

    /// The variables client for `target`, with the key its fingerprint is made with (the
    /// target's credential). `Err` says which binding is missing.
    pub fn variables(&self, target: &Target) -> Result<(&dyn Variables, &[u8]), String> {
        match target {
            Target::Railway { service } => self
                .railway
                .as_ref()
                .map(|(c, t)| (c as &dyn Variables, t.expose().as_bytes()))
                .ok_or_else(|| {
                    format!("spec.variables targets Railway service {service:?} but spec.providers.railway is not set")
                }),
            Target::Vercel { project } => self
                .vercel
                .as_ref()
                .map(|(c, t)| (c as &dyn Variables, t.expose().as_bytes()))
                .ok_or_else(|| {
                    format!("spec.variables targets Vercel project {project:?} but spec.providers.vercel is not set")
                }),
        }
    }

    /// The deploys client for a Deployment's service, and the service's id at its platform.
    /// `Err` says which binding is missing.
    pub fn deploys<'a>(
        &'a self,
        service: &'a ServiceRef,
    ) -> Result<(&'a dyn Deploys, &'a str), String> {
        self.platform(
            service,
            "spec.service",
            |r| r as &dyn Deploys,
            |v| v as &dyn Deploys,
        )
    }

    /// The custom-domains client for a Domain's platform target, and the service's id at its
    /// platform. `Err` says which binding is missing.
    pub fn custom_domains<'a>(
        &'a self,
        service: &'a ServiceRef,
    ) -> Result<(&'a dyn CustomDomains, &'a str), String> {
        self.platform(
            service,
            "spec.target",
            |r| r as &dyn CustomDomains,
            |v| v as &dyn CustomDomains,
        )
    }

    /// The bound client of whichever platform `service` names, seen as capability `T`.
    fn platform<'a, T: ?Sized>(
        &'a self,
        service: &'a ServiceRef,
        field: &str,
        railway: impl FnOnce(&'a RailwayClient) -> &'a T,
        vercel: impl FnOnce(&'a VercelClient) -> &'a T,
    ) -> Result<(&'a T, &'a str), String> {
        let missing = |platform: &str| {
            format!("{field}.{platform} needs the Environment's spec.providers.{platform}")
        };
        match (&service.railway, &service.vercel) {
            (Some(r), _) => self
                .railway
                .as_ref()
                .map(|(c, _)| (railway(c), r.service_id.as_str()))
                .ok_or_else(|| missing("railway")),
            (None, Some(v)) => self
                .vercel
                .as_ref()
                .map(|(c, _)| (vercel(c), v.project.as_str()))
                .ok_or_else(|| missing("vercel")),
            (None, None) => Err(format!("{field} names no platform")),
        }
    }

    /// One cheap read per bound provider, so rejected credentials or wrong ids show up even
    /// before anything is written. Stops at the first failure. A check passed recently for
    /// the same account and credential is not repeated (see [`Pool::verify_access`]): a
    /// revoked credential is then noticed by the next call, which any reconcile makes.
    pub async fn verify(&self) -> providers::Result<()> {
        let pool = &self.pool;
        if let Some((c, _)) = &self.railway {
            pool.verify_access(c.http(), c.environment_id(), c.check_access())
                .await?;
        }
        if let Some((c, _)) = &self.vercel {
            pool.verify_access(c.http(), "", c.check_access()).await?;
        }
        if let Some(c) = &self.supabase {
            pool.verify_access(c.http(), "", c.project()).await?;
        }
        if let Some(dns) = &self.powerdns {
            pool.verify_access(dns.http(), "", dns.check_access())
                .await?;
        }
        Ok(())
    }

    /// The custom-domains client of `platform`, when the Environment binds it.
    #[must_use]
    pub fn platform_domains(
        &self,
        platform: crate::api::certificate::Platform,
    ) -> Option<&dyn providers::custom_domains::CustomDomains> {
        use crate::api::certificate::Platform;
        match platform {
            Platform::Railway => self.railway.as_ref().map(|(c, _)| c as _),
            Platform::Vercel => self.vercel.as_ref().map(|(c, _)| c as _),
        }
    }

    /// The zone's DNS provider.
    #[must_use]
    pub fn dns(&self) -> Option<&dyn DnsRecords> {
        self.dns.as_deref()
    }

    /// The Supabase project.
    #[must_use]
    pub fn supabase(&self) -> Option<&Supabase> {
        self.supabase.as_ref()
    }
}
