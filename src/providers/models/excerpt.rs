//! Short, redacted excerpts of response bodies for error messages.
//!
//! An excerpt is at most [`MAX_CHARS`] characters of the body (lossy UTF-8). String values of
//! keys that hold secrets (`value`, `token`, `password`, …) are replaced by `[redacted]`; with
//! [`Mask::AllValues`] every string value is (object keys stay readable).

/// The longest excerpt, in characters, before the `…` marker.
pub const MAX_CHARS: usize = 200;

/// How much of the body to scan for redaction before cutting it down to [`MAX_CHARS`].
const SCAN_BYTES: usize = 4096;

/// Keys whose string values are never shown (compared case-insensitively).
const SECRET_KEYS: &[&str] = &[
    "value",
    "token",
    "password",
    "secret",
    "apikey",
    "api_key",
    "authorization",
    "connection_string",
    "connectionstring",
    "private_key",
];

/// Which string values an excerpt hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Only values of the keys in the secret-key list.
    SecretKeys,
    /// Every string value (bodies that are maps of secrets, e.g. Railway variables).
    AllValues,
}

/// A short excerpt of `body` with secrets hidden, for error messages.
#[must_use]
pub fn excerpt(body: &[u8], mask: Mask) -> String {
    let scanned = &body[..body.len().min(SCAN_BYTES)];
    let text = String::from_utf8_lossy(scanned);
    let redacted = redact(&text, mask);
    let mut out: String = redacted.chars().take(MAX_CHARS).collect();
    if redacted.chars().nth(MAX_CHARS).is_some() || body.len() > SCAN_BYTES {
        out.push('…');
    }
    out
}

/// Replaces the contents of string values that must not be shown.
fn redact(text: &str, mask: Mask) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut last_key: Option<String> = None;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '"' {
            out.push(c);
            i += 1;
            continue;
        }
        let (end, terminated) = string_end(&chars, i + 1);
        let content: String = chars.get(i + 1..end).unwrap_or_default().iter().collect();
        let after = if terminated { end + 1 } else { end };
        if next_non_space(&chars, after) == Some(':') {
            out.push('"');
            out.push_str(&content);
            out.push('"');
            last_key = Some(content);
        } else {
            let hide = mask == Mask::AllValues
                || last_key
                    .as_deref()
                    .is_some_and(|key| SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()));
            out.push('"');
            out.push_str(if hide { "[redacted]" } else { &content });
            if terminated {
                out.push('"');
            }
        }
        i = after;
    }
    out
}

/// The index of the closing quote of a string starting at `start`, or the end of input.
fn string_end(chars: &[char], start: usize) -> (usize, bool) {
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 2,
            '"' => return (i, true),
            _ => i += 1,
        }
    }
    (chars.len(), false)
}

fn next_non_space(chars: &[char], from: usize) -> Option<char> {
    chars
        .get(from..)
        .unwrap_or_default()
        .iter()
        .copied()
        .find(|c| !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_and_keys_kept() {
        let body = br#"{"key":"DATABASE_URL","value":"postgres://u:pw@h/db","type":"encrypted"}"#;
        let out = excerpt(body, Mask::SecretKeys);
        assert_eq!(
            out,
            r#"{"key":"DATABASE_URL","value":"[redacted]","type":"encrypted"}"#
        );
    }

    #[test]
    fn all_values_mode_hides_every_value() {
        let body = br#"{"data":{"variables":{"A":"one","B":"two"}}}"#;
        let out = excerpt(body, Mask::AllValues);
        assert_eq!(
            out,
            r#"{"data":{"variables":{"A":"[redacted]","B":"[redacted]"}}}"#
        );
    }

    #[test]
    fn truncated_secret_is_still_hidden_and_long_bodies_are_cut() {
        let out = excerpt(br#"{"token":"abc\"def"#, Mask::SecretKeys);
        assert_eq!(out, r#"{"token":"[redacted]"#);
        let long = "x".repeat(1000);
        let out = excerpt(long.as_bytes(), Mask::SecretKeys);
        assert_eq!(out.chars().count(), MAX_CHARS + 1);
        assert!(out.ends_with('…'));
    }

    #[test]
    fn invalid_utf8_and_escapes_do_not_panic() {
        let out = excerpt(&[0xff, b'"', b'\\'], Mask::AllValues);
        assert!(out.starts_with('\u{fffd}'));
    }
}
