//! The timing of one direction of the delay proxy: when each chunk of
//! bytes read may be written on. A chunk leaves the emulated link once the
//! link has sent the chunks before it (rate: a token bucket of one chunk
//! at a time), then arrives one-way delay later (half the RTT, plus a
//! uniform jitter of up to half the RTT's jitter either way); a chunk
//! never arrives before the one read before it (a byte stream keeps its
//! order, so jitter cannot reorder it, as on a real TCP connection).
//!
//! Loss on a byte stream: TCP retransmits a lost segment, so the bytes
//! arrive intact, late. Each 1448-byte segment of a chunk is lost with
//! probability `loss_pct`; a chunk with a lost segment arrives one
//! retransmission timeout later (Linux's minimum RTO, 200 ms, plus the
//! RTT), and everything behind it waits (head-of-line blocking). Fast
//! retransmit (about one RTT) is not modelled: request/response traffic
//! such as Redis's rarely has the three segments behind a loss that it needs.

use std::time::{Duration, Instant};

use super::super::LinkShape;

/// TCP's maximum segment size on a 1500-byte Ethernet link.
const MSS: usize = 1448;
/// Linux's minimum retransmission timeout.
const MIN_RTO: Duration = Duration::from_millis(200);

/// When the chunks of one direction arrive.
#[derive(Debug, Clone)]
pub(super) struct Schedule {
    one_way: Duration,
    /// Half the jitter of the round trip: the most a chunk's delay moves either way.
    jitter: Duration,
    /// Bytes per second (0: unlimited).
    bytes_per_s: f64,
    /// Probability a segment is lost (0..1).
    loss: f64,
    rto: Duration,
    link_free: Option<Instant>,
    last_due: Option<Instant>,
}

impl Schedule {
    /// The schedule of one direction; `with_loss` on the host-to-Redis one.
    pub(super) fn new(shape: &LinkShape, with_loss: bool) -> Schedule {
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        Schedule {
            one_way: ms(shape.rtt_ms / 2.0),
            jitter: ms(shape.jitter_ms / 2.0),
            bytes_per_s: shape.rate_mbit.max(0.0) * 125_000.0,
            loss: if with_loss {
                (shape.loss_pct / 100.0).clamp(0.0, 1.0)
            } else {
                0.0
            },
            rto: MIN_RTO + ms(shape.rtt_ms),
            link_free: None,
            last_due: None,
        }
    }

    /// True when chunks pass at once (nothing to delay, limit or lose).
    pub(super) fn is_immediate(&self) -> bool {
        self.one_way.is_zero()
            && self.jitter.is_zero()
            && self.bytes_per_s == 0.0
            && self.loss == 0.0
    }

    /// When a chunk of `len` bytes read at `now` may be written on;
    /// `random` gives numbers in 0..1 (jitter and loss).
    pub(super) fn due(
        &mut self,
        now: Instant,
        len: usize,
        mut random: impl FnMut() -> f64,
    ) -> Instant {
        let start = self.link_free.map_or(now, |free| free.max(now));
        let sent = if self.bytes_per_s > 0.0 {
            start + Duration::from_secs_f64(len as f64 / self.bytes_per_s)
        } else {
            start
        };
        self.link_free = Some(sent);
        let mut delay = self.one_way.as_secs_f64();
        if !self.jitter.is_zero() {
            delay += self.jitter.as_secs_f64() * (2.0 * random() - 1.0);
        }
        let mut arrives = sent + Duration::from_secs_f64(delay.max(0.0));
        if self.loss > 0.0 {
            let segments = len.div_ceil(MSS).max(1);
            if (0..segments).any(|_| random() < self.loss) {
                arrives += self.rto;
            }
        }
        let due = self.last_due.map_or(arrives, |last| last.max(arrives));
        self.last_due = Some(due);
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(rtt_ms: f64, jitter_ms: f64, loss_pct: f64, rate_mbit: f64) -> LinkShape {
        LinkShape {
            rtt_ms,
            jitter_ms,
            loss_pct,
            rate_mbit,
        }
    }

    #[test]
    fn half_the_rtt_each_way_in_order_with_rate_and_loss() {
        let now = Instant::now();
        let mut s = Schedule::new(&shape(10.0, 0.0, 0.0, 0.0), true);
        assert_eq!(s.due(now, 100, || 0.5), now + Duration::from_millis(5));
        assert!(Schedule::new(&shape(0.0, 0.0, 0.0, 0.0), true).is_immediate());
        // 8 Mbit/s = 1 MB/s: 1000 bytes take 1 ms on the link, back to back.
        let mut s = Schedule::new(&shape(0.0, 0.0, 0.0, 8.0), true);
        assert_eq!(s.due(now, 1000, || 0.5), now + Duration::from_millis(1));
        assert_eq!(s.due(now, 1000, || 0.5), now + Duration::from_millis(2));
        // Jitter never reorders: each due is at or after the one before.
        let mut s = Schedule::new(&shape(2.0, 2.0, 0.0, 0.0), true);
        let mut values = [0.9, 0.9, 0.1, 0.1].into_iter().cycle();
        let first = s.due(now, 10, || values.next().unwrap_or(0.5));
        let second = s.due(now, 10, || values.next().unwrap_or(0.5));
        assert!(second >= first);
        // A lost segment costs one RTO (200 ms + RTT); no loss the other way.
        let mut s = Schedule::new(&shape(10.0, 0.0, 100.0, 0.0), true);
        assert_eq!(s.due(now, 10, || 0.0), now + Duration::from_millis(215));
        let mut s = Schedule::new(&shape(10.0, 0.0, 100.0, 0.0), false);
        assert_eq!(s.due(now, 10, || 0.0), now + Duration::from_millis(5));
    }
}
