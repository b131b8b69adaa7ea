//! A token bucket for Lambda's control plane, which allows about 15 requests per second per
//! region: bulk reverts pace themselves instead of meeting throttles. The bucket is
//! `governor`'s (GCRA); it reads tokio's clock, so a wait is tokio's sleep and paused time in
//! tests paces it too.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;
use tokio::time::{sleep, Duration, Instant};

pub const LAMBDA_CONTROL_PLANE_RPS: f64 = 15.0;

/// Time since the limiter was made, on tokio's clock.
#[derive(Clone, Debug)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Bucket = governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Shared by every clone: one budget per process.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    bucket: Arc<Bucket>,
    clock: TokioClock,
}

impl RateLimiter {
    /// `rate_per_sec` requests a second on average, up to `burst` at once (at least one).
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        let burst = NonZeroU32::new(burst.max(1.0) as u32).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate_per_sec))
            .expect("a positive rate")
            .allow_burst(burst);
        let clock = TokioClock {
            origin: Instant::now(),
        };
        RateLimiter {
            bucket: Arc::new(Bucket::direct_with_clock(quota, clock.clone())),
            clock,
        }
    }

    pub fn lambda_control_plane() -> Self {
        Self::new(LAMBDA_CONTROL_PLANE_RPS, LAMBDA_CONTROL_PLANE_RPS)
    }

    /// Waits for one request's worth of budget.
    pub async fn acquire(&self) {
        while let Err(not_until) = self.bucket.check() {
            sleep(not_until.wait_time_from(self.clock.now())).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn forty_requests_take_the_time_fifteen_per_second_allows() {
        let limiter = RateLimiter::lambda_control_plane();
        let start = Instant::now();
        let mut finished = Vec::new();
        for _ in 0..40 {
            limiter.acquire().await;
            finished.push(start.elapsed());
        }
        // The burst goes at once; the other 25 are paced at 15 per second (virtual time).
        assert!(
            finished[14] < Duration::from_millis(1),
            "{:?}",
            finished[14]
        );
        let expected = Duration::from_secs_f64(25.0 / 15.0);
        let last = finished[39];
        assert!(
            last >= expected - Duration::from_millis(5)
                && last <= expected + Duration::from_millis(100),
            "{last:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_budget() {
        let limiter = RateLimiter::new(10.0, 1.0);
        let start = Instant::now();
        let tasks: Vec<_> = (0..11)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.acquire().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(995),
            "{:?}",
            start.elapsed()
        );
    }
}
