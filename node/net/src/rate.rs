//! Per-peer token buckets for inbound sync requests (RELIABILITY F11), and the sliding windows
//! that count a peer's sync misbehaviour.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A token bucket: `burst` tokens, refilled at `rate` per second.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket { tokens: f64::from(burst), burst: f64::from(burst), rate, last: now }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Times of a peer's recent strikes of one kind, at most `limit + 1` of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Strikes {
    at: VecDeque<Instant>,
}

impl Strikes {
    /// Records a strike at `now` and returns how many fell within the last `window` (counting
    /// no further than `limit + 1`, so a flood costs no memory).
    pub(crate) fn hit(&mut self, now: Instant, window: Duration, limit: u32) -> usize {
        self.forget_before(now, window);
        self.at.push_back(now);
        while self.at.len() > limit as usize + 1 {
            self.at.pop_front();
        }
        self.at.len()
    }

    /// Whether no strike falls within the last `window` (the entry can go).
    pub(crate) fn expired(&mut self, now: Instant, window: Duration) -> bool {
        self.forget_before(now, window);
        self.at.is_empty()
    }

    fn forget_before(&mut self, now: Instant, window: Duration) {
        while self.at.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
            self.at.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3, t0);
        assert!((0..3).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        // Half a second at 2/s refills one token.
        assert!(b.try_take(t0 + Duration::from_millis(500)));
        assert!(!b.try_take(t0 + Duration::from_millis(500)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.try_take(later)).count(), 3);
    }

    #[test]
    fn strikes_count_within_the_window_only() {
        let t0 = Instant::now();
        let w = Duration::from_secs(60);
        let mut s = Strikes::default();
        assert_eq!((0..3).map(|i| s.hit(t0 + Duration::from_secs(i), w, 8)).collect::<Vec<_>>(), [1, 2, 3]);
        // The first strike (t0) has left the window; the other two are still in it.
        assert_eq!(s.hit(t0 + w, w, 8), 3);
        // Counting stops at limit + 1, however long the flood.
        assert_eq!((0..100).map(|_| s.hit(t0 + w, w, 8)).max(), Some(9));
        assert!(!s.expired(t0 + w, w));
        assert!(s.expired(t0 + 2 * w, w));
    }
}
