//! Sign-in throttling: how many password guesses anyone gets.
//!
//! Every attempt is counted the moment it starts, before its password is verified, in one step
//! with the check that lets it start: parallel guesses cannot all pass a check that none of them
//! has counted yet. Attempts are counted twice, per user name and per source address:
//! - a user name past its limit stops guessing at one account from many places;
//! - a source address past its limit stops one place spraying one password over many accounts.
//!
//! A user name past its limit does not lock its owner out: an attempt from a source that has not
//! failed in the window is still let through, one at a time per user name and at most one per
//! [`Limits::slow_down_secs`]. Whoever knows a user name can thus slow its owner down by a few
//! seconds, not lock them out for the whole window; an attacker gets one guess per fresh source
//! and interval, and each guess spends that source.
//!
//! Kept in memory per node; a cluster of N nodes allows N times the limits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The limits, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts that may fail per user name within the window.
    pub per_user: u32,
    /// Attempts that may fail per source address within the window.
    pub per_source: u32,
    pub window_secs: i64,
    /// Past its user name's limit, how often a clean source may still try.
    pub slow_down_secs: i64,
}

/// Failed (or still running) attempts within a window that started at `since`.
#[derive(Debug, Clone, Copy)]
struct Count {
    n: u32,
    since: i64,
}

impl Count {
    fn current(self, now: i64, window: i64) -> Count {
        if now - self.since >= window {
            Count { n: 0, since: now }
        } else {
            self
        }
    }
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<String, Count>,
    sources: HashMap<IpAddr, Count>,
    /// Per user name past its limit: when a clean source may next try.
    slow_until: HashMap<String, i64>,
}

/// An attempt that was let through. It was counted as failed when it began; a right password
/// reports [`Throttle::succeeded`], a wrong one just drops it.
#[derive(Debug)]
pub struct Attempt {
    username: String,
    source: IpAddr,
}

/// The sign-in throttle of one node.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

/// Entries kept before old ones are dropped.
const MAX_ENTRIES: usize = 100_000;

impl Throttle {
    /// Lets an attempt start, counted as failed until it succeeds, or answers how many seconds to
    /// wait.
    pub fn begin(&self, username: &str, source: IpAddr, now: i64, limits: Limits) -> Result<Attempt, i64> {
        let w = limits.window_secs;
        let Ok(mut st) = self.state.lock() else {
            // A poisoned lock means a panic elsewhere; refusing is the safe answer.
            return Err(limits.slow_down_secs.max(1));
        };
        if st.users.len() + st.sources.len() > MAX_ENTRIES {
            st.users.retain(|_, c| now - c.since < w);
            st.sources.retain(|_, c| now - c.since < w);
            st.slow_until.retain(|_, t| *t > now);
        }
        let src = st
            .sources
            .get(&source)
            .map_or(Count { n: 0, since: now }, |c| c.current(now, w));
        if src.n >= limits.per_source {
            return Err(w - (now - src.since));
        }
        let user = st
            .users
            .get(username)
            .map_or(Count { n: 0, since: now }, |c| c.current(now, w));
        if user.n >= limits.per_user {
            // Past the user name's limit: only a source that has not failed, one at a time.
            if src.n > 0 {
                return Err(w - (now - user.since));
            }
            let next = st.slow_until.get(username).copied().unwrap_or(i64::MIN);
            if now < next {
                return Err(next - now);
            }
            st.slow_until
                .insert(username.to_owned(), now + limits.slow_down_secs);
        }
        st.users.insert(
            username.to_owned(),
            Count {
                n: user.n + 1,
                ..user
            },
        );
        st.sources.insert(source, Count { n: src.n + 1, ..src });
        Ok(Attempt {
            username: username.to_owned(),
            source,
        })
    }

    /// The attempt's password was right: its user name starts afresh and its source's count
    /// loses this attempt.
    pub fn succeeded(&self, attempt: Attempt) {
        if let Ok(mut st) = self.state.lock() {
            st.users.remove(&attempt.username);
            st.slow_until.remove(&attempt.username);
            if let Some(c) = st.sources.get_mut(&attempt.source) {
                c.n = c.n.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        per_user: 5,
        per_source: 20,
        window_secs: 900,
        slow_down_secs: 5,
    };

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn attempts_are_counted_before_they_are_verified() {
        let t = Throttle::default();
        // Thirty-two attempts at once, none finished: only the limit's worth start.
        let started: Vec<_> = (0..32)
            .filter_map(|_| t.begin("alice", ip(1), 0, LIMITS).ok())
            .collect();
        assert_eq!(started.len(), 5);
        assert_eq!(t.begin("alice", ip(1), 10, LIMITS).unwrap_err(), 890);
        // The window ends.
        assert!(t.begin("alice", ip(1), 900, LIMITS).is_ok());
    }

    #[test]
    fn one_source_spraying_many_user_names_is_stopped() {
        let t = Throttle::default();
        let ok = (0..40)
            .filter(|i| t.begin(&format!("user{i}"), ip(1), 0, LIMITS).is_ok())
            .count();
        assert_eq!(ok, 20);
        assert!(
            t.begin("user99", ip(2), 0, LIMITS).is_ok(),
            "another source is not stopped"
        );
    }

    #[test]
    fn a_user_name_past_its_limit_slows_its_owner_down_but_does_not_lock_them_out() {
        let t = Throttle::default();
        for _ in 0..5 {
            drop(t.begin("alice", ip(66), 0, LIMITS).unwrap());
        }
        // The attacker's source is done for the window.
        assert!(t.begin("alice", ip(66), 1, LIMITS).is_err());
        // Alice, from a source that has not failed, gets through; a second clean source waits
        // the slow-down interval.
        let a = t.begin("alice", ip(1), 1, LIMITS).unwrap();
        assert_eq!(t.begin("alice", ip(2), 2, LIMITS).unwrap_err(), 4);
        t.succeeded(a);
        // Her success starts the user name afresh.
        assert!(t.begin("alice", ip(2), 3, LIMITS).is_ok());
    }

    #[test]
    fn a_clean_source_that_guesses_wrong_is_no_longer_clean() {
        let t = Throttle::default();
        for _ in 0..5 {
            drop(t.begin("alice", ip(66), 0, LIMITS).unwrap());
        }
        drop(t.begin("alice", ip(7), 0, LIMITS).unwrap());
        assert!(t.begin("alice", ip(7), 10, LIMITS).is_err());
        assert!(t.begin("alice", ip(8), 10, LIMITS).is_ok());
    }
}
