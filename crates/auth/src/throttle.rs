//! The login throttle: repeated failed logins for one username are first slowed down, then
//! refused for a while. Counted per username (not per address), so a guesser gains nothing by
//! spreading over many addresses; the state lives in the database so every instance shares it.

use std::time::Duration;

use chrono::{DateTime, Utc};

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
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            slow_after: 3,
            step: Duration::from_millis(500),
        }
    }
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
                delay: self.step.saturating_mul(over),
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
