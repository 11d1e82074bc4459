//! URLs as umbra shows them: scheme, host and the first characters of the path.
//!
//! A healthchecks ping URL *is* its secret (anyone who has it can ping), and an ntfy topic
//! is often one too; credentials in the authority and query strings can hold tokens. So
//! every URL a log, a record, `--json` or an error shows goes through [`url`]:
//! `https://hc-ping.com/0f4c5d1e-...` becomes `https://hc-ping.com/0f4c…`.

/// How many characters of the path stay visible: enough to tell two targets apart.
const PATH_SHOWN: usize = 4;

/// `url` with credentials, query and all but the first characters of its path removed.
#[must_use]
pub fn url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return "…".to_string(),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let authority = authority.split(['?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let shown: String = path.chars().take(PATH_SHOWN).collect();
    let more = path.chars().count() > PATH_SHOWN || rest.contains('?');
    format!("{scheme}://{host}/{shown}{}", if more { "…" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn keeps_scheme_host_and_four_characters() {
        assert_eq!(
            url("https://hc-ping.com/0f4c5d1e-1111-2222-3333-444455556666"),
            "https://hc-ping.com/0f4c…"
        );
        assert_eq!(url("https://ntfy.sh/ab"), "https://ntfy.sh/ab");
        assert_eq!(
            url("http://user:secret@127.0.0.1:8080/hook?token=x"),
            "http://127.0.0.1:8080/hook…"
        );
        assert_eq!(url("https://example.org"), "https://example.org/");
        assert_eq!(url("not a url"), "…");
    }
}
