//! `hexz serve`: serve archives over HTTP, read-only, with Range requests.

use super::Global;
use anyhow::{Context, Result};
use hexz_serve::{Options, Server};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub const ABOUT: &str = "Serve archives over HTTP (Range requests, read-only, loopback by default)";

pub const LONG_ABOUT: &str = "\
Serve archives over HTTP, read-only.

Each ARCHIVE file is served at /NAME, its file name, for clients that read with Range requests:
every reading command of hexz (inspect, ls, cat, extract, verify) takes
http://HOST:PORT/NAME.hxz in place of a path and fetches only the blocks it needs, and
`curl -r` fetches any byte range. GET / lists the archives as JSON.

Each file is checked at startup (header, footer, summary and entries table) and a damaged one
is refused. The server keeps the files it opened: an archive replaced on disk is served in its
old version until the server is restarted. Requests follow RFC 9110: HEAD, single and multiple
byte ranges (206, 416), a strong ETag with If-Match (412), If-None-Match (304) and If-Range.
Bodies are streamed in 256 KiB chunks, so memory stays small whatever the range.

The server listens on 127.0.0.1:8080 unless --bind says otherwise; port 0 picks a free port, and
the address is printed. There is no authentication and no TLS: binding to an address other than
loopback prints a warning. One access-log line per request goes to stderr (none with -q, which
prints nothing but errors). Ctrl-C or SIGTERM stops it, after letting the responses in flight
finish for up to 5 seconds.

Slow and idle clients cannot hold the server: a connection that takes longer than
--header-timeout to send a request's headers, or that sits idle that long between requests,
is closed; one that stops reading its response for --send-timeout is closed; at most
--max-connections are served at once, and one more is answered 503 with Retry-After: 1.
Clients that read, however slowly, are never cut off. The limit on open files is raised to
the system's maximum at startup, since each connection holds one.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz serve photos.hxz                      http://127.0.0.1:8080/photos.hxz
    hexz serve --bind 127.0.0.1:0 *.hxz        a free port, printed on stdout
    hexz serve --bind 0.0.0.0:9000 data.hxz    every interface (no authentication!)
    hexz ls http://127.0.0.1:8080/photos.hxz   read it from another shell or machine
    curl -r 0-99 http://127.0.0.1:8080/photos.hxz | xxd";

/// Arguments of `hexz serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archives; each is served at /NAME, its file name.
    #[arg(required = true, value_name = "ARCHIVE")]
    archives: Vec<PathBuf>,
    /// Address to listen on: HOST:PORT, [IPv6]:PORT, or a port alone (on 127.0.0.1).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    bind: SocketAddr,
    /// Seconds a client may take to send a request's headers, counted from when it connects
    /// or from the end of the previous response: it also closes idle kept-alive connections.
    #[arg(long, value_name = "SECS", default_value_t = hexz_serve::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    header_timeout: u64,
    /// Seconds a response may wait for a client that reads nothing before its connection is
    /// closed (a client that reads slowly is not cut off).
    #[arg(long, value_name = "SECS", default_value_t = hexz_serve::DEFAULT_SEND_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    send_timeout: u64,
    /// Connections served at once; one more is answered 503 with Retry-After: 1.
    #[arg(long, value_name = "N", default_value_t = hexz_serve::DEFAULT_MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
}

/// `HOST:PORT` with a numeric host, or a port alone (on loopback).
fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse().map_err(|_| {
        format!("expected IP:PORT (like 127.0.0.1:8080 or [::1]:8080) or a port, not {s:?}")
    })
}

/// Runs `hexz serve` until Ctrl-C or SIGTERM.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let options = Options {
        quiet: global.quiet,
        header_timeout: Duration::from_secs(args.header_timeout),
        send_timeout: Duration::from_secs(args.send_timeout),
        max_connections: args.max_connections as usize,
        ..Options::default()
    };
    let files = raise_open_files_limit();
    // A connection, and the answer to one over the limit, each hold a descriptor.
    if files.is_some_and(|n| n < u64::from(args.max_connections) + 64) {
        let _ = writeln!(
            std::io::stderr(),
            "hexz: warning: at most {} files may be open (ulimit -n), fewer than \
             --max-connections {} needs; connections over it wait or fail",
            files.unwrap_or_default(),
            args.max_connections
        );
    }
    let server = Server::bind_with(args.bind, &args.archives, &options)?;
    let addr = server.local_addr();
    if !addr.ip().is_loopback() {
        // A warning, so it is printed with -q too.
        let _ = writeln!(
            std::io::stderr(),
            "hexz: warning: listening on {addr}, which is not a loopback address: anyone who can \
             reach it can read these archives (no authentication, no TLS)"
        );
    }
    if !global.quiet {
        let archives = server.archives();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Serving {} archive{} on http://{addr}/",
            archives.len(),
            if archives.len() == 1 { "" } else { "s" }
        )?;
        for a in &archives {
            writeln!(
                out,
                "  http://{addr}/{}  ({} bytes)",
                url_path(&a.name),
                a.len
            )?;
        }
        out.flush()?;
    }
    server.run().context("serving")?;
    Ok(())
}

/// Raises the soft limit on open files to the hard one (many systems start at 1024, below the
/// default --max-connections); returns the limit now in force, if known.
#[cfg(unix)]
fn raise_open_files_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

#[cfg(not(unix))]
fn raise_open_files_limit() -> Option<u64> {
    None
}

/// The name as a URL path segment (every byte but RFC 3986's unreserved ones escaped).
fn url_path(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        let ok = |s: &str| parse_bind(s).ok().map(|a| a.to_string());
        assert_eq!(ok("9000").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(ok("0").as_deref(), Some("127.0.0.1:0"));
        assert_eq!(ok("[::1]:8080").as_deref(), Some("[::1]:8080"));
        assert_eq!(ok("0.0.0.0:1").as_deref(), Some("0.0.0.0:1"));
        for bad in ["localhost:80", "127.0.0.1", "70000", ""] {
            assert!(parse_bind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("a b.hxz"), "a%20b.hxz");
        assert_eq!(url_path("plain-1_2~.hxz"), "plain-1_2~.hxz");
    }
}
