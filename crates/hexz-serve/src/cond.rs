//! Conditional requests of RFC 9110 §13: entity-tag lists, HTTP dates and the order in which
//! `If-Match`, `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since` and `If-Range` are
//! evaluated. Pure functions over header values, no I/O.

use hyper::header::{self, HeaderMap};
use std::time::{Duration, SystemTime};

/// The validators of the representation a request targets.
#[derive(Debug, Clone)]
pub(crate) struct Validators {
    /// The strong entity tag, quotes included (`"..."`).
    pub etag: String,
    /// The modification time, whole seconds (what `Last-Modified` can say).
    pub last_modified: SystemTime,
    /// Whether `last_modified` is a strong validator: at least a second in the past when the
    /// request arrived, so no second change can share it (RFC 9110 §8.8.2.2).
    pub date_is_strong: bool,
}

/// What the preconditions decide, before any `Range` is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Go on and serve the request.
    Proceed,
    /// 304 Not Modified (GET and HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

/// One element of an `If-Match`/`If-None-Match` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    /// The opaque tag with its quotes.
    opaque: &'a str,
}

/// A parsed `If-Match`/`If-None-Match` field: `*` or a list of entity tags; `None` when
/// malformed.
fn tags<'a>(values: impl Iterator<Item = &'a str>) -> Option<(bool, Vec<Tag<'a>>)> {
    let mut any = false;
    let mut out = Vec::new();
    for value in values {
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            if let Some(r) = rest.strip_prefix('*') {
                any = true;
                rest = r;
                continue;
            }
            let (weak, r) = match rest.strip_prefix("W/") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc may include commas.
            let body = r.strip_prefix('"')?;
            let close = body.find('"')?;
            out.push(Tag {
                weak,
                opaque: &r[..close + 2],
            });
            rest = &body[close + 1..];
            if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
                return None;
            }
        }
    }
    Some((any, out))
}

/// The values of every `name` field line, as text (a non-ASCII value is malformed: `None`).
fn field<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<Vec<&'a str>> {
    let v: Vec<&str> = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    (!v.is_empty()).then_some(v)
}

/// An HTTP date (IMF-fixdate, RFC 850 or asctime), or `None` when invalid.
fn date(headers: &HeaderMap, name: &header::HeaderName) -> Option<SystemTime> {
    let v = headers.get(name)?.to_str().ok()?;
    httpdate::parse_http_date(v.trim()).ok()
}

/// `If-Match`: true when `*` or a strong match (RFC 9110 §13.1.1).
fn if_match(values: &[&str], v: &Validators) -> bool {
    match tags(values.iter().copied()) {
        Some((any, list)) => any || list.iter().any(|t| !t.weak && t.opaque == v.etag),
        None => false,
    }
}

/// `If-None-Match`: true when no tag matches weakly (RFC 9110 §13.1.2); a malformed field is
/// ignored (true).
fn if_none_match(values: &[&str], v: &Validators) -> bool {
    match tags(values.iter().copied()) {
        Some((any, list)) => !(any || list.iter().any(|t| t.opaque == v.etag)),
        None => true,
    }
}

/// Evaluates the preconditions in the order of RFC 9110 §13.2.2 for a GET or HEAD.
pub(crate) fn evaluate(headers: &HeaderMap, v: &Validators) -> Outcome {
    // 1. If-Match, else 2. If-Unmodified-Since.
    if let Some(values) = field(headers, &header::IF_MATCH) {
        if !if_match(&values, v) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(since) = date(headers, &header::IF_UNMODIFIED_SINCE) {
        if v.last_modified > since {
            return Outcome::PreconditionFailed;
        }
    }
    // 3. If-None-Match, else 4. If-Modified-Since.
    if let Some(values) = field(headers, &header::IF_NONE_MATCH) {
        if !if_none_match(&values, v) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = date(headers, &header::IF_MODIFIED_SINCE) {
        if v.last_modified <= since {
            return Outcome::NotModified;
        }
    }
    Outcome::Proceed
}

/// `If-Range` (RFC 9110 §13.1.5): whether the `Range` header may be honoured. An entity tag must
/// match strongly; a date must equal `Last-Modified` exactly and `Last-Modified` must be strong.
/// Anything else (including a malformed value) means "send the whole representation".
pub(crate) fn if_range_allows(headers: &HeaderMap, v: &Validators) -> bool {
    let Some(value) = headers.get(header::IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return value == v.etag;
    }
    match httpdate::parse_http_date(value) {
        Ok(d) => v.date_is_strong && d == v.last_modified,
        Err(_) => false,
    }
}

/// Truncates `t` to whole seconds (HTTP dates carry no fractions).
pub(crate) fn whole_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const TAG: &str = "\"abc-1\"";

    fn v() -> Validators {
        Validators {
            etag: TAG.into(),
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            date_is_strong: true,
        }
    }

    fn headers(pairs: &[(&header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, val) in pairs {
            h.append(*k, HeaderValue::from_str(val).expect("header value"));
        }
        h
    }

    fn eval(pairs: &[(&header::HeaderName, &str)]) -> Outcome {
        evaluate(&headers(pairs), &v())
    }

    const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT"; // 1_700_000_000
    const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

    #[test]
    fn tag_lists() {
        let (any, l) = tags(["\"a\", W/\"b\" ,\"c,d\""].into_iter()).expect("valid");
        assert!(!any);
        let opaque: Vec<_> = l.iter().map(|t| (t.weak, t.opaque)).collect();
        assert_eq!(
            opaque,
            [(false, "\"a\""), (true, "\"b\""), (false, "\"c,d\"")]
        );
        assert_eq!(tags(["*"].into_iter()).map(|t| t.0), Some(true));
        assert!(tags(["abc"].into_iter()).is_none());
        assert!(tags(["\"abc"].into_iter()).is_none());
        assert!(tags(["\"a\"x"].into_iter()).is_none());
    }

    #[test]
    fn if_match_order() {
        use header::*;
        assert_eq!(eval(&[]), Outcome::Proceed);
        assert_eq!(eval(&[(&IF_MATCH, TAG)]), Outcome::Proceed);
        assert_eq!(eval(&[(&IF_MATCH, "*")]), Outcome::Proceed);
        assert_eq!(eval(&[(&IF_MATCH, "\"x\", \"abc-1\"")]), Outcome::Proceed);
        assert_eq!(
            eval(&[(&IF_MATCH, "\"x\""), (&IF_MATCH, TAG)]),
            Outcome::Proceed
        );
        assert_eq!(eval(&[(&IF_MATCH, "\"x\"")]), Outcome::PreconditionFailed);
        // If-Match uses the strong comparison.
        assert_eq!(
            eval(&[(&IF_MATCH, "W/\"abc-1\"")]),
            Outcome::PreconditionFailed
        );
        assert_eq!(eval(&[(&IF_MATCH, "garbage")]), Outcome::PreconditionFailed);
        // If-Unmodified-Since only counts without If-Match.
        assert_eq!(eval(&[(&IF_UNMODIFIED_SINCE, LM)]), Outcome::Proceed);
        assert_eq!(
            eval(&[(&IF_UNMODIFIED_SINCE, EARLIER)]),
            Outcome::PreconditionFailed
        );
        assert_eq!(
            eval(&[(&IF_MATCH, TAG), (&IF_UNMODIFIED_SINCE, EARLIER)]),
            Outcome::Proceed
        );
        assert_eq!(
            eval(&[(&IF_UNMODIFIED_SINCE, "yesterday")]),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_none_match_order() {
        use header::*;
        assert_eq!(eval(&[(&IF_NONE_MATCH, TAG)]), Outcome::NotModified);
        assert_eq!(
            eval(&[(&IF_NONE_MATCH, "W/\"abc-1\"")]),
            Outcome::NotModified
        );
        assert_eq!(eval(&[(&IF_NONE_MATCH, "*")]), Outcome::NotModified);
        assert_eq!(eval(&[(&IF_NONE_MATCH, "\"old\"")]), Outcome::Proceed);
        assert_eq!(eval(&[(&IF_NONE_MATCH, "garbage")]), Outcome::Proceed);
        // If-Match fails first.
        assert_eq!(
            eval(&[(&IF_MATCH, "\"x\""), (&IF_NONE_MATCH, TAG)]),
            Outcome::PreconditionFailed
        );
        assert_eq!(eval(&[(&IF_MODIFIED_SINCE, LM)]), Outcome::NotModified);
        assert_eq!(eval(&[(&IF_MODIFIED_SINCE, EARLIER)]), Outcome::Proceed);
        // If-Modified-Since is ignored when If-None-Match is present.
        assert_eq!(
            eval(&[(&IF_NONE_MATCH, "\"old\""), (&IF_MODIFIED_SINCE, LM)]),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_range() {
        use header::*;
        let ok = |pairs: &[(&HeaderName, &str)]| if_range_allows(&headers(pairs), &v());
        assert!(ok(&[]));
        assert!(ok(&[(&IF_RANGE, TAG)]));
        assert!(!ok(&[(&IF_RANGE, "\"stale\"")]));
        assert!(!ok(&[(&IF_RANGE, "W/\"abc-1\"")]));
        assert!(ok(&[(&IF_RANGE, LM)]));
        assert!(!ok(&[(&IF_RANGE, EARLIER)]));
        assert!(!ok(&[(&IF_RANGE, "garbage")]));
        let weak_date = Validators {
            date_is_strong: false,
            ..v()
        };
        assert!(!if_range_allows(&headers(&[(&IF_RANGE, LM)]), &weak_date));
    }
}
