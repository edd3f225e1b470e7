//! The crate's error type, and how `object_store` errors map onto it.
//!
//! Classification looks at `object_store`'s variants, at the types in an error's source chain
//! and at the `<Code>` of an S3 error body (a protocol field with a documented set of values),
//! never at free message text. object_store 0.14 turns the HTTP statuses it knows (404, 401,
//! 403, 412, 304, 409) into variants; its retry error, the only carrier of any other status,
//! is private to it, so a status outside that list cannot be recovered, but S3's code can:
//! AWS answers an invalid or expired session token with a 400 whose code says so.

use std::error::Error as StdError;
use std::io;

/// Errors of this crate's own API. Converted to [`std::io::Error`] at the [`hexz_core::ReadAt`]
/// boundary, keeping the kind ([`io::ErrorKind::NotFound`] for a missing object,
/// [`io::ErrorKind::PermissionDenied`] for 401/403) and a message naming the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed or lacks a part the store needs.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's scheme names no store this build supports.
    #[error("unsupported URL scheme {scheme:?} in {url} (supported: {supported})")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
        /// The URL as given.
        url: String,
        /// The schemes this build supports.
        supported: &'static str,
    },
    /// The bucket a write names does not exist.
    #[error("{url}: bucket {bucket:?} does not exist")]
    BucketNotFound {
        /// The object's URL.
        url: String,
        /// The bucket.
        bucket: String,
    },
    /// The object does not exist (HTTP 404).
    #[error("{url}: not found")]
    NotFound {
        /// The object's URL.
        url: String,
    },
    /// Access was refused (HTTP 401/403, bad or missing credentials).
    #[error("{url}: permission denied: {message}")]
    PermissionDenied {
        /// The object's URL.
        url: String,
        /// The server's or client's explanation.
        message: String,
    },
    /// The object was replaced or changed after it was opened.
    #[error("{url}: the object changed after it was opened ({detail}); reopen it to read the new version")]
    Changed {
        /// The object's URL.
        url: String,
        /// What differed (ETag, length, or a failed `If-Match`).
        detail: String,
    },
    /// A read past the end of the object.
    #[error("{url}: read of {len} bytes at offset {offset} is past the end ({size} bytes)")]
    PastEnd {
        /// The object's URL.
        url: String,
        /// The requested offset.
        offset: u64,
        /// The requested length.
        len: u64,
        /// The object's length.
        size: u64,
    },
    /// The server answered, but not as HTTP or S3 say it should.
    #[error("{url}: bad response: {message}")]
    BadResponse {
        /// The object's URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// A configuration problem outside any one URL (an AWS profile that does not exist, an
    /// unreadable AWS config file).
    #[error("{0}")]
    Config(String),
    /// Any other failure of the underlying client (network, configuration, server error).
    #[error("{url}: {source}")]
    Remote {
        /// The object's URL.
        url: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
}

impl Error {
    /// The [`io::ErrorKind`] this error maps to.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidUrl { .. } | Error::UnsupportedScheme { .. } | Error::Config(_) => {
                io::ErrorKind::InvalidInput
            }
            Error::NotFound { .. } | Error::BucketNotFound { .. } => io::ErrorKind::NotFound,
            Error::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            Error::PastEnd { .. } => io::ErrorKind::UnexpectedEof,
            Error::BadResponse { .. } => io::ErrorKind::InvalidData,
            Error::Changed { .. } | Error::Remote { .. } => io::ErrorKind::Other,
        }
    }

    /// Classifies an `object_store` error for `url`.
    pub(crate) fn from_object_store(url: &str, e: object_store::Error) -> Error {
        let url = url.to_string();
        match unwrap_generic(e) {
            object_store::Error::NotFound { .. } => Error::NotFound { url },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => Error::PermissionDenied {
                url,
                message: source.to_string(),
            },
            object_store::Error::Precondition { .. } => Error::Changed {
                url,
                detail: "If-Match on the ETag seen at open failed (412)".into(),
            },
            #[cfg(feature = "s3")]
            source if is_s3_refusal(&source) => Error::PermissionDenied {
                url,
                message: server_message(&chain_text(&source)),
            },
            source => Error::Remote { url, source },
        }
    }
}

/// S3 error codes that refuse the caller's credentials or access, whatever the status
/// (AWS's list of S3 error responses): `InvalidToken` and `ExpiredToken` come with a 400.
#[cfg(feature = "s3")]
const REFUSAL_CODES: &[&str] = &[
    "AccessDenied",
    "AccountProblem",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    "InvalidToken",
    "MissingSecurityHeader",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
];

/// Whether `e` carries an S3 error body whose code refuses the credentials or access.
#[cfg(feature = "s3")]
pub(crate) fn is_s3_refusal(e: &object_store::Error) -> bool {
    s3_error_code(&chain_text(e)).is_some_and(|code| REFUSAL_CODES.contains(&code.as_str()))
}

#[cfg(not(feature = "s3"))]
pub(crate) fn is_s3_refusal(_: &object_store::Error) -> bool {
    false
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.io_kind(), e)
    }
}

/// object_store reports some errors met while resuming a cut-off body (a 412 because the
/// object was replaced, a 404 because it was deleted) as `Generic` around the real error:
/// unwrap it so it is classified like the same error on a first request.
pub(crate) fn unwrap_generic(e: object_store::Error) -> object_store::Error {
    match e {
        object_store::Error::Generic { store, source } => {
            match source.downcast::<object_store::Error>() {
                Ok(inner) => unwrap_generic(*inner),
                Err(source) => object_store::Error::Generic { store, source },
            }
        }
        e => e,
    }
}

/// Whether the suffix GET at open failed in a way a HEAD may get past: the server cannot
/// serve a suffix range (an empty object; a server without Range support answering 200), as
/// opposed to an answer that settles the matter (not found, denied) or no answer at all.
///
/// The HTTP client reports a 200 to a ranged GET as `NotSupported`. A 416, and an S3 answer
/// that is not a well-formed partial response, come as `Generic` around a type private to
/// object_store; what tells them from a network failure is that no transport error
/// ([`object_store::client::HttpError`]) is in their source chain. A server error that
/// outlasted the retries looks the same, and costs one HEAD that fails the same way.
pub(crate) fn is_range_refusal(e: &object_store::Error) -> bool {
    match e {
        object_store::Error::NotSupported { .. } => true,
        object_store::Error::Generic { source, .. } => {
            !is_transport_error(source.as_ref()) && !is_s3_refusal(e)
        }
        _ => false,
    }
}

/// Whether a transport failure (connect, timeout, dropped connection) is in `e`'s chain.
fn is_transport_error(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<object_store::client::HttpError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// `e` and its sources, joined with `": "`: the whole story, S3's XML error body included.
#[cfg(feature = "s3")]
pub(crate) fn chain_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = StdError::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The text of the first `<t>` element in `text` (an S3 error body: `<Error><Code>...`).
#[cfg(feature = "s3")]
fn xml_element(text: &str, t: &str) -> Option<String> {
    let open = format!("<{t}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{t}>"))? + start;
    Some(text[start..end].to_string())
}

/// The `<Code>` of an S3 error body in `text`, if there is one.
#[cfg(feature = "s3")]
fn s3_error_code(text: &str) -> Option<String> {
    xml_element(text, "Code")
        .filter(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The `<Code>: <Message>` of an S3 error body in `text`, else `text`: what a person needs to
/// read from a refusal.
#[cfg(feature = "s3")]
pub(crate) fn server_message(text: &str) -> String {
    let tag = |t: &str| xml_element(text, t);
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code,
        (None, Some(msg)) => msg,
        (None, None) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(source: Box<dyn StdError + Send + Sync>) -> object_store::Error {
        object_store::Error::Generic {
            store: "test",
            source,
        }
    }

    #[test]
    fn classified_by_variant() {
        let boxed = || -> Box<dyn StdError + Send + Sync> { "x".into() };
        let not_found = object_store::Error::NotFound {
            path: "k".into(),
            source: boxed(),
        };
        let e = Error::from_object_store("s3://b/k", not_found);
        assert_eq!(e.io_kind(), io::ErrorKind::NotFound);
        // The same error met while resuming a body, wrapped in `Generic`.
        let nested = generic(Box::new(object_store::Error::Precondition {
            path: "k".into(),
            source: boxed(),
        }));
        let e = Error::from_object_store("s3://b/k", nested);
        assert!(matches!(e, Error::Changed { .. }), "{e:?}");
        let denied = object_store::Error::Unauthenticated {
            path: "k".into(),
            source: boxed(),
        };
        let e = Error::from_object_store("s3://b/k", denied);
        assert_eq!(e.io_kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn range_refusals() {
        use object_store::client::{HttpError, HttpErrorKind};
        let refused = object_store::Error::NotSupported { source: "x".into() };
        assert!(is_range_refusal(&refused));
        assert!(is_range_refusal(&generic("416".into())));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let dropped = HttpError::new(HttpErrorKind::Interrupted, reset);
        assert!(!is_range_refusal(&generic(Box::new(dropped))));
        let not_found = object_store::Error::NotFound {
            path: "k".into(),
            source: "x".into(),
        };
        assert!(!is_range_refusal(&not_found));
    }

    #[cfg(feature = "s3")]
    #[test]
    fn server_messages() {
        let t = "Error: <Error><Code>AccessDenied</Code><Message>No.</Message></Error>";
        assert_eq!(server_message(t), "AccessDenied: No.");
        assert_eq!(server_message("plain"), "plain");
        assert_eq!(s3_error_code(t).as_deref(), Some("AccessDenied"));
        assert_eq!(s3_error_code("<Code>a b</Code>"), None);
    }

    #[cfg(feature = "s3")]
    #[test]
    fn an_s3_refusal_with_any_status_is_permission_denied() {
        // AWS answers a bad session token with 400 InvalidToken, which object_store leaves
        // as a generic error around its private retry error.
        let body = "Server returned non-2xx status code: 400 Bad Request: <?xml version=\"1.0\"?>\
                    <Error><Code>InvalidToken</Code><Message>The provided token is malformed.\
                    </Message></Error>";
        let e = Error::from_object_store("s3://b/k", generic(body.into()));
        assert_eq!(e.io_kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains("InvalidToken"), "{e}");
        // Not a reason to retry the open with a HEAD, which has no body to say why.
        assert!(!is_range_refusal(&generic(body.into())));
        let other = "Server returned non-2xx status code: 400 Bad Request: \
                     <Error><Code>InvalidArgument</Code></Error>";
        let e = Error::from_object_store("s3://b/k", generic(other.into()));
        assert!(matches!(e, Error::Remote { .. }), "{e:?}");
    }
}
