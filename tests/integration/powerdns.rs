//! The PowerDNS client against a real PowerDNS Authoritative (gsqlite3) on loopback, checked
//! through real DNS answers. One server for the run; each test works in a zone of its own and
//! holds the server's `exclusive()` guard, because gsqlite3 fails concurrent writes with 500s.

use std::{net::Ipv4Addr, sync::Arc, sync::OnceLock};

use berth::{
    devstack::PowerDns as Server,
    providers::{
        Class, Error,
        dns::{
            Change, DnsRecords, Ensured, RecordSet, RecordType,
            lookup::Lookup,
            powerdns::{PROVIDER, PowerDns},
        },
        http::{HttpMetrics, Secret},
    },
};

static SERVER: OnceLock<Server> = OnceLock::new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        // Started on a thread of its own so it outlives each test's runtime.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(Server::start())
                .expect("pdns_server starts")
        })
        .join()
        .expect("powerdns thread")
    })
}

/// A client with metrics of its own, so call counts belong to one test.
fn client() -> (PowerDns, Arc<HttpMetrics>) {
    let s = server();
    let metrics = Arc::new(HttpMetrics::default());
    let client = PowerDns::connect(&s.api_url, Secret::new(s.api_key.clone()), metrics.clone())
        .expect("client");
    (client, metrics)
}

fn zone(test: &str) -> String {
    format!("{test}-{:08x}.test.", rand::random::<u32>())
}

fn a(name: &str, ttl: u32, ips: &[&str], comment: Option<&str>) -> RecordSet {
    RecordSet {
        name: name.into(),
        rtype: RecordType::A,
        ttl,
        records: ips.iter().map(|s| (*s).to_string()).collect(),
        comment: comment.map(Into::into),
    }
}

// A batch of 50 record sets (plus TXT and CNAME) goes out as ONE PATCH, and a real DNS query
// then sees each of them.
#[tokio::test]
async fn powerdns_batch_of_50_records_is_one_patch_and_answers_in_real_dns() {
    let _serial = server().exclusive().await;
    let (pdns, metrics) = client();
    let z = zone("batch");
    assert_eq!(pdns.ensure_zone(&z).await.unwrap(), Ensured::Created);
    assert_eq!(
        pdns.ensure_zone(&z).await.unwrap(),
        Ensured::Existed,
        "409 means it exists"
    );

    let mut changes: Vec<Change> = (0..50)
        .map(|i| {
            Change::Replace(a(
                &format!("h{i}.{z}"),
                60,
                &[&format!("192.0.2.{}", i + 1)],
                None,
            ))
        })
        .collect();
    changes.push(Change::Replace(RecordSet {
        name: format!("_acme-challenge.{z}"),
        rtype: RecordType::Txt,
        ttl: 60,
        records: vec!["token with \"quotes\" and spaces".into()],
        comment: None,
    }));
    changes.push(Change::Replace(RecordSet {
        name: format!("www.{z}"),
        rtype: RecordType::Cname,
        ttl: 60,
        records: vec![format!("h0.{z}").trim_end_matches('.').to_string()],
        comment: None,
    }));
    pdns.apply(&z, &changes).await.unwrap();
    assert_eq!(
        metrics.sent("powerdns", "patch rrsets"),
        1,
        "one PATCH for the batch"
    );
    assert_eq!(metrics.sent("powerdns", "create zone"), 2);

    let dns = Lookup::new(server().dns).unwrap();
    for i in [0, 17, 49] {
        let ips = dns.a(&format!("h{i}.{z}")).await.unwrap();
        assert_eq!(ips, vec![Ipv4Addr::new(192, 0, 2, i + 1)], "h{i}");
    }
    assert_eq!(
        dns.txt(&format!("_acme-challenge.{z}")).await.unwrap(),
        vec!["token with \"quotes\" and spaces".to_string()]
    );
    assert_eq!(
        dns.cname(&format!("www.{z}")).await.unwrap(),
        vec![format!("h0.{z}")]
    );

    let sets = pdns.list_records(&z).await.unwrap();
    assert_eq!(sets.iter().filter(|s| s.rtype == RecordType::A).count(), 50);
    let txt = sets.iter().find(|s| s.rtype == RecordType::Txt).unwrap();
    assert_eq!(
        txt.records,
        vec!["token with \"quotes\" and spaces".to_string()],
        "unquoted on read"
    );
    pdns.apply(&z, &[]).await.unwrap();
    assert_eq!(
        metrics.sent("powerdns", "patch rrsets"),
        1,
        "an empty batch makes no call"
    );
    assert!(pdns.ensure_zone_absent(&z).await.unwrap());
}

// REPLACE changes what DNS answers, DELETE removes it, and the ownership comment round-trips.
#[tokio::test]
async fn powerdns_replace_and_delete_change_real_answers_and_comments_round_trip() {
    let _serial = server().exclusive().await;
    let (pdns, metrics) = client();
    let z = zone("replace");
    pdns.ensure_zone(&z).await.unwrap();
    let dns = Lookup::new(server().dns).unwrap();
    let name = format!("api.{z}");

    let marker = "managed-by=berth; owner=default/api";
    pdns.apply(
        &z,
        &[Change::Replace(a(&name, 60, &["192.0.2.10"], Some(marker)))],
    )
    .await
    .unwrap();
    assert_eq!(
        dns.a(&name).await.unwrap(),
        vec![Ipv4Addr::new(192, 0, 2, 10)]
    );
    let listed = pdns.list_records(&z).await.unwrap();
    let set = listed.iter().find(|s| s.name == name).unwrap();
    assert_eq!(set.comment.as_deref(), Some(marker));
    assert_eq!(set.ttl, 60);

    pdns.apply(
        &z,
        &[Change::Replace(a(
            &name,
            120,
            &["192.0.2.11", "192.0.2.12"],
            None,
        ))],
    )
    .await
    .unwrap();
    let mut ips = dns.a(&name).await.unwrap();
    ips.sort();
    assert_eq!(
        ips,
        vec![Ipv4Addr::new(192, 0, 2, 11), Ipv4Addr::new(192, 0, 2, 12)]
    );
    let listed = pdns.list_records(&z).await.unwrap();
    let set = listed.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        set.comment.as_deref(),
        Some(marker),
        "no comment given: the old one stays"
    );

    let delete = Change::Delete {
        name: name.clone(),
        rtype: RecordType::A,
    };
    pdns.apply(&z, std::slice::from_ref(&delete)).await.unwrap();
    pdns.apply(&z, &[delete]).await.unwrap(); // deleting what is gone is fine
    assert!(
        dns.a(&name).await.unwrap().is_empty(),
        "NXDOMAIN is an empty answer"
    );
    assert!(
        pdns.list_records(&z)
            .await
            .unwrap()
            .iter()
            .all(|s| s.name != name)
    );
    assert_eq!(metrics.sent("powerdns", "patch rrsets"), 4);
    pdns.ensure_zone_absent(&z).await.unwrap();
}

// A wrong API key is a permanent, clearly worded error after exactly one call, and the key
// never shows in it.
#[tokio::test]
async fn powerdns_wrong_api_key_is_permanent_credentials_rejected_and_not_retried() {
    let _serial = server().exclusive().await;
    let s = server();
    let metrics = Arc::new(HttpMetrics::default());
    let wrong = "wrong-key-5f1e0c9a7b";
    let pdns = PowerDns::connect(&s.api_url, Secret::new(wrong), metrics.clone()).unwrap();
    let err = pdns.list_records("example.test.").await.unwrap_err();
    assert!(
        matches!(err, Error::CredentialsRejected { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Permanent);
    assert!(
        err.to_string().contains("credentials rejected by PowerDNS"),
        "{err}"
    );
    assert_eq!(
        metrics.sent("powerdns", "get zone"),
        1,
        "401 is never retried"
    );
    assert_eq!(metrics.retries("powerdns", "get zone"), 0);
    let shown = format!("{err} {err:?} {pdns:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert_eq!(pdns.provider(), PROVIDER);
}

// An unknown zone is a typed not-found, for reads and for writes.
#[tokio::test]
async fn powerdns_unknown_zone_is_not_found() {
    let _serial = server().exclusive().await;
    let (pdns, metrics) = client();
    let z = zone("missing");
    let err = pdns.list_records(&z).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.is_permanent());
    assert_eq!(metrics.sent("powerdns", "get zone"), 1);
    let err = pdns
        .apply(
            &z,
            &[Change::Replace(a(
                &format!("x.{z}"),
                60,
                &["192.0.2.1"],
                None,
            ))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(
        !pdns.ensure_zone_absent(&z).await.unwrap(),
        "absent is fine"
    );
}

// PowerDNS's 422 comes back as permanent invalid input carrying the server's own words.
#[tokio::test]
async fn powerdns_out_of_zone_name_is_invalid_with_the_servers_message() {
    let _serial = server().exclusive().await;
    let (pdns, _) = client();
    let z = zone("invalid");
    pdns.ensure_zone(&z).await.unwrap();
    let err = pdns
        .apply(
            &z,
            &[Change::Replace(a(
                "x.elsewhere.test.",
                60,
                &["192.0.2.1"],
                None,
            ))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { status: 422, .. }), "{err:?}");
    assert!(err.to_string().contains("out of zone"), "{err}");
    pdns.ensure_zone_absent(&z).await.unwrap();
}
