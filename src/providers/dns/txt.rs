//! TXT values between the DNS capability's bare text and zone-file form: one or more quoted
//! character-strings of at most 255 bytes, with `"` and `\` escaped. PowerDNS wants this
//! form; Cloudflare documents it for TXT `content` and accepts it on input.

/// TXT text as one or more quoted character-strings of at most 255 bytes each.
#[must_use]
pub fn quote_txt(text: &str) -> String {
    let mut chunks: Vec<String> = vec![String::new()];
    for c in text.chars() {
        if chunks.last().is_some_and(|s| s.len() + c.len_utf8() > 255) {
            chunks.push(String::new());
        }
        if let Some(last) = chunks.last_mut() {
            last.push(c);
        }
    }
    chunks
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of zone-file TXT content: quoted strings concatenated, escapes resolved
/// (`\"`, `\\`, `\DDD`). Unquoted input is returned as it is.
#[must_use]
pub fn unquote_txt(content: &str) -> String {
    if !content.trim_start().starts_with('"') {
        return content.to_owned();
    }
    let mut out = Vec::new();
    let mut bytes = content.bytes().peekable();
    let mut inside = false;
    while let Some(b) = bytes.next() {
        match (inside, b) {
            (_, b'"') => inside = !inside,
            (true, b'\\') => {
                let digits: Vec<u8> = std::iter::from_fn(|| bytes.next_if(u8::is_ascii_digit))
                    .take(3)
                    .collect();
                if digits.len() == 3 {
                    let n = digits
                        .iter()
                        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
                    out.push(u8::try_from(n).unwrap_or(b'?'));
                } else if !digits.is_empty() {
                    out.extend_from_slice(&digits);
                } else if let Some(next) = bytes.next() {
                    out.push(next);
                }
            }
            (true, b) => out.push(b),
            (false, _) => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // TXT values survive the round trip through zone-file quoting, long ones split at 255.
    #[test]
    fn txt_quoting_round_trips() {
        for text in ["hello", "v=spf1 -all", "say \"hi\" \\ bye", "é ünïcode", ""] {
            assert_eq!(unquote_txt(&quote_txt(text)), text, "{text}");
        }
        let long = "x".repeat(600);
        let quoted = quote_txt(&long);
        assert_eq!(quoted.matches("\" \"").count(), 2, "three strings");
        assert_eq!(unquote_txt(&quoted), long);
        assert_eq!(unquote_txt("\"a\\065b\""), "aAb");
        assert_eq!(quote_txt("a\"b"), "\"a\\\"b\"");
    }
}
