//! The login throttle: repeated failed logins for one username are first slowed down, then
//! refused for a while. Counted per username (not per address), so a guesser gains nothing by
//! spreading over many addresses; the state lives in the database so every instance shares it.

use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` after which the username is locked.
    pub max_failures: u32,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// From this many failures on, each further attempt waits `step` × (failures − this + 1).
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

/// The failed-login state of one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: u32,
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
    /// The state as of `now`: a lapsed window or lock counts as no failures at all.
    fn current(&self, state: Option<ThrottleState>, now: DateTime<Utc>) -> Option<ThrottleState> {
        let state = state?;
        let locked = state.locked_until.is_some_and(|until| until > now);
        let in_window = now < state.window_started_at + to_chrono(self.window);
        (locked || (in_window && state.locked_until.is_none())).then_some(state)
    }

    pub fn gate(&self, state: Option<ThrottleState>, now: DateTime<Utc>) -> Gate {
        let Some(state) = self.current(state, now) else {
            return Gate::Open {
                delay: Duration::ZERO,
            };
        };
        if let Some(until) = state.locked_until.filter(|until| *until > now) {
            let secs = (until - now).num_milliseconds().max(0).div_euclid(1000) + 1;
            return Gate::Locked {
                retry_after_secs: u64::try_from(secs).unwrap_or(1),
            };
        }
        let over = state
            .failures
            .saturating_add(1)
            .saturating_sub(self.slow_after);
        Gate::Open {
            delay: self.step.saturating_mul(over),
        }
    }

    /// The state after one more failure at `now`; reaching `max_failures` locks the username.
    pub fn after_failure(&self, state: Option<ThrottleState>, now: DateTime<Utc>) -> ThrottleState {
        let mut next = self.current(state, now).unwrap_or(ThrottleState {
            failures: 0,
            window_started_at: now,
            locked_until: None,
        });
        next.failures = next.failures.saturating_add(1);
        if next.failures >= self.max_failures {
            next.locked_until = Some(now + to_chrono(self.lockout));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_then_locks_then_forgets() {
        let policy = ThrottlePolicy::default();
        let t0 = Utc::now();
        let mut state = None;
        let mut delays = vec![];
        for i in 0..5 {
            let now = t0 + chrono::Duration::seconds(i);
            match policy.gate(state, now) {
                Gate::Open { delay } => delays.push(delay.as_millis()),
                Gate::Locked { .. } => panic!("locked too early at attempt {i}"),
            }
            state = Some(policy.after_failure(state, now));
        }
        assert_eq!(delays, vec![0, 0, 0, 500, 1000]);
        let now = t0 + chrono::Duration::seconds(10);
        match policy.gate(state, now) {
            Gate::Locked { retry_after_secs } => {
                assert!(
                    (890..=900).contains(&retry_after_secs),
                    "{retry_after_secs}"
                )
            }
            Gate::Open { .. } => panic!("should be locked after 5 failures"),
        }
        let later = t0 + chrono::Duration::minutes(16);
        assert_eq!(
            policy.gate(state, later),
            Gate::Open {
                delay: Duration::ZERO
            }
        );
        let after = policy.after_failure(state, later);
        assert_eq!(after.failures, 1);
        assert_eq!(after.locked_until, None);
    }

    #[test]
    fn old_failures_fall_out_of_the_window() {
        let policy = ThrottlePolicy::default();
        let t0 = Utc::now();
        let state = policy.after_failure(None, t0);
        let state = policy.after_failure(Some(state), t0);
        let later = t0 + chrono::Duration::minutes(20);
        assert_eq!(policy.after_failure(Some(state), later).failures, 1);
    }
}
