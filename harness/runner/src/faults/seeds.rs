//! The seeds `harness run --faults` takes: one (`42`, which replays that plan), a range
//! (`0..10000`, the end excluded), or `random` (one fresh seed, printed so that it can be
//! replayed).

use std::ops::{Range, RangeInclusive};

/// Which seeds to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeds {
    One(u64),
    Range(Range<u64>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedsError {
    #[error("`{0}` is not a seed: write a number (`42`), a range (`0..100`, the end excluded) or `random`")]
    Malformed(String),
    #[error("`{0}` is an empty range of seeds: the end is excluded, write `N..M` with M > N")]
    Empty(String),
}

impl Seeds {
    /// Reads the option's value; `random` draws a seed from the OS.
    pub fn parse(text: &str) -> Result<Seeds, SeedsError> {
        let text = text.trim();
        let number = |s: &str| s.trim().parse::<u64>().map_err(|_| SeedsError::Malformed(text.to_string()));
        if text == "random" {
            return Ok(Seeds::One(fresh()));
        }
        match text.split_once("..") {
            Some((start, end)) => {
                let range = number(start)?..number(end)?;
                if range.is_empty() {
                    return Err(SeedsError::Empty(text.to_string()));
                }
                Ok(Seeds::Range(range))
            }
            None => Ok(Seeds::One(number(text)?)),
        }
    }

    /// The seeds, in order (a range is never empty).
    pub fn iter(&self) -> RangeInclusive<u64> {
        match self {
            Seeds::One(s) => *s..=*s,
            Seeds::Range(r) => r.start..=r.end.saturating_sub(1),
        }
    }
}

/// As written on the command line: `42`, `0..100` (a `random` seed as the number drawn).
impl std::fmt::Display for Seeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seeds::One(s) => write!(f, "{s}"),
            Seeds::Range(r) => write!(f, "{}..{}", r.start, r.end),
        }
    }
}

/// A seed no earlier run is likely to have used: the clock's nanoseconds and the pid, mixed
/// (it is printed, and replayed by number; it need not be unpredictable).
fn fresh() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut z = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_back_as_given() {
        assert_eq!(Seeds::parse("42").map(|s| s.to_string()), Ok("42".to_string()));
        assert_eq!(Seeds::parse(" 0..25 ").map(|s| s.to_string()), Ok("0..25".to_string()));
    }

    #[test]
    fn one_a_range_or_random() {
        assert_eq!(Seeds::parse("42"), Ok(Seeds::One(42)));
        assert_eq!(Seeds::parse("0..3").map(|s| s.iter().collect::<Vec<_>>()), Ok(vec![0, 1, 2]));
        assert!(matches!(Seeds::parse("random"), Ok(Seeds::One(_))));
        assert_eq!(Seeds::parse("5..5"), Err(SeedsError::Empty("5..5".into())));
        assert_eq!(Seeds::parse("x"), Err(SeedsError::Malformed("x".into())));
        assert_eq!(Seeds::parse("1..=3"), Err(SeedsError::Malformed("1..=3".into())));
        assert_eq!(Seeds::One(u64::MAX).iter().collect::<Vec<_>>(), [u64::MAX]);
    }
}
