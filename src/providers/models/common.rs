//! Types more than one provider model uses: DNS record types, secret strings and the
//! "one object or an array" shape.

use serde::{Deserialize, Deserializer};

string_enum! {
    /// A DNS record type as Cloudflare and PowerDNS spell it.
    pub enum RecordType {
        A = "A",
        Aaaa = "AAAA",
        Caa = "CAA",
        Cert = "CERT",
        Cname = "CNAME",
        Dnskey = "DNSKEY",
        Ds = "DS",
        Https = "HTTPS",
        Loc = "LOC",
        Mx = "MX",
        Naptr = "NAPTR",
        Ns = "NS",
        Ptr = "PTR",
        Smimea = "SMIMEA",
        Soa = "SOA",
        Srv = "SRV",
        Sshfp = "SSHFP",
        Svcb = "SVCB",
        Tlsa = "TLSA",
        Txt = "TXT",
        Uri = "URI",
    }
}

impl RecordType {
    /// From a mnemonic, case-insensitively.
    #[must_use]
    pub fn parse(mnemonic: &str) -> Self {
        Self::from_wire(&mnemonic.to_ascii_uppercase())
    }

    /// Whether values are host names (and so get a trailing dot in zone-file form).
    #[must_use]
    pub fn holds_hostname(&self) -> bool {
        matches!(self, Self::Cname | Self::Ns)
    }
}

/// Deserialises a field the provider sends as either one value or an array of values
/// (Vercel's env `target`, env create's `created`); `null` is an empty list.
///
/// # Errors
/// When the value is neither `null`, a `T`, nor an array of `T`.
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(deserializer)? {
        Some(OneOrMany::Many(items)) => items,
        Some(OneOrMany::One(item)) => vec![item],
        None => Vec::new(),
    })
}

/// Deserialises `null` as the type's default (an empty list, say), for fields providers send
/// as either `null` or a value.
///
/// # Errors
/// When the value is neither `null` nor a `T`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
