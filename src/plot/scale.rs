//! Axis arithmetic: linear scales, "nice" tick steps (1, 2, 5 × 10^k), integer ticks for layers,
//! and segment clipping. Only +, −, ×, ÷, floor and ceil are used (all exactly specified by IEEE
//! 754), never a libm function such as `log10` or `powi`, whose last bit may differ between the
//! native and the wasm32 build: the charts must be byte-identical on both.

/// A plot rectangle in pixels (y grows downwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub(crate) fn right(&self) -> f64 {
        self.x + self.w
    }
    pub(crate) fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// A linear map from the data interval [d0, d1] to the pixel interval [r0, r1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Scale {
    pub(crate) fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// Ticks of an axis: positions in data units and their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Ticks {
    pub values: Vec<f64>,
    pub labels: Vec<String>,
}

/// 10^e for an integer exponent, by repeated exact multiplication / one division.
fn pow10(e: i32) -> f64 {
    let mut p = 1.0;
    for _ in 0..e.unsigned_abs() {
        p *= 10.0;
    }
    if e < 0 {
        1.0 / p
    } else {
        p
    }
}

/// A step of the form c × 10^e (c ∈ {1, 2, 5}), returned as (c, e): the one nearest `raw` on a
/// log scale, or with `at_least` the smallest one ≥ `raw` (to bound the number of ticks).
fn nice_step(raw: f64, at_least: bool) -> (i64, i32) {
    let mut e = 0i32;
    while pow10(e + 1) <= raw && e < 300 {
        e += 1;
    }
    while pow10(e) > raw && e > -300 {
        e -= 1;
    }
    let m = raw / pow10(e);
    if !at_least {
        // Thresholds at the geometric means √2, √10, √50 of neighbouring steps (as d3 does).
        return if m * m >= 50.0 {
            (1, e + 1)
        } else if m * m >= 10.0 {
            (5, e)
        } else if m * m >= 2.0 {
            (2, e)
        } else {
            (1, e)
        };
    }
    if m <= 1.0 {
        (1, e)
    } else if m <= 2.0 {
        (2, e)
    } else if m <= 5.0 {
        (5, e)
    } else {
        (1, e + 1)
    }
}

/// Formats a tick value: `decimals` decimals and a typographic minus (U+2212) as in print.
pub(crate) fn tick_label(v: f64, decimals: usize) -> String {
    super::svg::fixed(v, decimals).replace('-', "\u{2212}")
}

/// A value axis: the padded, rounded domain and its ticks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Ticks,
}

/// Builds an axis covering [lo, hi] (finite, lo ≤ hi) with about `target` ticks, extended to the
/// nearest ticks after a 4 % margin (no margin beyond an end that is exactly 0, the natural
/// baseline of an information quantity).
pub(crate) fn value_axis(lo: f64, hi: f64, target: usize) -> ValueAxis {
    let (mut lo, mut hi) = (lo, hi);
    let scale = lo.abs().max(hi.abs());
    if hi - lo <= scale * 1e-9 || hi - lo < 1e-12 {
        // A single value (one layer, a flat series): show it inside a small interval.
        let d = if scale > 0.0 { scale * 0.1 } else { 0.5 };
        if lo == 0.0 && hi == 0.0 {
            // Nothing but zeros (or no data): the unit interval, efficiency's natural range.
            return fixed_axis(0.0, 1.0, target, true);
        } else if lo >= 0.0 && lo - d < 0.0 {
            lo = 0.0;
            hi += d;
        } else {
            lo -= d;
            hi += d;
        }
    }
    let span = hi - lo;
    let lo_m = if lo == 0.0 { lo } else { lo - 0.04 * span };
    let hi_m = if hi == 0.0 { hi } else { hi + 0.04 * span };
    fixed_axis(lo_m, hi_m, target, true)
}

/// An axis over exactly [lo, hi] when `extend` is false (ticks only inside), or extended outwards
/// to whole steps when it is true.
pub(crate) fn fixed_axis(lo: f64, hi: f64, target: usize, extend: bool) -> ValueAxis {
    let target = target.max(2);
    let (c, e) = nice_step((hi - lo) / (target - 1) as f64, false);
    // Tick k is at k·c·10^e, computed as an exact integer over an exact power of ten so that the
    // printed labels are clean.
    let (num, den) = if e >= 0 {
        (c as f64 * pow10(e), 1.0)
    } else {
        (c as f64, pow10(-e))
    };
    let step = num / den;
    let decimals = if e >= 0 { 0 } else { (-e) as usize };
    let (k0, k1) = if extend {
        ((lo / step).floor() as i64, (hi / step).ceil() as i64)
    } else {
        (
            (lo / step - 1e-9).ceil() as i64,
            (hi / step + 1e-9).floor() as i64,
        )
    };
    let at = |k: i64| k as f64 * num / den;
    let values: Vec<f64> = (k0..=k1).map(at).collect();
    let labels = values.iter().map(|&v| tick_label(v, decimals)).collect();
    let (lo, hi) = if extend { (at(k0), at(k1)) } else { (lo, hi) };
    ValueAxis {
        lo,
        hi,
        ticks: Ticks { values, labels },
    }
}

/// Integer ticks over the integers `present` (sorted): all of them when at most `max_count`,
/// else the multiples of a nice step (1, 2, 5, 10, 20, 50, ...) between the first and the last.
pub(crate) fn integer_ticks(present: &[i64], max_count: usize) -> Vec<i64> {
    let (Some(&first), Some(&last)) = (present.first(), present.last()) else {
        return Vec::new();
    };
    if present.len() <= max_count.max(1) {
        return present.to_vec();
    }
    let max_count = max_count.max(2);
    let span = (last - first) as f64;
    let (c, e) = nice_step(span / (max_count - 1) as f64, true);
    // Steps below 1 make no sense between layers.
    let step = if e < 0 { 1 } else { c * pow10(e) as i64 }.max(1);
    let mut k = first.div_euclid(step) * step;
    if k < first {
        k += step;
    }
    let mut out = Vec::new();
    while k <= last {
        out.push(k);
        k += step;
    }
    out
}

/// Clips the segment p→q to `r` (Liang–Barsky). Returns the visible part, whose ends are `p` and
/// `q` themselves (bit for bit) where they lie inside.
pub(crate) fn clip_segment(
    p: (f64, f64),
    q: (f64, f64),
    r: &Rect,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (pk, qk) in [
        (-dx, p.0 - r.x),
        (dx, r.right() - p.0),
        (-dy, p.1 - r.y),
        (dy, r.bottom() - p.1),
    ] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
        } else {
            let t = qk / pk;
            if pk < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            p
        } else if t == 1.0 {
            q
        } else {
            (p.0 + t * dx, p.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_one_two_five_times_a_power_of_ten() {
        assert_eq!(nice_step(0.03, true), (5, -2));
        assert_eq!(nice_step(0.02, true), (2, -2));
        assert_eq!(nice_step(0.011, true), (2, -2));
        assert_eq!(nice_step(7.5, true), (1, 1));
        assert_eq!(nice_step(1.0, true), (1, 0));
        assert_eq!(nice_step(250.0, true), (5, 2));
        assert_eq!(nice_step(0.03, false), (2, -2));
        assert_eq!(nice_step(0.109, false), (1, -1));
        assert_eq!(nice_step(0.5, false), (5, -1));
        assert_eq!(nice_step(0.8, false), (1, 0));
    }

    #[test]
    fn value_axes_cover_the_data_with_round_ticks() {
        let a = value_axis(0.0, 0.4191, 5);
        assert_eq!(a.lo, 0.0);
        assert!(a.hi >= 0.4191);
        assert_eq!(a.ticks.labels, ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"]);
        let b = value_axis(-0.013, 0.12, 5);
        assert!(b.lo <= -0.013 && b.hi >= 0.12);
        assert_eq!(b.ticks.labels[0], "\u{2212}0.05");
        // A single value stays inside the axis.
        let c = value_axis(0.3, 0.3, 5);
        assert!(c.lo < 0.3 && c.hi > 0.3);
        let z = value_axis(0.0, 0.0, 5);
        assert_eq!((z.lo, z.hi), (0.0, 1.0));
    }

    #[test]
    fn fixed_axes_keep_their_bounds() {
        let a = fixed_axis(0.0, 2.0, 5, false);
        assert_eq!((a.lo, a.hi), (0.0, 2.0));
        assert_eq!(a.ticks.labels, ["0.0", "0.5", "1.0", "1.5", "2.0"]);
    }

    #[test]
    fn layer_ticks_thin_out_for_deep_models() {
        let few: Vec<i64> = (0..=12).collect();
        assert_eq!(integer_ticks(&few, 13), few);
        let many: Vec<i64> = (0..=64).collect();
        assert_eq!(integer_ticks(&many, 8), [0, 10, 20, 30, 40, 50, 60]);
        let odd = [3i64, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
        assert_eq!(integer_ticks(&odd, 4), [5, 10]);
        assert!(integer_ticks(&[], 5).is_empty());
        assert_eq!(integer_ticks(&[7], 5), [7]);
    }

    #[test]
    fn segments_are_clipped_to_the_rectangle() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        };
        assert_eq!(
            clip_segment((1.0, 1.0), (2.0, 2.0), &r),
            Some(((1.0, 1.0), (2.0, 2.0)))
        );
        assert_eq!(
            clip_segment((5.0, 5.0), (5.0, -5.0), &r),
            Some(((5.0, 5.0), (5.0, 0.0)))
        );
        assert_eq!(clip_segment((-5.0, -5.0), (-1.0, -1.0), &r), None);
    }
}
