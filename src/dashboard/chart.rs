//! Occurrence charts as inline SVG: sparklines for the list, bars for an
//! incident. Only numbers go into the SVG (no event text).

use bugstack_core::Timestamp;
use maud::{html, Markup};

use crate::store::HourCount;

const HOUR_MS: u64 = 3_600_000;

/// `hours` summed into `buckets` buckets of `bucket_hours` hours each, the
/// last one ending with the hour of `now`; oldest first.
pub(crate) fn buckets(hours: &[HourCount], now: Timestamp, buckets: usize, bucket_hours: u64) -> Vec<u64> {
    let mut out = vec![0u64; buckets];
    let now_hour = now.as_millis() / HOUR_MS;
    let span = u64::try_from(buckets).unwrap_or(u64::MAX).saturating_mul(bucket_hours);
    for h in hours {
        let hour = h.hour.as_millis() / HOUR_MS;
        if hour > now_hour {
            continue;
        }
        let ago = now_hour - hour;
        if ago >= span {
            continue;
        }
        let from_end = usize::try_from(ago / bucket_hours.max(1)).unwrap_or(usize::MAX);
        if let Some(slot) = buckets.checked_sub(1 + from_end).and_then(|i| out.get_mut(i)) {
            *slot = slot.saturating_add(h.count);
        }
    }
    out
}

/// A sparkline of `values` (a polyline scaled to its maximum), `label`
/// saying what it covers for screen readers and as a tooltip.
pub(crate) fn sparkline(values: &[u64], label: &str) -> Markup {
    let (w, h) = (120.0_f64, 24.0_f64);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len().max(2) as f64 - 1.0;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = i as f64 * w / n;
            let y = h - 1.0 - (*v as f64 / max) * (h - 2.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let total: u64 = values.iter().sum();
    html! {
        svg.spark width="120" height="24" viewBox="0 0 120 24" role="img" aria-label=(format!("{label}: {total}")) {
            title { (label) ": " (total) }
            polyline points=(points.join(" ")) fill="none" stroke="currentColor" stroke-width="1.5" {}
        }
    }
}

/// A bar chart of `values` (oldest first), one bar per value.
pub(crate) fn bars(values: &[u64], label: &str) -> Markup {
    let (w, h) = (720.0_f64, 80.0_f64);
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let bw = w / values.len().max(1) as f64;
    let total: u64 = values.iter().sum();
    html! {
        svg.bars width="720" height="80" viewBox="0 0 720 80" role="img" aria-label=(format!("{label}: {total}")) {
            title { (label) ": " (total) " (most in one hour: " (max) ")" }
            @for (i, v) in values.iter().enumerate() {
                @if *v > 0 {
                    @let bh = ((*v as f64 / max as f64) * (h - 2.0)).max(1.0);
                    rect x=(format!("{:.2}", i as f64 * bw)) y=(format!("{:.2}", h - bh))
                        width=(format!("{:.2}", (bw - 0.5).max(0.5))) height=(format!("{bh:.2}")) {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn hours_fall_into_their_buckets() {
        let now = Timestamp::from_millis(100 * HOUR_MS + 1234);
        let at = |ago: u64, count: u64| HourCount {
            hour: Timestamp::from_millis((100 - ago) * HOUR_MS),
            count,
        };
        let hours = [at(30, 7), at(23, 1), at(1, 2), at(0, 3)];
        let day = buckets(&hours, now, 24, 1);
        assert_eq!(day.len(), 24);
        assert_eq!((day[0], day[22], day[23]), (1, 2, 3));
        assert_eq!(day.iter().sum::<u64>(), 6, "30 h ago is out of the last 24 h");
        let fortnight = buckets(&hours, now, 14, 24);
        assert_eq!(fortnight[13], 6);
        assert_eq!(fortnight[12], 7);
        let _ = now.saturating_add(Duration::ZERO);
    }

    #[test]
    fn charts_are_svg_with_totals() {
        let s = sparkline(&[0, 1, 4], "last 24 h").into_string();
        assert!(s.starts_with("<svg") && s.contains("last 24 h: 5"), "{s}");
        let b = bars(&[0, 2, 0], "14 days").into_string();
        assert_eq!(b.matches("<rect").count(), 1);
    }
}
