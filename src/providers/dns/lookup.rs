//! Real DNS queries against one nameserver (`ip:port`), for propagation checks: does the
//! authoritative server answer what we wrote? Caching is off, so every call asks again.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use hickory_resolver::{
    Resolver,
    config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts},
    net::{NetError, runtime::TokioRuntimeProvider},
    proto::rr::{RData, RecordType},
};

/// Errors of a look-up. "No such name" and "no records" are not errors: they are empty
/// answers.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("failed to build a resolver for {server}")]
    Resolver {
        server: SocketAddr,
        #[source]
        source: Box<NetError>,
    },
    #[error("failed to look up {name} {rtype} at {server}")]
    Query {
        name: String,
        rtype: &'static str,
        server: SocketAddr,
        #[source]
        source: Box<NetError>,
    },
}

/// A resolver that asks exactly one server, over UDP and then TCP.
#[derive(Clone)]
pub struct Lookup {
    server: SocketAddr,
    resolver: Resolver<TokioRuntimeProvider>,
}

impl Lookup {
    /// Asks `server` directly, without recursion, caching or the hosts file.
    pub fn new(server: SocketAddr) -> Result<Self, LookupError> {
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        for conn in &mut ns.connections {
            conn.port = server.port();
        }
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        opts.use_hosts_file = ResolveHosts::Never;
        opts.recursion_desired = false;
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 1;
        opts.edns0 = true;
        let resolver = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .build()
        .map_err(|source| LookupError::Resolver {
            server,
            source: Box::new(source),
        })?;
        Ok(Self { server, resolver })
    }

    /// IPv4 addresses of `name`.
    pub async fn a(&self, name: &str) -> Result<Vec<Ipv4Addr>, LookupError> {
        Ok(self
            .query(name, RecordType::A)
            .await?
            .into_iter()
            .filter_map(|r| match r {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect())
    }

    /// IPv6 addresses of `name`.
    pub async fn aaaa(&self, name: &str) -> Result<Vec<Ipv6Addr>, LookupError> {
        Ok(self
            .query(name, RecordType::AAAA)
            .await?
            .into_iter()
            .filter_map(|r| match r {
                RData::AAAA(a) => Some(a.0),
                _ => None,
            })
            .collect())
    }

    /// The CNAME target of `name` (with its trailing dot).
    pub async fn cname(&self, name: &str) -> Result<Vec<String>, LookupError> {
        Ok(self
            .query(name, RecordType::CNAME)
            .await?
            .into_iter()
            .filter_map(|r| match r {
                RData::CNAME(c) => Some(c.to_string()),
                _ => None,
            })
            .collect())
    }

    /// TXT values of `name`, each the concatenation of its character-strings.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        Ok(self
            .query(name, RecordType::TXT)
            .await?
            .into_iter()
            .filter_map(|r| match r {
                RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The address asked.
    #[must_use]
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    async fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, LookupError> {
        // Absolute, so no search domains are tried.
        let absolute = super::fqdn(name);
        match self.resolver.lookup(absolute.as_str(), rtype).await {
            Ok(answer) => Ok(answer
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(source) => Err(LookupError::Query {
                name: absolute,
                rtype: rtype_name(rtype),
                server: self.server,
                source: Box::new(source),
            }),
        }
    }
}

fn rtype_name(rtype: RecordType) -> &'static str {
    match rtype {
        RecordType::A => "A",
        RecordType::AAAA => "AAAA",
        RecordType::CNAME => "CNAME",
        RecordType::TXT => "TXT",
        _ => "other",
    }
}
