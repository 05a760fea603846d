//! Per-credential rate limiting: a token bucket per principal (governor's
//! GCRA), answered with 429 and `Retry-After` when empty.

use crate::problem::Problem;
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Limiter {
    /// `None` when `per_second` is 0 (limiting off).
    pub fn new(per_second: u32, burst: u32) -> Option<Limiter> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(Limiter {
            inner: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        })
    }

    pub fn check(&self, key: &str) -> Result<(), Problem> {
        match self.inner.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    format!("rate limit exceeded; retry in {secs} s"),
                );
                p.retry_after = Some(secs.max(1));
                Err(p)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_429_with_retry_after_and_buckets_are_per_key() {
        let l = Limiter::new(1, 3).unwrap();
        for _ in 0..3 {
            l.check("a").unwrap();
        }
        let p = l.check("a").unwrap_err();
        assert_eq!(p.status, 429);
        assert!(p.retry_after.unwrap() >= 1);
        l.check("b").unwrap();
        assert!(Limiter::new(0, 10).is_none());
    }
}
