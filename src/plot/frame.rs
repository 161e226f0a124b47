//! What every chart shares: the header, axes with grid and ticks, the legend and label placement.

use super::scale::{Rect, Scale, Ticks};
use super::style::{marker, Paint, Shape, GRID, SPINE};
use super::svg::{self, px, text_width, truncate, Doc, AXIS, NOTE, SUBTITLE, TICK, TITLE};

/// Length of the outward tick marks.
const TICK_LEN: f64 = 4.0;

/// Title and subtitle at the top-left of a chart `width` wide; returns the y below them.
pub(crate) fn header(doc: &mut Doc, width: f64, title: &str, subtitle: &str) -> f64 {
    let room = width - 32.0;
    doc.group(&[("class", "header".into())]);
    doc.label(
        16.0,
        26.0,
        "start",
        TITLE,
        &truncate(title, TITLE.size, room),
        &[("class", "chart-title".into())],
    );
    doc.label(
        16.0,
        44.0,
        "start",
        SUBTITLE,
        &truncate(subtitle, SUBTITLE.size, room),
        &[("class", "chart-subtitle".into())],
    );
    doc.close();
    54.0
}

/// Axes of the plot rectangle `r`: grid lines at the ticks, left and bottom spines, outward
/// ticks with labels, and the axis titles. Each tick is a `<g class="tick">` holding its line and
/// label, so the pixel position of a value can be read back from the markup.
#[allow(clippy::too_many_arguments)]
pub(crate) fn axes(
    doc: &mut Doc,
    r: &Rect,
    xs: &Scale,
    xticks: &Ticks,
    x_title: &str,
    ys: &Scale,
    yticks: &Ticks,
    y_title: &str,
) {
    // Grid first, under everything.
    doc.group(&[
        ("class", "grid".into()),
        ("stroke", GRID.into()),
        ("stroke-width", "1".into()),
    ]);
    for &v in &xticks.values {
        let x = xs.map(v);
        doc.leaf(
            "line",
            &[
                ("x1", px(x)),
                ("y1", px(r.y)),
                ("x2", px(x)),
                ("y2", px(r.bottom())),
            ],
        );
    }
    for &v in &yticks.values {
        let y = ys.map(v);
        doc.leaf(
            "line",
            &[
                ("x1", px(r.x)),
                ("y1", px(y)),
                ("x2", px(r.right())),
                ("y2", px(y)),
            ],
        );
    }
    doc.close();

    // x axis.
    doc.group(&[("class", "axis x".into())]);
    doc.leaf(
        "line",
        &[
            ("class", "spine".into()),
            ("x1", px(r.x)),
            ("y1", px(r.bottom())),
            ("x2", px(r.right())),
            ("y2", px(r.bottom())),
            ("stroke", SPINE.into()),
        ],
    );
    for (v, text) in xticks.values.iter().zip(&xticks.labels) {
        let x = xs.map(*v);
        doc.group(&[("class", "tick".into())]);
        doc.leaf(
            "line",
            &[
                ("x1", px(x)),
                ("y1", px(r.bottom())),
                ("x2", px(x)),
                ("y2", px(r.bottom() + TICK_LEN)),
                ("stroke", SPINE.into()),
            ],
        );
        doc.label(
            x,
            r.bottom() + TICK_LEN + TICK.size + 1.0,
            "middle",
            TICK,
            text,
            &[],
        );
        doc.close();
    }
    doc.label(
        r.x + r.w / 2.0,
        r.bottom() + TICK_LEN + TICK.size + AXIS.size + 8.0,
        "middle",
        AXIS,
        x_title,
        &[("class", "axis-title".into())],
    );
    doc.close();

    // y axis.
    doc.group(&[("class", "axis y".into())]);
    doc.leaf(
        "line",
        &[
            ("class", "spine".into()),
            ("x1", px(r.x)),
            ("y1", px(r.y)),
            ("x2", px(r.x)),
            ("y2", px(r.bottom())),
            ("stroke", SPINE.into()),
        ],
    );
    let mut widest: f64 = 0.0;
    for (v, text) in yticks.values.iter().zip(&yticks.labels) {
        let y = ys.map(*v);
        widest = widest.max(text_width(text, TICK.size));
        doc.group(&[("class", "tick".into())]);
        doc.leaf(
            "line",
            &[
                ("x1", px(r.x - TICK_LEN)),
                ("y1", px(y)),
                ("x2", px(r.x)),
                ("y2", px(y)),
                ("stroke", SPINE.into()),
            ],
        );
        doc.label(
            r.x - TICK_LEN - 3.0,
            y + TICK.size * 0.35,
            "end",
            TICK,
            text,
            &[],
        );
        doc.close();
    }
    let tx = r.x - TICK_LEN - 3.0 - widest - 8.0;
    let ty = r.y + r.h / 2.0;
    doc.label(
        tx,
        ty,
        "middle",
        AXIS,
        &truncate(y_title, AXIS.size, r.h + 20.0),
        &[
            ("class", "axis-title".into()),
            ("transform", format!("rotate(-90 {} {})", px(tx), px(ty))),
        ],
    );
    doc.close();
}

/// A centred note inside `r` (used when there is nothing to draw).
pub(crate) fn empty_note(doc: &mut Doc, r: &Rect, text: &str) {
    doc.label(
        r.x + r.w / 2.0,
        r.y + r.h / 2.0,
        "middle",
        NOTE,
        text,
        &[("class", "empty".into())],
    );
}

/// A legend entry: a line swatch with the series marker (or, for a dashed line, the dashes
/// alone), then its name.
pub(crate) struct LegendItem {
    pub name: String,
    pub color: &'static str,
    pub shape: Shape,
    /// `stroke-dasharray` of a dashed swatch without a marker.
    pub dash: Option<&'static str>,
}

const SWATCH: f64 = 22.0;

/// Lays the legend out in rows within `width` from (`x`, `y`) and draws it; returns its height.
pub(crate) fn legend(doc: &mut Doc, items: &[LegendItem], x: f64, y: f64, width: f64) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    let row_h = 20.0;
    let gap = 18.0;
    doc.group(&[("class", "legend".into())]);
    let (mut cx, mut cy) = (x, y + row_h / 2.0);
    for item in items {
        let name = truncate(&item.name, TICK.size, width - SWATCH - 6.0);
        let w = SWATCH + 6.0 + text_width(&name, TICK.size);
        if cx > x && cx + w > x + width {
            cx = x;
            cy += row_h;
        }
        doc.group(&[("class", "legend-item".into())]);
        let mut line = vec![
            ("x1", px(cx)),
            ("y1", px(cy)),
            ("x2", px(cx + SWATCH)),
            ("y2", px(cy)),
            ("stroke", item.color.into()),
            ("stroke-width", "2".into()),
        ];
        if let Some(dash) = item.dash {
            line.push(("stroke-dasharray", dash.into()));
            doc.titled("line", &line, &item.name);
        } else {
            doc.leaf("line", &line);
        }
        if item.dash.is_none() {
            marker(
                doc,
                item.shape,
                cx + SWATCH / 2.0,
                cy,
                4.0,
                Paint {
                    fill: item.color,
                    stroke: "#ffffff",
                    stroke_width: 1.0,
                },
                "legend-marker",
                &item.name,
            );
        }
        doc.label(
            cx + SWATCH + 6.0,
            cy + TICK.size * 0.35,
            "start",
            TICK,
            &name,
            &[],
        );
        doc.close();
        cx += w + gap;
    }
    doc.close();
    cy + row_h / 2.0 - y
}

/// A box already taken on the canvas (a label or a point), for label placement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taken {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Taken {
    pub(crate) fn overlaps(&self, o: &Taken) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    /// The box of a marker of radius `r` at (x, y).
    pub(crate) fn point(x: f64, y: f64, r: f64) -> Taken {
        Taken {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }
}

/// Places `text` next to the point (x, y) of marker radius `r`, inside `bounds` and clear of
/// `taken`, preferring the side along `away` (a direction pointing away from the neighbouring
/// points). Draws it (with a white halo so lines under it do not hurt legibility) and records
/// its box. With `force` the best in-bounds position is used even if it overlaps; otherwise an
/// unplaceable label is left out and `false` returned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn place_label(
    doc: &mut Doc,
    text: &str,
    x: f64,
    y: f64,
    r: f64,
    away: (f64, f64),
    bounds: &Rect,
    taken: &mut Vec<Taken>,
    force: bool,
) -> bool {
    let size = TICK.size;
    let w = text_width(text, size);
    let h = size;
    let gap = r + 4.0;
    // Candidates: (direction, box left, box top, anchor, baseline x, baseline y).
    let d = std::f64::consts::FRAC_1_SQRT_2;
    let candidates: [((f64, f64), f64, f64); 8] = [
        ((1.0, 0.0), x + gap, y - h / 2.0),
        ((-1.0, 0.0), x - gap - w, y - h / 2.0),
        ((0.0, -1.0), x - w / 2.0, y - gap - h),
        ((0.0, 1.0), x - w / 2.0, y + gap),
        ((d, -d), x + gap * d, y - gap * d - h),
        ((-d, -d), x - gap * d - w, y - gap * d - h),
        ((d, d), x + gap * d, y + gap * d),
        ((-d, d), x - gap * d - w, y + gap * d),
    ];
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let score = |i: usize| {
        let ((u, v), _, _) = candidates[i];
        u * away.0 + v * away.1
    };
    // Stable sort by preference: deterministic even for equal scores.
    order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
    let fits = |b: &Taken| {
        b.x0 >= bounds.x && b.x1 <= bounds.right() && b.y0 >= bounds.y && b.y1 <= bounds.bottom()
    };
    let boxes: Vec<Taken> = candidates
        .iter()
        .map(|&(_, bx, by)| Taken {
            x0: bx,
            y0: by,
            x1: bx + w,
            y1: by + h,
        })
        .collect();
    let chosen = order
        .iter()
        .copied()
        .find(|&i| fits(&boxes[i]) && !taken.iter().any(|t| t.overlaps(&boxes[i])))
        .or_else(|| {
            force
                .then(|| order.iter().copied().find(|&i| fits(&boxes[i])))
                .flatten()
        })
        .or_else(|| force.then_some(order[0]));
    let Some(i) = chosen else {
        return false;
    };
    let b = boxes[i];
    taken.push(b);
    doc.label(
        b.x0,
        b.y1 - size * 0.22,
        "start",
        svg::TextStyle {
            color: "#1a1a1a",
            ..TICK
        },
        text,
        &halo("point-label"),
    );
    true
}

/// Points every `step` px along p→q, leaving out `skip` px at both ends: obstacles standing for a
/// drawn line when labels are placed.
pub(crate) fn samples_along(p: (f64, f64), q: (f64, f64), step: f64, skip: f64) -> Vec<(f64, f64)> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let len = (dx * dx + dy * dy).sqrt();
    let mut out = Vec::new();
    if len.is_nan() || len <= 2.0 * skip {
        return out;
    }
    let n = ((len - 2.0 * skip) / step).floor() as usize;
    for k in 0..=n {
        let t = (skip + k as f64 * step) / len;
        out.push((p.0 + t * dx, p.1 + t * dy));
    }
    out
}

/// A label with a white halo, so that lines under it do not hurt its legibility.
pub(crate) const HALO: [(&str, &str); 4] = [
    ("stroke", "#ffffff"),
    ("stroke-width", "3"),
    ("stroke-linejoin", "round"),
    ("paint-order", "stroke"),
];

/// [`HALO`] as attributes, plus a class.
pub(crate) fn halo(class: &str) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![("class", class.to_owned())];
    v.extend(HALO.iter().map(|&(k, val)| (k, val.to_owned())));
    v
}
