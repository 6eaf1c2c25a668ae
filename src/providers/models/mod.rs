//! Serde models of the provider APIs: the requests the clients send, the responses they read,
//! and one decoding entry point per provider envelope (`<provider>::decode`).
//!
//! Field names and enum values are the providers' own (see `shared/reference/providers.md`).
//! Every enum the providers may extend decodes unknown values to `Unknown(String)` instead of
//! failing; optional fields are `Option` or `#[serde(default)]`. Decoding never panics: a
//! malformed, truncated or unexpected body becomes a [`DecodeError`] carrying a short, redacted
//! excerpt of the body.

/// Declares a string enum whose unknown wire values decode to `Unknown(String)`.
///
/// Serialises as the wire string, so request types round-trip, and `Unknown` keeps the value a
/// newer provider sent for messages and logs.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this build does not know (providers add values over time).
            Unknown(String),
        }

        impl $name {
            /// Every value this build knows, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The value as the provider spells it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other,
                }
            }

            /// Parses the provider's spelling; anything else becomes `Unknown`.
            #[must_use]
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// Whether this build knows the value.
            #[must_use]
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from_wire(&value))
            }
        }
    };
}

mod common;
mod decode;
mod excerpt;

pub mod cloudflare;
pub mod powerdns;
pub mod railway;
pub mod supabase;
pub mod vercel;

pub use crate::providers::http::Secret;
pub use common::{RecordType, null_as_default, one_or_many};
pub use decode::{DecodeError, Provider, Rejection};
pub use excerpt::{Mask, excerpt};
