//! Bounds on what clients can make processd spend: login attempts (rate-limited per client
//! address and per account) and the password hashes they cost (a fixed number at once).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use process_core::Caller;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The address a client is limited by. An IPv6 client usually holds a whole /64, so it is one
/// client; an IPv4 address is one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(bits.into()))
                }
            },
            v4 => Self(v4),
        }
    }
}

/// Who a per-caller cap counts against: a user, or an anonymous client by its address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallerKey {
    User(String),
    Anonymous(ClientAddr),
}

impl CallerKey {
    pub fn of(caller: &Caller, addr: ClientAddr) -> Self {
        match caller.user_id() {
            Some(id) => Self::User(id.to_string()),
            None => Self::Anonymous(addr),
        }
    }
}

/// Counts of things held at once (archives being written, live feeds), overall and per key;
/// a `CapSlot` holds one place until dropped.
pub struct Caps {
    inner: Arc<Mutex<CapsInner>>,
}

struct CapsInner {
    total: usize,
    max_total: usize,
    max_per_key: usize,
    per_key: HashMap<CapKey, usize>,
}

/// What a per-key cap counts: a caller, or a process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CapKey {
    Caller(CallerKey),
    Process(i64),
}

/// One place under a `Caps`.
pub struct CapSlot {
    caps: Arc<Mutex<CapsInner>>,
    key: CapKey,
}

/// Which cap refused a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The overall one.
    Total(usize),
    /// The one of the key.
    PerKey(usize),
}

impl Caps {
    pub fn new(max_total: usize, max_per_key: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(CapsInner {
                total: 0,
                max_total,
                max_per_key,
                per_key: HashMap::new(),
            })),
        }
    }

    pub fn try_acquire(&self, key: CapKey) -> Result<CapSlot, Full> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.total >= inner.max_total {
            return Err(Full::Total(inner.max_total));
        }
        let max_per_key = inner.max_per_key;
        let held = inner.per_key.entry(key.clone()).or_insert(0);
        if *held >= max_per_key {
            return Err(Full::PerKey(max_per_key));
        }
        *held += 1;
        inner.total += 1;
        Ok(CapSlot {
            caps: Arc::clone(&self.inner),
            key,
        })
    }

    /// Places held now.
    pub fn held(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for CapSlot {
    fn drop(&mut self) {
        let mut inner = self.caps.lock().unwrap_or_else(PoisonError::into_inner);
        inner.total = inner.total.saturating_sub(1);
        if let Some(held) = inner.per_key.get_mut(&self.key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                inner.per_key.remove(&self.key);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LoginKey {
    Addr(ClientAddr),
    Account(String),
}

/// Longest account name kept as a key; longer names cannot exist (see `user add`).
const MAX_ACCOUNT_KEY: usize = 128;

/// Login attempts and the Argon2 hashes they cost. Each hash takes about 19 MiB for tens of
/// milliseconds: unbounded, 300 parallel wrong passwords took 4.4 GB.
pub struct LoginLimits {
    attempts: DefaultKeyedRateLimiter<LoginKey>,
    hashes: Arc<Semaphore>,
    hash_wait: Duration,
    /// Hashes running now, and the most that ever ran at once.
    in_flight: Gauge,
    peak: Gauge,
}

/// A permit to hash one password; held until the hash is done.
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
    in_flight: Gauge,
}

impl Drop for HashPermit {
    fn drop(&mut self) {
        self.in_flight.dec();
    }
}

impl LoginLimits {
    pub fn new(config: &Config, metrics: &Metrics) -> Self {
        // `login_attempts` at once, then one more every window / attempts (GCRA): an attacker
        // gets `login_attempts` guesses per window, a user who mistyped waits seconds.
        let burst = NonZeroU32::new(config.login_attempts).unwrap_or(NonZeroU32::MIN);
        let period = (config.login_window / burst.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            attempts: RateLimiter::keyed(quota),
            hashes: Arc::new(Semaphore::new(config.login_max_concurrent_hashes.max(1))),
            hash_wait: config.login_hash_wait,
            in_flight: metrics.login_hashes.clone(),
            peak: metrics.login_hashes_peak.clone(),
        }
    }

    /// Counts an attempt against the client's address and the account it names; 429 with the
    /// time until the next attempt is allowed when either is used up.
    pub fn attempt(&self, addr: ClientAddr, account: &str) -> Result<(), ApiError> {
        let mut end = account.len().min(MAX_ACCOUNT_KEY);
        while !account.is_char_boundary(end) {
            end -= 1;
        }
        for key in [
            LoginKey::Addr(addr),
            LoginKey::Account(account[..end].to_owned()),
        ] {
            if let Err(not_until) = self.attempts.check_key(&key) {
                let wait = not_until.wait_time_from(self.attempts.clock().now());
                return Err(ApiError::RateLimited {
                    message: "too many login attempts; try again later".into(),
                    retry_after: wait,
                });
            }
        }
        Ok(())
    }

    /// Waits a little for a hash slot; 503 when the hashes at hand do not finish in time.
    pub async fn hash_permit(&self) -> Result<HashPermit, ApiError> {
        let acquire = Arc::clone(&self.hashes).acquire_owned();
        match tokio::time::timeout(self.hash_wait, acquire).await {
            Ok(Ok(permit)) => {
                let now = self.in_flight.inc() + 1;
                self.peak
                    .inner()
                    .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                Ok(HashPermit {
                    _permit: permit,
                    in_flight: self.in_flight.clone(),
                })
            }
            _ => Err(ApiError::Busy {
                message: "too many logins are being checked; try again shortly".into(),
                retry_after: Duration::from_secs(1),
            }),
        }
    }

    /// Forgets clients whose attempts have all been replenished, so the table holds only
    /// those seen within the last window.
    pub fn forget_idle(&self) {
        self.attempts.retain_recent();
        self.attempts.shrink_to_fit();
    }
}

/// Forgets idle login clients every minute, for as long as the limits exist.
pub fn spawn_cleanup(limits: std::sync::Weak<LoginLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            match limits.upgrade() {
                Some(l) => l.forget_idle(),
                None => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddr::of(a), ClientAddr::of(b));
        assert_ne!(ClientAddr::of(a), ClientAddr::of(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(ClientAddr::of(mapped), ClientAddr::of(v4));
    }

    #[test]
    fn caps_count_overall_and_per_key_and_free_on_drop() {
        let caps = Caps::new(3, 2);
        let a = || CapKey::Process(1);
        let b = || CapKey::Process(2);
        let a1 = caps.try_acquire(a()).unwrap();
        let _a2 = caps.try_acquire(a()).unwrap();
        assert_eq!(caps.try_acquire(a()).err(), Some(Full::PerKey(2)));
        let _b1 = caps.try_acquire(b()).unwrap();
        assert_eq!(caps.try_acquire(b()).err(), Some(Full::Total(3)));
        drop(a1);
        assert_eq!(caps.held(), 2);
        let _a3 = caps.try_acquire(a()).unwrap();
        assert_eq!(caps.held(), 3);
    }
}
