//! Entry points for the fuzz targets (`fuzz/fuzz_targets/serve_headers.rs`); not an API.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, SystemTime};

/// Parses `data` as request header lines (`Name: value`, one per line; the first line's
/// first 8 bytes give the representation's length) and runs what the server decides from
/// them: the `Range` resolution and the conditional-request checks. Must never panic.
pub fn request_headers(data: &[u8]) {
    let (len, rest) = match data.split_at_checked(8) {
        Some((n, rest)) => (u64::from_le_bytes(n.try_into().unwrap_or([0; 8])), rest),
        None => (0, data),
    };
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name),
            HeaderValue::from_bytes(value.trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    let v = crate::cond::Validators {
        etag: "\"0123456789abcdef\"".into(),
        last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        date_is_strong: len % 2 == 0,
    };
    let _ = crate::cond::evaluate(&headers, &v);
    let _ = crate::cond::if_range_allows(&headers, &v);
    for value in headers.get_all(hyper::header::RANGE) {
        if let Ok(text) = value.to_str() {
            let _ = crate::range::resolve(text, len);
        }
    }
}
