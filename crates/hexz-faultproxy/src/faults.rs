//! [`Faults`]: the fault mix a proxy injects, as its caller configures it.

use std::io;
use std::time::Duration;

/// The faults a [`FaultProxy`](crate::FaultProxy) injects. [`Faults::none`] (the default)
/// forwards everything untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Delay before each request is forwarded or answered: an added round trip.
    pub latency: Duration,
    /// Fraction of requests (0 to 1) answered with one of [`Faults::error_statuses`].
    pub error_rate: f64,
    /// The statuses an injected error uses, picked uniformly (4xx or 5xx; 429 and 503 come with
    /// `Retry-After: 0`). Default: 503.
    pub error_statuses: Vec<u16>,
    /// Fraction of requests (0 to 1) whose response is cut off. Errors are drawn first: a
    /// request gets an error with probability `error_rate`, a drop with probability
    /// `drop_rate` (at most `1 - error_rate`), else passes.
    pub drop_rate: f64,
    /// When set, at most this many faults in a row hit the same request, so a client that
    /// retries more often always gets through. A request is its method, target and the end of
    /// its `Range`; a retry that resumes a cut-off body (same end, later start) counts with
    /// the request it resumes.
    pub max_in_a_row: Option<u32>,
    /// Seed of the PRNG that draws each request's fate.
    pub seed: u64,
    /// Fraction of requests (0 to 1) held for [`Faults::stall`] before they go on (drawn
    /// apart from errors and drops, which a stalled request may get too).
    pub stall_rate: f64,
    /// How long a stalled request is held.
    pub stall: Duration,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults::none()
    }
}

impl Faults {
    /// No faults: a transparent proxy.
    pub fn none() -> Faults {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_statuses: vec![503],
            drop_rate: 0.0,
            max_in_a_row: None,
            seed: 0,
            stall_rate: 0.0,
            stall: Duration::ZERO,
        }
    }

    /// Sets [`Faults::stall_rate`] and [`Faults::stall`].
    pub fn stalls(mut self, rate: f64, stall: Duration) -> Faults {
        self.stall_rate = rate;
        self.stall = stall;
        self
    }

    /// Sets [`Faults::latency`].
    pub fn latency(mut self, latency: Duration) -> Faults {
        self.latency = latency;
        self
    }

    /// Sets [`Faults::error_rate`].
    pub fn error_rate(mut self, rate: f64) -> Faults {
        self.error_rate = rate;
        self
    }

    /// Sets [`Faults::error_statuses`].
    pub fn error_statuses(mut self, statuses: impl Into<Vec<u16>>) -> Faults {
        self.error_statuses = statuses.into();
        self
    }

    /// Sets [`Faults::drop_rate`].
    pub fn drop_rate(mut self, rate: f64) -> Faults {
        self.drop_rate = rate;
        self
    }

    /// Sets [`Faults::max_in_a_row`].
    pub fn max_in_a_row(mut self, n: u32) -> Faults {
        self.max_in_a_row = Some(n);
        self
    }

    /// Sets [`Faults::seed`].
    pub fn seed(mut self, seed: u64) -> Faults {
        self.seed = seed;
        self
    }

    /// Checks the rates are within 0 to 1 and the statuses are errors.
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        for (name, rate) in [
            ("error", self.error_rate),
            ("drop", self.drop_rate),
            ("stall", self.stall_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return invalid(format!("{name} rate {rate} is not between 0 and 1"));
            }
        }
        if self.error_statuses.is_empty() {
            return invalid("no error statuses to inject".into());
        }
        if let Some(s) = self
            .error_statuses
            .iter()
            .find(|s| !(400..=599).contains(*s))
        {
            return invalid(format!("{s} is not an error status (400 to 599)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_validated() {
        assert!(Faults::none().validate().is_ok());
        assert!(Faults::none().error_rate(1.5).validate().is_err());
        assert!(Faults::none().drop_rate(-0.1).validate().is_err());
        assert!(Faults::none().drop_rate(f64::NAN).validate().is_err());
        assert!(Faults::none().error_statuses([200]).validate().is_err());
        assert!(Faults::none().error_statuses([]).validate().is_err());
        assert!(Faults::none().error_statuses([429, 500]).validate().is_ok());
    }
}
