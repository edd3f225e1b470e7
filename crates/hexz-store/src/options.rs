//! Explicit settings for remote stores, available whatever features are built.

/// Explicit S3 settings; each one given here overrides the environment.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct S3Options {
    /// Endpoint URL, e.g. `http://127.0.0.1:9000` for a local S3-compatible server
    /// (else `AWS_ENDPOINT_URL`, else AWS).
    pub endpoint: Option<String>,
    /// Region (else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// `Some(true)`: path-style requests (`endpoint/bucket/key`); `Some(false)`: virtual-hosted
    /// style (`bucket.endpoint/key`); `None`: the client's default (path-style).
    pub path_style: Option<bool>,
    /// Send unsigned requests (public buckets), ignoring any credentials.
    pub anonymous: bool,
    /// Allow plain `http://` endpoints that are not loopback (loopback ones always are).
    pub allow_http: bool,
}

impl S3Options {
    /// No explicit settings: everything from the environment.
    pub fn new() -> S3Options {
        S3Options::default()
    }

    /// Sets [`S3Options::endpoint`].
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> S3Options {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets [`S3Options::region`].
    pub fn region(mut self, region: impl Into<String>) -> S3Options {
        self.region = Some(region.into());
        self
    }

    /// Sets [`S3Options::path_style`].
    pub fn path_style(mut self, path_style: bool) -> S3Options {
        self.path_style = Some(path_style);
        self
    }

    /// Sets [`S3Options::anonymous`].
    pub fn anonymous(mut self, anonymous: bool) -> S3Options {
        self.anonymous = anonymous;
        self
    }

    /// Sets [`S3Options::allow_http`].
    pub fn allow_http(mut self, allow_http: bool) -> S3Options {
        self.allow_http = allow_http;
        self
    }
}
