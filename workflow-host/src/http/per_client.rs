//! A limit of requests per client address for the routes anyone may call without a
//! token (the tracking page, Open311): `governor`'s keyed GCRA limiter, one per
//! surface. The address is the connection's peer (`serve` puts it on every request as
//! [`ConnectInfo`]); a request without one (a router served by someone else) counts
//! against one shared key. Forwarded-for headers are not trusted: behind a reverse
//! proxy every client is the proxy, which then needs its own limit.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Past this many remembered addresses, those whose allowance has refilled are
/// forgotten, so the map stays bounded by the clients of the last minutes.
const REMEMBERED: usize = 10_000;

/// A limit per client address.
#[derive(Clone)]
pub struct PerClient {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl PerClient {
    /// `per_minute` requests a minute per address, `burst` of them at once.
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: Arc::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` if the address may be served now, otherwise how long until it may.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > REMEMBERED {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// A middleware that answers `refuse(wait)` to a client over its limit.
    pub async fn layer(
        self,
        refuse: fn(Duration) -> Response,
        request: Request,
        next: Next,
    ) -> Response {
        let client = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        match self.check(client) {
            Ok(()) => next.run(request).await,
            Err(wait) => refuse(wait),
        }
    }
}

/// The `Retry-After` of a wait: whole seconds, at least one.
pub fn retry_after(wait: Duration) -> String {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        .max(1)
        .to_string()
}
