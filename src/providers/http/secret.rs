//! A token or API key that cannot be printed by accident.

/// A credential or a secret value (token, API key, environment variable). `Debug` and
/// `Display` print `<redacted>`; only [`Secret::expose`] reveals it. It serialises as the
/// plain string, because provider APIs send and receive it that way.
#[derive(Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Never log or format the result.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the credential replaced, for quoting provider bodies
    /// that might echo it back.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        // Very short values would redact ordinary words; real tokens are long.
        if self.0.len() < 4 {
            return text.to_owned();
        }
        text.replace(&self.0, "<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A token must never reach a log line through `{}` or `{:?}`, even nested in a struct.
    #[test]
    fn secrets_never_print() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Creds {
            token: Secret,
        }
        let s = Secret::new("sbp_0123456789abcdef");
        let shown = format!("{s} {s:?} {:?} {:#?}", Creds { token: s.clone() }, s);
        assert!(!shown.contains("0123456789"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(s.expose(), "sbp_0123456789abcdef");
        assert_eq!(
            s.scrub("bad token sbp_0123456789abcdef!"),
            "bad token <redacted>!"
        );
    }
}
