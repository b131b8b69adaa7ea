//! A token bucket for Lambda's control plane, which allows about 15 requests per second per
//! region: bulk reverts pace themselves instead of meeting throttles.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::time::{sleep, Duration, Instant};

pub const LAMBDA_CONTROL_PLANE_RPS: f64 = 15.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Shared by every clone: one budget per process.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    bucket: Arc<Mutex<Bucket>>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate_per_sec,
            burst,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            })),
        }
    }

    pub fn lambda_control_plane() -> Self {
        Self::new(LAMBDA_CONTROL_PLANE_RPS, LAMBDA_CONTROL_PLANE_RPS)
    }

    /// Waits for one request's worth of budget.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut bucket = self.bucket.lock().await;
                let now = Instant::now();
                let earned = now.duration_since(bucket.last).as_secs_f64() * self.rate;
                bucket.tokens = (bucket.tokens + earned).min(self.burst);
                bucket.last = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate)
            };
            sleep(wait).await;
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
