//! `hexz-faultproxy`: a fault-injecting HTTP/1.1 proxy in front of one upstream server.

#![forbid(unsafe_code)]

use clap::Parser;
use hexz_faultproxy::{FaultProxy, Faults};
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// A fault-injecting HTTP/1.1 proxy for testing and benchmarking remote stores.
///
/// Listens on LISTEN and forwards every request to UPSTREAM unchanged (the Host header
/// included, so S3 signatures stay valid), injecting faults on the way: added latency, error
/// responses answered by the proxy itself, and responses cut off part-way through the body.
/// Once listening it prints `listening on ADDR:PORT` on stdout, and runs until killed.
#[derive(Debug, Parser)]
#[command(
    name = "hexz-faultproxy",
    version,
    after_help = "EXAMPLES:
  Serve a directory with nginx on :8080, then read through 20 ms of extra latency:
    hexz-faultproxy --upstream 127.0.0.1:8080 --latency-ms 20
    hexz inspect http://127.0.0.1:PORT/a.hxz

  A flaky S3 endpoint in front of moto_server (10% 503s, 5% dropped responses):
    hexz-faultproxy --upstream 127.0.0.1:5000 --error-rate 0.1 --drop-rate 0.05 --seed 7
    AWS_ENDPOINT_URL=http://127.0.0.1:PORT hexz ls s3://bucket/a.hxz

  In a script, take the port from the first line of stdout:
    hexz-faultproxy --upstream 127.0.0.1:8080 --error-rate 0.2 > proxy.out &
    until grep -q '^listening on ' proxy.out; do sleep 0.1; done
    ADDR=$(sed -n 's/^listening on //p' proxy.out)

Errors are drawn before drops: a request gets an error with probability ERROR_RATE and a
drop with probability DROP_RATE (so the two add up to at most 1). The same --seed gives the
same sequence of fates."
)]
struct Args {
    /// The server to forward to.
    #[arg(long, value_name = "HOST:PORT")]
    upstream: String,

    /// The address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Delay added before each request is forwarded or answered (an extra round trip).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,

    /// Fraction of requests (0 to 1) answered by the proxy with an error status.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    error_rate: f64,

    /// The statuses injected errors use, picked at random (429 and 503 come with
    /// `Retry-After: 0`).
    #[arg(
        long,
        value_name = "CODE,...",
        value_delimiter = ',',
        default_value = "503"
    )]
    error_status: Vec<u16>,

    /// Fraction of requests (0 to 1) whose response is cut off: the head and part of the body
    /// are relayed, then both connections are closed.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    drop_rate: f64,

    /// Fraction of requests (0 to 1) held for --stall-ms before they go on (a slow server).
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    stall_rate: f64,

    /// How long a stalled request is held.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    stall_ms: u64,

    /// Never inject more than N faults in a row into the same request (method, target and
    /// Range end), so a client that retries more than N times always gets through.
    #[arg(long, value_name = "N")]
    max_in_a_row: Option<u32>,

    /// Seed of the random draws that pick each request's fate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    /// Print the proxy's counters to stderr every SECS seconds.
    #[arg(long, value_name = "SECS")]
    stats_every: Option<u64>,
}

fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .parse()
        .map_err(|e| format!("{s:?} is not a number: {e}"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not between 0 and 1"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hexz-faultproxy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let upstream = args
        .upstream
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve the upstream {:?}: {e}", args.upstream))?
        .next()
        .ok_or_else(|| format!("the upstream {:?} resolves to no address", args.upstream))?;
    let mut faults = Faults::none()
        .latency(Duration::from_millis(args.latency_ms))
        .error_rate(args.error_rate)
        .error_statuses(args.error_status.clone())
        .drop_rate(args.drop_rate)
        .stalls(args.stall_rate, Duration::from_millis(args.stall_ms))
        .seed(args.seed);
    faults.max_in_a_row = args.max_in_a_row;
    faults.validate().map_err(|e| e.to_string())?;
    let proxy = FaultProxy::start_on(args.listen, upstream, faults)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", proxy.addr())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(out);
    eprintln!(
        "hexz-faultproxy: {} -> {upstream}: latency {} ms, error rate {} ({:?}), drop rate {}, \
         stall rate {} ({} ms), seed {}",
        proxy.addr(),
        args.latency_ms,
        args.error_rate,
        args.error_status,
        args.drop_rate,
        args.stall_rate,
        args.stall_ms,
        args.seed
    );
    loop {
        match args.stats_every {
            Some(secs) => {
                std::thread::sleep(Duration::from_secs(secs.max(1)));
                eprintln!("hexz-faultproxy: {:?}", proxy.stats());
            }
            None => std::thread::park(),
        }
    }
}
