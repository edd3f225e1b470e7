//! The responses the proxy makes up itself: injected errors, refusals, upstream failures.

/// The reason phrase sent with the status codes this proxy makes up.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        400 => "Bad Request",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// A complete `text/plain` response with `status` and `message` as its body (the body is left
/// out, not its length, when `head_only`, as for HEAD).
pub fn simple_response(status: u16, message: &str, close: bool, head_only: bool) -> Vec<u8> {
    let body = format!("{message}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    );
    if matches!(status, 429 | 503) {
        out.push_str("Retry-After: 0\r\n");
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_response, Framing};

    #[test]
    fn made_up_responses() {
        let r = simple_response(503, "injected", false, false);
        let text = String::from_utf8(r).expect("utf8");
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("Retry-After: 0\r\n"));
        assert!(text.ends_with("\r\n\r\ninjected\n"), "{text}");
        let head_end = text.find("\r\n\r\n").expect("head") + 4;
        let parsed = parse_response(&text.as_bytes()[..head_end]).expect("parse");
        assert_eq!(parsed.framing("GET"), Ok(Framing::Length(9)));
        let head_only = simple_response(500, "x", true, true);
        let text = String::from_utf8(head_only).expect("utf8");
        assert!(text.ends_with("Connection: close\r\n\r\n"), "{text}");
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(!text.contains("Retry-After"));
    }
}
