//! The one clock every command, job and record reads "now" from.
//!
//! `App` builds it once (`Clock::system()`), the `Store` carries it to every command, and
//! tests of time (overdue, renewals, expiring standing) set it instead of waiting:
//! `Clock::fixed(at)` and `Clock::set`. Nothing else in the crate asks the operating
//! system for the time (`shared/tests/clock.rs` checks it).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::time::{Date, Timestamp};

#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System,
    /// Epoch milliseconds, shared by every clone so a test can move the time of an `App`.
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    pub fn fixed(at: Timestamp) -> Clock {
        Clock(Source::Fixed(Arc::new(AtomicI64::new(at.millis()))))
    }

    /// Moves a fixed clock (and every clone of it); a system clock cannot be set.
    pub fn set(&self, at: Timestamp) {
        match &self.0 {
            Source::Fixed(millis) => millis.store(at.millis(), Ordering::SeqCst),
            Source::System => panic!("the system clock cannot be set; build the App with Clock::fixed"),
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Source::System => Timestamp::system_now(),
            Source::Fixed(millis) => Timestamp::from_millis(millis.load(Ordering::SeqCst)),
        }
    }

    /// The UTC calendar day of `now`.
    pub fn today(&self) -> Date {
        self.now().date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_answers_what_it_was_set_to_in_every_clone() {
        let start = Timestamp::parse("t", "2025-04-10T14:15:00Z").unwrap();
        let clock = Clock::fixed(start);
        let clone = clock.clone();
        assert_eq!(clone.now(), start);
        let later = start.plus_days(400);
        clock.set(later);
        assert_eq!(clone.now(), later);
        assert_eq!(clone.today().to_string(), "2026-05-15");
    }
}
