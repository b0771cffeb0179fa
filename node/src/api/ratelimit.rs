//! Per-token request rate limit (token bucket) → 429 `rate_limited` (RELIABILITY F11).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Most distinct tokens tracked; the table is cleared when it grows past this.
const MAX_TRACKED: usize = 10_000;

/// Token buckets keyed by token id.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second with bursts of `burst`; `rate == 0` disables the limit.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter { rate: rate as f64, burst: burst.max(1) as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key`'s bucket; `false` when it is empty.
    pub fn allow(&self, key: &str) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > MAX_TRACKED {
            b.clear();
        }
        let (tokens, last) = b.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let r = RateLimiter::new(1, 3);
        assert!((0..3).all(|_| r.allow("a")));
        assert!(!r.allow("a"));
        assert!(r.allow("b"));
        assert!(RateLimiter::new(0, 0).allow("x"));
    }
}
