//! 1,000 Domains with explicit records converge in ONE PowerDNS zone, through the Domain
//! reconcile core (`controllers::domain::converge`, no API server), all at once as the
//! controller would after a restart. Then every Domain is reconciled again (a resync).
//!
//! Prints the wall time of each pass (goal: ≤ 60 s for the first), the PowerDNS API calls
//! by operation (goal: batched, far fewer than one per record set), a resync's writes (goal:
//! none), and the verdicts. Propagation is checked with real DNS queries to PowerDNS.
//!
//! `cargo bench --bench domains` (`BERTH_BENCH_DOMAINS` to vary the count).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    api::domain::{DomainStatus, RecordSpec, RecordType},
    controllers::{
        Verdict,
        domain::{Input, Zones, converge},
    },
    devstack::PowerDns as Server,
    providers::{
        dns::{DnsRecords, powerdns::PowerDns},
        http::{HttpMetrics, Secret},
    },
};
use futures::StreamExt;

const OPERATIONS: [&str; 3] = ["get zone", "patch rrsets", "create zone"];

struct Domain {
    owner: String,
    hostname: String,
    records: Vec<RecordSpec>,
    status: DomainStatus,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let count: usize = std::env::var("BERTH_BENCH_DOMAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let server = Server::start().await?;
    let metrics = Arc::new(HttpMetrics::default());
    let pdns = PowerDns::connect(
        &server.api_url,
        Secret::new(server.api_key.clone()),
        metrics.clone(),
    )?;
    let zone = "bench.test";
    pdns.ensure_zone(zone).await?;
    let nameservers = vec![server.dns.to_string()];

    let mut domains: Vec<Domain> = (0..count)
        .map(|i| Domain {
            owner: format!("bench/d{i}"),
            hostname: format!("d{i}.{zone}"),
            records: vec![
                RecordSpec {
                    record_type: RecordType::A,
                    values: vec![format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)],
                },
                RecordSpec {
                    record_type: RecordType::TXT,
                    values: vec![format!("site-{i}")],
                },
            ],
            status: DomainStatus::default(),
        })
        .collect();

    let zones = Zones::default();
    for pass in ["converge", "resync"] {
        let before: Vec<u64> = OPERATIONS
            .iter()
            .map(|o| metrics.sent("powerdns", o))
            .collect();
        let started = Instant::now();
        let outcomes: Vec<_> = futures::stream::iter(domains.iter().enumerate())
            .map(|(i, d)| {
                let input = Input {
                    owner: &d.owner,
                    hostname: &d.hostname,
                    zone,
                    zone_key: "bench",
                    ttl: 300,
                    records: Some(&d.records),
                    nameservers: &nameservers,
                    observe_only: false,
                };
                let (zones, pdns) = (&zones, &pdns as &dyn DnsRecords);
                let status = d.status.clone();
                async move { (i, converge(&input, pdns, None, zones, status).await) }
            })
            .buffer_unordered(count)
            .collect()
            .await;
        let elapsed = started.elapsed();
        let ready = outcomes
            .iter()
            .filter(|(_, o)| matches!(o.verdict, Verdict::Ready { .. }))
            .count();
        println!(
            "{pass}: {count} Domains ({} record sets) in {:.2} s; Ready: {ready}",
            2 * count,
            elapsed.as_secs_f64()
        );
        for (op, b) in OPERATIONS.iter().zip(before) {
            println!("  PowerDNS {op:<13} {}", metrics.sent("powerdns", op) - b);
        }
        if ready != count {
            let other = outcomes
                .iter()
                .find(|(_, o)| !matches!(o.verdict, Verdict::Ready { .. }));
            println!("  first not Ready: {:?}", other.map(|(_, o)| &o.verdict));
        }
        if pass == "converge" && elapsed > Duration::from_secs(60) {
            println!("  SLOWER than the 60 s goal");
        }
        // Statuses for the next pass (the stream finishes out of order).
        for (i, o) in outcomes {
            domains[i].status = o.status;
        }
    }
    Ok(())
}
