//! Redaction of credentials in connection URLs, for anything that reaches logs, errors or
//! health output.

/// Replaces the password of every `scheme://user:password@…` in `text` with `***`.
///
/// It errs towards hiding too much: the password is taken to run from the first `:` after the
/// user to the last `@` in the rest of the text, so passwords holding `@`, `/`, `:` or spaces are
/// hidden whole, at the cost of sometimes hiding a little of the text that follows.
#[must_use]
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        rest = tail;
        // The user ends at the first ':' (a password follows) or at a character that ends the
        // authority without one.
        let Some(user_end) = tail.find([':', '@', '/', '?', '#']) else {
            continue;
        };
        if !tail[user_end..].starts_with(':') {
            continue;
        }
        if let Some(at) = tail.rfind('@').filter(|&at| at > user_end) {
            out.push_str(&tail[..=user_end]);
            out.push_str("***");
            rest = &tail[at..];
        }
    }
    out.push_str(rest);
    out
}
