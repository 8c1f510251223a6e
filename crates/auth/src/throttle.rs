//! The login throttle: repeated failed logins are first slowed down, then refused for a while.
//!
//! Attempts are counted under three keys ([`Keys`]), each with its own [`ThrottlePolicy`]:
//! - the source address (an IPv6 address by its /64): a guesser's own address is slowed, then
//!   refused, whatever usernames it tries;
//! - the username from that source: the classic "five wrong passwords" lock, but only for that
//!   source, so a stranger cannot lock the real user out;
//! - the username alone, from anywhere: only ever slowed, by a small bounded delay
//!   ([`ThrottlePolicy::slow_only`]), never refused, so a guesser spread over many addresses
//!   pays a little more and the account stays open for everyone else.
//!
//! The state lives in the database so every instance shares it.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::refresh::hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts within `window` that may fail; the next attempt locks the username.
    pub max_failures: u32,
    /// Attempts older than this are forgotten.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// Attempt number k waits `step` × (k − this) before its password is checked.
    pub slow_after: u32,
    pub step: Duration,
    /// The longest delay an attempt waits.
    pub max_delay: Duration,
}

impl Default for ThrottlePolicy {
    /// The policy of a username from one source address.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            slow_after: 3,
            step: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl ThrottlePolicy {
    /// The policy of one source address: many usernames may sign in from one office's address,
    /// so it allows more failures than the per-username policy.
    pub fn per_source() -> Self {
        Self {
            max_failures: 30,
            slow_after: 10,
            step: Duration::from_millis(200),
            ..Self::default()
        }
    }

    /// The policy of a username from anywhere: never refuses, only adds a small bounded delay
    /// (at most one second) once many attempts failed.
    pub fn slow_only() -> Self {
        Self {
            max_failures: u32::MAX,
            slow_after: 10,
            step: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Self::default()
        }
    }
}

/// The throttle keys of one login attempt. They fit the throttle table's 64-character key:
/// the address as text, the others as a hash (the table never holds a username in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub source: String,
    pub user_at_source: String,
    pub user: String,
}

impl Keys {
    pub fn new(username: &str, source: IpAddr) -> Self {
        let source_key = Self::source_only(source);
        let source = source_prefix(source);
        let digest = |label: &str, value: &str| -> String {
            let h = hex(&Sha256::digest(format!("{label}\n{value}").as_bytes()));
            format!("{}:{}", &label[..1], &h[..62])
        };
        Self {
            source: source_key,
            user_at_source: digest("user-at-source", &format!("{username}\n{source}")),
            user: digest("name", username),
        }
    }
}

impl Keys {
    /// The key of the source address alone: what an attempt with a username no account can
    /// have counts under (there is no username to count it for).
    pub fn source_only(source: IpAddr) -> String {
        format!("a:{}", source_prefix(source))
    }
}

/// The address a throttle counts under: an IPv4 address (also when mapped into IPv6) as is, an
/// IPv6 address by its /64, the block one subscriber usually holds.
pub fn source_prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The answer of several gates: refused if any refuses (after the longest wait), else open
/// after the longest delay.
pub fn combine(gates: &[Gate]) -> Gate {
    let locked = gates
        .iter()
        .filter_map(|g| match g {
            Gate::Locked { retry_after_secs } => Some(*retry_after_secs),
            Gate::Open { .. } => None,
        })
        .max();
    if let Some(retry_after_secs) = locked {
        return Gate::Locked { retry_after_secs };
    }
    let delay = gates
        .iter()
        .map(|g| match g {
            Gate::Open { delay } => *delay,
            Gate::Locked { .. } => Duration::ZERO,
        })
        .max()
        .unwrap_or(Duration::ZERO);
    Gate::Open { delay }
}

/// The attempt state of one username: attempts counted since the window started and not yet
/// followed by a successful login (a success clears the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub attempts: u32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// What to do with a login attempt before checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Check the password, after waiting `delay`.
    Open { delay: Duration },
    /// Refuse without checking; try again after this many seconds.
    Locked { retry_after_secs: u64 },
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl ThrottlePolicy {
    /// Counts one attempt at `now`. Every attempt is counted before its password is checked,
    /// so many attempts at once cannot all pass a check that each made alone. Returns the state
    /// to store and what to do with the attempt.
    pub fn on_attempt(&self, state: ThrottleState, now: DateTime<Utc>) -> (ThrottleState, Gate) {
        if let Some(until) = state.locked_until.filter(|until| *until > now) {
            let secs = (until - now).num_milliseconds().max(0).div_euclid(1000) + 1;
            let retry_after_secs = u64::try_from(secs).unwrap_or(1);
            return (state, Gate::Locked { retry_after_secs });
        }
        let lapsed =
            state.locked_until.is_some() || now >= state.window_started_at + to_chrono(self.window);
        let mut next = if lapsed {
            ThrottleState {
                attempts: 0,
                window_started_at: now,
                locked_until: None,
            }
        } else {
            state
        };
        next.attempts = next.attempts.saturating_add(1);
        if next.attempts > self.max_failures {
            next.locked_until = Some(now + to_chrono(self.lockout));
            return (
                next,
                Gate::Locked {
                    retry_after_secs: self.lockout.as_secs().max(1),
                },
            );
        }
        let over = next.attempts.saturating_sub(self.slow_after);
        (
            next,
            Gate::Open {
                delay: self.step.saturating_mul(over).min(self.max_delay),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(now: DateTime<Utc>) -> ThrottleState {
        ThrottleState {
            attempts: 0,
            window_started_at: now,
            locked_until: None,
        }
    }

    #[test]
    fn slows_then_locks_then_forgets() {
        let policy = ThrottlePolicy::default();
        let t0 = Utc::now();
        let mut state = fresh(t0);
        let mut delays = vec![];
        for i in 0..5 {
            let now = t0 + chrono::Duration::seconds(i);
            let (next, gate) = policy.on_attempt(state, now);
            state = next;
            match gate {
                Gate::Open { delay } => delays.push(delay.as_millis()),
                Gate::Locked { .. } => panic!("locked too early at attempt {i}"),
            }
        }
        assert_eq!(delays, vec![0, 0, 0, 500, 1000]);
        // The sixth attempt within the window locks the username.
        let (locked, gate) = policy.on_attempt(state, t0 + chrono::Duration::seconds(10));
        assert_eq!(
            gate,
            Gate::Locked {
                retry_after_secs: 900
            }
        );
        // While locked, every attempt is refused with the time left.
        let (_, gate) = policy.on_attempt(locked, t0 + chrono::Duration::seconds(110));
        assert_eq!(
            gate,
            Gate::Locked {
                retry_after_secs: 801
            }
        );
        // After the lock, counting starts again.
        let later = t0 + chrono::Duration::minutes(16);
        let (after, gate) = policy.on_attempt(locked, later);
        assert_eq!(
            gate,
            Gate::Open {
                delay: Duration::ZERO
            }
        );
        assert_eq!((after.attempts, after.locked_until), (1, None));
    }

    #[test]
    fn the_username_alone_is_slowed_boundedly_and_never_refused() {
        let policy = ThrottlePolicy::slow_only();
        let t0 = Utc::now();
        let mut state = fresh(t0);
        let mut last = Duration::ZERO;
        for _ in 0..10_000 {
            let (next, gate) = policy.on_attempt(state, t0);
            state = next;
            match gate {
                Gate::Open { delay } => last = delay,
                Gate::Locked { .. } => panic!("slow_only refused an attempt"),
            }
        }
        assert_eq!(last, Duration::from_secs(1));
    }

    #[test]
    fn keys_fit_the_table_and_separate_sources() {
        let a: IpAddr = "127.0.0.2"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let b: IpAddr = "127.0.0.3"
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let name = "u".repeat(64);
        let ka = Keys::new(&name, a);
        let kb = Keys::new(&name, b);
        assert_ne!(ka.user_at_source, kb.user_at_source);
        assert_ne!(ka.source, kb.source);
        assert_eq!(ka.user, kb.user);
        // A malformed username counts under the same source key as a real one.
        assert_eq!(Keys::source_only(a), ka.source);
        for k in [&ka.source, &ka.user_at_source, &ka.user] {
            assert!(k.len() <= 64, "{k}");
        }
        assert!(!ka.user.contains(&name));
        // One IPv6 subscriber's /64 is one source.
        let x: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(a);
        let y: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap_or(a);
        assert_eq!(Keys::new("n", x).source, Keys::new("n", y).source);
        assert_eq!(Keys::new("n", x).source, "a:2001:db8:1:2::");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap_or(a);
        assert_eq!(Keys::new("n", mapped).source, "a:10.1.2.3");
    }

    #[test]
    fn combined_gates_take_the_strictest() {
        let ms = Duration::from_millis;
        assert_eq!(
            combine(&[Gate::Open { delay: ms(5) }, Gate::Open { delay: ms(9) }]),
            Gate::Open { delay: ms(9) }
        );
        assert_eq!(
            combine(&[
                Gate::Open { delay: ms(5) },
                Gate::Locked {
                    retry_after_secs: 3
                },
                Gate::Locked {
                    retry_after_secs: 7
                }
            ]),
            Gate::Locked {
                retry_after_secs: 7
            }
        );
    }

    #[test]
    fn old_attempts_fall_out_of_the_window() {
        let policy = ThrottlePolicy::default();
        let t0 = Utc::now();
        let (s, _) = policy.on_attempt(fresh(t0), t0);
        let (s, _) = policy.on_attempt(s, t0);
        assert_eq!(s.attempts, 2);
        let (s, _) = policy.on_attempt(s, t0 + chrono::Duration::minutes(20));
        assert_eq!(s.attempts, 1);
    }
}
