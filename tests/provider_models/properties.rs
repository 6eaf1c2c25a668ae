//! Property tests: arbitrary bytes, arbitrary JSON (bare and inside each provider's envelope)
//! and truncated or mutated fixtures go through every decoder, at many statuses. Decoders
//! must return `Ok` or a typed, bounded `DecodeError`, never panic.

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::support::{all_fixtures, check_error, decoders};

pub const BYTES_CASES: u32 = 512;
pub const JSON_CASES: u32 = 512;
pub const MUTATION_CASES: u32 = 1024;

/// Field names and enum values the providers use, so generated JSON reaches deep paths.
const WORDS: &[&str] = &[
    "data",
    "errors",
    "message",
    "path",
    "extensions",
    "deployments",
    "deployment",
    "edges",
    "node",
    "pageInfo",
    "id",
    "status",
    "SUCCESS",
    "variables",
    "customDomain",
    "dnsRecords",
    "recordType",
    "serviceInstance",
    "latestDeployment",
    "serviceInstanceDeployV2",
    "error",
    "code",
    "limit",
    "readyState",
    "READY",
    "uid",
    "pagination",
    "envs",
    "created",
    "failed",
    "type",
    "target",
    "key",
    "value",
    "verified",
    "verification",
    "name",
    "ref",
    "backups",
    "physical_backup_data",
    "success",
    "result",
    "result_info",
    "zone_id",
    "content",
    "ttl",
    "proxied",
    "tags",
    "comment",
    "kind",
    "rrsets",
    "records",
    "comments",
    "Native",
    "A",
    "CNAME",
    "production",
    "plain",
];

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        proptest::sample::select(vec![
            200u16, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503
        ]),
        100u16..600,
    ]
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(word(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A value alone, or inside one of the providers' envelopes.
fn enveloped() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), word(), any::<bool>(), 0..6u8).prop_map(
        |(a, b, key, flag, shape)| {
            let mut inner = Map::new();
            inner.insert(key, a.clone());
            match shape {
                0 => a,
                1 => serde_json::json!({ "data": Value::Object(inner), "errors": b }),
                2 => {
                    serde_json::json!({ "success": flag, "errors": b, "messages": [], "result": a })
                }
                3 => serde_json::json!({ "error": a }),
                4 => serde_json::json!({ "message": a, "error": b }),
                _ => Value::Array(vec![a, b]),
            }
        },
    )
}

fn run_all(status: u16, body: &[u8]) {
    for (name, decode) in decoders() {
        if let Err(error) = decode(status, body) {
            check_error(&error, status);
            assert!(!name.is_empty());
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..8),
                proptest::sample::select(vec![
                    "null", "\"\"", "{", "}", "[", "]", ",", ":", "-1", "1e999", "\"\\u", "\\",
                    "true"
                ])
                .prop_map(|s| s.as_bytes().to_vec()),
            ]
        )
            .prop_map(|(i, bytes)| Mutation::Insert(i, bytes)),
        (any::<usize>(), 1usize..256).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(body: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match mutation {
        Mutation::Truncate(i) => body.truncate(at(*i, body.len())),
        Mutation::Flip(i, b) => {
            if !body.is_empty() {
                let i = i % body.len();
                body[i] = *b;
            }
        }
        Mutation::Delete(i, n) => {
            let start = at(*i, body.len());
            let end = (start + n).min(body.len());
            body.drain(start..end);
        }
        Mutation::Insert(i, bytes) => {
            let start = at(*i, body.len());
            body.splice(start..start, bytes.iter().copied());
        }
        Mutation::Duplicate(i, n) => {
            let start = at(*i, body.len());
            let end = (start + n).min(body.len());
            let copy = body[start..end].to_vec();
            body.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(BYTES_CASES))]
    #[test]
    fn arbitrary_bytes_never_panic(status in statuses(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        run_all(status, &body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(JSON_CASES))]
    #[test]
    fn arbitrary_json_never_panics(status in statuses(), value in enveloped()) {
        let body = serde_json::to_vec(&value).unwrap();
        run_all(status, &body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(MUTATION_CASES))]
    #[test]
    fn mutated_fixtures_never_panic(
        status in statuses(),
        pick in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let fixtures = all_fixtures();
        let mut body = fixtures[pick.index(fixtures.len())].1.clone();
        for m in &mutations {
            apply(&mut body, m);
        }
        run_all(status, &body);
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    for depth in [200usize, 10_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        run_all(200, body.as_bytes());
        let body = format!("{}1{}", "{\"data\":".repeat(depth), "}".repeat(depth));
        run_all(200, body.as_bytes());
    }
}
