//! The layer profile: line charts over depth in a grid of panels, as in the paper's notebook:
//! (a) H(Z), (b) complexity I(X;Z), (c) expressivity I(Y;Z), (d) optimality, one line per n-gram
//! order; named label sets get a panel of their own. Plain rows without n-grams show H(Z) and
//! each label set's I(L;Z).

use super::frame::{self, LegendItem, Taken};
use super::scale::{clip_segment, integer_ticks, value_axis, Rect, Scale, Ticks, ValueAxis};
use super::style::{marker, series_style, Paint, Shape, INK, REFERENCE};
use super::svg::{error_bar, px, text_width, value, Doc, NOTE, PANEL, TICK};
use super::{label_sets_of, layer_name, layer_title, mi_text, orders_of, source_line};
use crate::report::{LabelSetReport, LayerReport, OrderReport, Report};

/// Width of the chart in px; text sizes are chosen to stay readable when it is shown 640 px wide.
const WIDTH: f64 = 680.0;
/// Height of one panel cell.
const CELL_H: f64 = 252.0;
/// Margins of the plot rectangle inside a cell: room for the panel title, tick labels, axis titles.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 48.0;
/// Optimality is drawn within [−1, 2]: beyond, ratios of tiny complexities say little and would
/// flatten every other line. Points outside are drawn on the edge as open triangles.
const OPTIMALITY_CLIP: (f64, f64) = (-1.0, 2.0);

/// One line of a panel.
struct Series {
    /// Series name (n-gram order or label set); `None` for a panel's single quantity.
    name: Option<String>,
    color: &'static str,
    shape: Shape,
    /// (layer, value, hover title) per analysed layer; NaN values leave gaps.
    points: Vec<(usize, f64, String)>,
    /// Standard deviation over seeds per point (NaN: none), drawn as error bars.
    sd: Vec<f64>,
    /// Shuffled-label baseline per point (NaN: none), drawn as a dashed line.
    baseline: Vec<f64>,
}

impl Series {
    fn plain(
        name: Option<String>,
        color: &'static str,
        shape: Shape,
        points: Vec<(usize, f64, String)>,
    ) -> Self {
        let n = points.len();
        Self {
            name,
            color,
            shape,
            points,
            sd: vec![f64::NAN; n],
            baseline: vec![f64::NAN; n],
        }
    }
}

struct Panel {
    key: &'static str,
    title: String,
    y_title: &'static str,
    series: Vec<Series>,
    /// A dashed horizontal reference line: (value, label).
    reference: Option<(f64, &'static str)>,
    /// Axis limits beyond which points are clipped.
    clip: Option<(f64, f64)>,
    /// The ceiling of I per layer (what all-unique labels give), drawn dotted.
    ceiling: Vec<(usize, f64)>,
}

/// One quantity of one layer as a series shows it.
struct Reading {
    value: f64,
    sd: Option<f64>,
    baseline: Option<f64>,
    /// Hover text.
    text: String,
}

impl Reading {
    fn missing() -> Self {
        Self {
            value: f64::NAN,
            sd: None,
            baseline: None,
            text: "n/a".into(),
        }
    }
}

/// Dashes of the shuffled-label baseline and of the ceiling.
const BASELINE_DASH: &str = "4 3";
const CEILING_DASH: &str = "1.5 3";

/// The x axis shared by all panels: analysed layers, layer 0 named "emb" for token data.
struct LayerAxis {
    layers: Vec<usize>,
    emb: bool,
}

impl LayerAxis {
    fn scale(&self, r: &Rect) -> Scale {
        let (lo, hi) = match (self.layers.first(), self.layers.last()) {
            (Some(&a), Some(&b)) => (a as f64, b as f64),
            _ => (0.0, 1.0),
        };
        // Pad so the first and last markers sit off the spines.
        let pad = (0.04 * (hi - lo)).max(0.35);
        Scale {
            d0: lo - pad,
            d1: hi + pad,
            r0: r.x,
            r1: r.right(),
        }
    }

    fn ticks(&self, r: &Rect) -> Ticks {
        let present: Vec<i64> = self.layers.iter().map(|&l| l as i64).collect();
        let widest = self
            .layers
            .iter()
            .map(|&l| text_width(&layer_name(l, self.emb), TICK.size))
            .fold(0.0, f64::max);
        let max_count = (r.w / (widest + 10.0)).floor().max(2.0) as usize;
        let values: Vec<i64> = integer_ticks(&present, max_count);
        Ticks {
            labels: values
                .iter()
                .map(|&v| layer_name(v as usize, self.emb))
                .collect(),
            values: values.into_iter().map(|v| v as f64).collect(),
        }
    }
}

/// The y axis of a panel from its finite values: 0 always included (the baseline of an
/// information quantity), the reference line too, and clipped to `clip`.
fn y_axis(panel: &Panel, target: usize) -> ValueAxis {
    let finite = panel
        .series
        .iter()
        .flat_map(|s| {
            let bars = s
                .points
                .iter()
                .zip(&s.sd)
                .flat_map(|(p, sd)| [p.1 - sd, p.1 + sd]);
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.baseline.iter().copied())
                .chain(bars)
        })
        .chain(panel.ceiling.iter().map(|c| c.1))
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in finite {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if let Some((r, _)) = panel.reference {
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let (mut clip_lo, mut clip_hi) = (false, false);
    if let Some((a, b)) = panel.clip {
        clip_lo = lo < a;
        clip_hi = hi > b;
        lo = lo.max(a);
        hi = hi.min(b);
    }
    let mut axis = value_axis(lo, hi, target);
    if let Some((a, b)) = panel.clip {
        // Clipped ends sit exactly at the limit (a multiple of every nice step).
        let keep = |v: f64| (!clip_lo || v >= a - 1e-9) && (!clip_hi || v <= b + 1e-9);
        if clip_lo {
            axis.lo = a;
        }
        if clip_hi {
            axis.hi = b;
        }
        let (values, labels): (Vec<f64>, Vec<String>) = axis
            .ticks
            .values
            .iter()
            .zip(&axis.ticks.labels)
            .filter(|(v, _)| keep(**v))
            .map(|(v, l)| (*v, l.clone()))
            .unzip();
        axis.ticks = Ticks { values, labels };
        // The end tick of a clipped side reads "≥ 2" / "≤ −1": points drawn there may lie beyond.
        if clip_hi {
            if let Some(l) = axis.ticks.labels.last_mut() {
                *l = format!("\u{2265}{l}");
            }
        }
        if clip_lo {
            if let Some(l) = axis.ticks.labels.first_mut() {
                *l = format!("\u{2264}{l}");
            }
        }
    }
    axis
}

fn draw_panel(doc: &mut Doc, cell: &Rect, panel: &Panel, layers: &LayerAxis) {
    let r = Rect {
        x: cell.x + LEFT,
        y: cell.y + TOP,
        w: cell.w - LEFT - RIGHT,
        h: cell.h - TOP - BOTTOM,
    };
    doc.group(&[("class", "panel".into()), ("data-panel", panel.key.into())]);
    doc.label(
        r.x,
        cell.y + 17.0,
        "start",
        PANEL,
        &panel.title,
        &[("class", "panel-title".into())],
    );
    let xs = layers.scale(&r);
    let xticks = layers.ticks(&r);
    let target = ((r.h / 38.0).floor() as usize).clamp(3, 8);
    let ya = y_axis(panel, target);
    let ys = Scale {
        d0: ya.lo,
        d1: ya.hi,
        r0: r.bottom(),
        r1: r.y,
    };
    frame::axes(
        doc,
        &r,
        &xs,
        &xticks,
        "layer",
        &ys,
        &ya.ticks,
        panel.y_title,
    );

    // Marker size follows the spacing of layers, so 60 layers stay legible: below 8 px per
    // layer the markers become small dots without a halo and the line carries the shape.
    let spacing = if layers.layers.len() > 1 {
        r.w / layers.layers.len() as f64
    } else {
        40.0
    };
    let dense = spacing < 8.0;
    let radius = if dense {
        1.5
    } else {
        (spacing * 0.3).clamp(2.2, 3.8)
    };
    // Pixel positions of every series (NaN where the value is missing).
    let pixels: Vec<Vec<(f64, f64)>> = panel
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .map(|&(l, v, _)| {
                    (
                        xs.map(l as f64),
                        if v.is_finite() { ys.map(v) } else { f64::NAN },
                    )
                })
                .collect()
        })
        .collect();

    if let Some((v, _)) = panel.reference {
        let y = ys.map(v);
        doc.leaf(
            "line",
            &[
                ("class", "reference".into()),
                ("x1", px(r.x)),
                ("y1", px(y)),
                ("x2", px(r.right())),
                ("y2", px(y)),
                ("stroke", REFERENCE.into()),
                ("stroke-width", "1.2".into()),
                ("stroke-dasharray", "5 4".into()),
            ],
        );
    }

    if !panel.ceiling.is_empty() {
        let pts: Vec<(f64, f64)> = panel
            .ceiling
            .iter()
            .map(|&(l, v)| {
                (
                    xs.map(l as f64),
                    if v.is_finite() { ys.map(v) } else { f64::NAN },
                )
            })
            .collect();
        dashed_line(
            doc,
            &pts,
            &r,
            "ceiling",
            REFERENCE,
            CEILING_DASH,
            "ceiling: H(Z) \u{2212} mean single-row entropy, the I all-unique labels give",
        );
    }

    let mut any = false;
    for (s, pts) in panel.series.iter().zip(&pixels) {
        let mut attrs = vec![("class", "series".into())];
        if let Some(name) = &s.name {
            attrs.push(("data-series", name.clone()));
        }
        doc.group(&attrs);
        // The line: consecutive finite points joined, NaN leaving a gap, every segment clipped to
        // the plot so lines to clipped points leave through the edge.
        let d = clipped_path(pts, &r);
        if !d.is_empty() {
            doc.titled(
                "path",
                &[
                    ("class", "line".into()),
                    ("d", d),
                    ("fill", "none".into()),
                    ("stroke", s.color.into()),
                    ("stroke-width", "1.8".into()),
                    ("stroke-linejoin", "round".into()),
                    ("stroke-linecap", "round".into()),
                ],
                s.name.as_deref().unwrap_or(&panel.title),
            );
        }
        if s.baseline.iter().any(|v| v.is_finite()) {
            let ghost: Vec<(f64, f64)> = s
                .points
                .iter()
                .zip(&s.baseline)
                .map(|(&(l, _, _), &b)| {
                    (
                        xs.map(l as f64),
                        if b.is_finite() { ys.map(b) } else { f64::NAN },
                    )
                })
                .collect();
            let name = s.name.as_deref().unwrap_or(&panel.title);
            dashed_line(
                doc,
                &ghost,
                &r,
                "baseline",
                s.color,
                BASELINE_DASH,
                &format!("{name}: shuffled-label baseline (mean of the shuffled copies)"),
            );
        }
        // Error bars: ± one standard deviation over seeds, within the plot.
        if s.sd.iter().any(|v| v.is_finite() && *v > 0.0) {
            doc.group(&[("class", "error-bars".into())]);
            for ((&(x, _), &(_, v, _)), &sd) in pts.iter().zip(&s.points).zip(&s.sd) {
                if !(v.is_finite() && sd.is_finite() && sd > 0.0) {
                    continue;
                }
                let (y0, y1) = (ys.map((v - sd).max(ya.lo)), ys.map((v + sd).min(ya.hi)));
                doc.leaf(
                    "path",
                    &[
                        ("class", "error-bar".into()),
                        ("d", error_bar((x, y0), (x, y1), radius + 1.0)),
                        ("stroke", s.color.into()),
                        ("stroke-width", "1.2".into()),
                        ("fill", "none".into()),
                    ],
                );
            }
            doc.close();
        }
        doc.group(&[("class", "markers".into())]);
        for (&(x, y), (_, v, title)) in pts.iter().zip(&s.points) {
            if !y.is_finite() {
                continue;
            }
            any = true;
            if *v > ya.hi || *v < ya.lo {
                // Off the clipped axis: an open triangle on the edge, pointing outwards.
                let up = *v > ya.hi;
                marker(
                    doc,
                    if up {
                        Shape::TriangleUp
                    } else {
                        Shape::TriangleDown
                    },
                    x,
                    if up { r.y } else { r.bottom() },
                    radius + 0.8,
                    Paint {
                        fill: "#ffffff",
                        stroke: s.color,
                        stroke_width: 1.5,
                    },
                    "point clipped",
                    &format!(
                        "{title} (off the axis: drawn at its {} edge, {})",
                        if up { "upper" } else { "lower" },
                        value(if up { ya.hi } else { ya.lo })
                    ),
                );
            } else {
                marker(
                    doc,
                    s.shape,
                    x,
                    y,
                    radius,
                    Paint {
                        fill: s.color,
                        stroke: if dense { "none" } else { "#ffffff" },
                        stroke_width: 0.8,
                    },
                    "point",
                    title,
                );
            }
        }
        doc.close();
        doc.close();
    }
    if let Some((v, text)) = panel.reference {
        reference_label(doc, &r, ys.map(v), text, &pixels, radius);
    }
    if !any {
        frame::empty_note(
            doc,
            &r,
            if layers.layers.is_empty() {
                "no layers in this report"
            } else {
                "no finite values"
            },
        );
    }
    doc.close();
}

/// The `d` of a polyline through `pts`: consecutive finite points joined, NaN leaving a gap, every
/// segment clipped to `r` so lines to clipped points leave through the edge.
fn clipped_path(pts: &[(f64, f64)], r: &Rect) -> String {
    let mut d = String::new();
    let mut pen: Option<(f64, f64)> = None;
    for w in pts.windows(2) {
        let (p, q) = (w[0], w[1]);
        if !(p.1.is_finite() && q.1.is_finite()) {
            pen = None;
            continue;
        }
        let Some((a, b)) = clip_segment(p, q, r) else {
            pen = None;
            continue;
        };
        if pen != Some(a) {
            d.push_str(&format!("M{} {}", px(a.0), px(a.1)));
        }
        d.push_str(&format!("L{} {}", px(b.0), px(b.1)));
        pen = Some(b);
    }
    d
}

/// A dashed polyline through `pts` (NaN leaving gaps, segments clipped to the plot).
fn dashed_line(
    doc: &mut Doc,
    pts: &[(f64, f64)],
    r: &Rect,
    class: &str,
    color: &str,
    dash: &str,
    title: &str,
) {
    let mut d = clipped_path(pts, r);
    if d.is_empty() {
        // A single layer: a short level mark at the value.
        let mut finite = pts.iter().filter(|p| p.1.is_finite());
        match (finite.next(), finite.next()) {
            (Some(&(x, y)), None) if y >= r.y && y <= r.bottom() => {
                d = format!("M{} {}L{} {}", px(x - 10.0), px(y), px(x + 10.0), px(y));
            }
            _ => return,
        }
    }
    doc.titled(
        "path",
        &[
            ("class", class.into()),
            ("d", d),
            ("fill", "none".into()),
            ("stroke", color.into()),
            ("stroke-width", "1.3".into()),
            ("stroke-dasharray", dash.into()),
        ],
        title,
    );
}

/// Labels the reference line at `y` at whichever end (above, else below the line) is clear of
/// the data: markers and the lines between them.
fn reference_label(
    doc: &mut Doc,
    r: &Rect,
    y: f64,
    text: &str,
    pixels: &[Vec<(f64, f64)>],
    radius: f64,
) {
    let mut obstacles: Vec<Taken> = Vec::new();
    for pts in pixels {
        for w in pts.windows(2) {
            if w[0].1.is_finite() && w[1].1.is_finite() {
                for (x, y) in frame::samples_along(w[0], w[1], 4.0, 0.0) {
                    obstacles.push(Taken::point(x, y, 1.5));
                }
            }
        }
        for &(x, y) in pts.iter().filter(|p| p.1.is_finite()) {
            obstacles.push(Taken::point(x, y, radius + 1.0));
        }
    }
    let w = text_width(text, NOTE.size);
    let h = NOTE.size;
    let candidates = [
        (r.right() - 4.0 - w, y - 4.0 - h),
        (r.x + 4.0, y - 4.0 - h),
        (r.right() - 4.0 - w, y + 4.0),
        (r.x + 4.0, y + 4.0),
    ];
    let boxes: Vec<Taken> = candidates
        .iter()
        .map(|&(x0, y0)| Taken {
            x0,
            y0,
            x1: x0 + w,
            y1: y0 + h,
        })
        .collect();
    // The first free place, else the least crowded one (first among equals).
    let crowding = |b: &Taken| obstacles.iter().filter(|o| o.overlaps(b)).count();
    let b = boxes
        .iter()
        .filter(|b| b.y0 >= r.y && b.y1 <= r.bottom())
        .min_by_key(|b| crowding(b))
        .unwrap_or(&boxes[0]);
    doc.label(
        b.x0,
        b.y1 - h * 0.22,
        "start",
        NOTE,
        text,
        &frame::halo("reference-label"),
    );
}

/// See [`crate::plot::layer_profile`].
pub(crate) fn layer_profile(report: &Report) -> String {
    let orders = orders_of(report);
    let sets = label_sets_of(report);
    let emb = !orders.is_empty();
    let layers = LayerAxis {
        layers: report.layers.iter().map(|l| l.layer).collect(),
        emb,
    };
    let entropy = Series {
        sd: report
            .layers
            .iter()
            .map(|l| l.entropy_sd.unwrap_or(f64::NAN))
            .collect(),
        ..Series::plain(
            None,
            INK,
            Shape::Circle,
            report
                .layers
                .iter()
                .map(|l| {
                    let mut t =
                        format!("{}: H(Z) = {}", layer_title(l.layer, emb), value(l.entropy));
                    if let Some(sd) = l.entropy_sd {
                        t.push_str(&format!(" \u{b1} {}", value(sd)));
                    }
                    (l.layer, l.entropy, t)
                })
                .collect(),
        )
    };
    // The n-gram orders, then the back-off sets when present: (name, style index, getter).
    type Pick = Box<dyn Fn(&LayerReport) -> Option<&OrderReport>>;
    let mut groups: Vec<(String, usize, Pick)> = orders
        .iter()
        .map(|&(k, name)| {
            let pick: Pick =
                Box::new(move |l: &LayerReport| l.orders.iter().find(|o| o.order == k));
            (name.to_owned(), k.saturating_sub(1), pick)
        })
        .collect();
    if report.layers.iter().any(|l| l.backoff.is_some()) {
        groups.push((
            "backoff".to_owned(),
            6,
            Box::new(|l: &LayerReport| l.backoff.as_ref()),
        ));
    }
    // One series per group for a quantity read off the group's report: (value, sd, baseline,
    // hover text).
    type Read<'a> = dyn Fn(&OrderReport) -> Reading + 'a;
    let per_order = |f: &Read<'_>| -> Vec<Series> {
        groups
            .iter()
            .map(|(name, style, pick)| {
                let (color, shape) = series_style(*style);
                let read: Vec<(usize, Reading)> = report
                    .layers
                    .iter()
                    .map(|l| (l.layer, pick(l).map_or_else(Reading::missing, f)))
                    .collect();
                Series {
                    name: Some(name.clone()),
                    color,
                    shape,
                    sd: read.iter().map(|r| r.1.sd.unwrap_or(f64::NAN)).collect(),
                    baseline: read
                        .iter()
                        .map(|r| r.1.baseline.unwrap_or(f64::NAN))
                        .collect(),
                    points: read
                        .iter()
                        .map(|(layer, r)| {
                            (
                                *layer,
                                r.value,
                                format!("{}, {name}: {}", layer_title(*layer, emb), r.text),
                            )
                        })
                        .collect(),
                }
            })
            .collect()
    };
    let set_offset = if orders.is_empty() { 0 } else { 4 };
    let set_series: Vec<Series> = sets
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (color, shape) = series_style(set_offset + i);
            let found: Vec<Option<&LabelSetReport>> = report
                .layers
                .iter()
                .map(|l| l.label_sets.iter().find(|s| &s.name == name))
                .collect();
            Series {
                sd: found
                    .iter()
                    .map(|s| s.and_then(|s| s.mutual_information_sd).unwrap_or(f64::NAN))
                    .collect(),
                baseline: found
                    .iter()
                    .map(|s| {
                        s.and_then(|s| s.baseline.as_ref())
                            .map_or(f64::NAN, |b| b.mean)
                    })
                    .collect(),
                ..Series::plain(
                    Some(name.clone()),
                    color,
                    shape,
                    report
                        .layers
                        .iter()
                        .zip(&found)
                        .map(|(l, s)| {
                            let v = s.map_or(f64::NAN, |s| s.mutual_information);
                            let what =
                                s.map_or("n/a".to_owned(), |s| mi_text(&format!("I({name};Z)"), s));
                            (
                                l.layer,
                                v,
                                format!("{}, {name}: {what}", layer_title(l.layer, emb)),
                            )
                        })
                        .collect(),
                )
            }
        })
        .collect();
    let ceiling: Vec<(usize, f64)> = report.layers.iter().map(|l| (l.layer, l.ceiling)).collect();
    let set_read = |set: &LabelSetReport, symbol: &str| Reading {
        value: set.mutual_information,
        sd: set.mutual_information_sd,
        baseline: set.baseline.as_ref().map(|b| b.mean),
        text: mi_text(symbol, set),
    };

    let efficiency = "efficiency (nats / ln m)";
    let mut panels = vec![Panel {
        key: "entropy",
        title: "(a) Entropy H(Z)".into(),
        y_title: efficiency,
        series: vec![entropy],
        reference: None,
        clip: None,
        ceiling: Vec::new(),
    }];
    if !orders.is_empty() {
        panels.push(Panel {
            key: "complexity",
            title: "(b) Complexity I(X;Z)".into(),
            y_title: efficiency,
            series: per_order(&|o| set_read(&o.input, "I(X;Z)")),
            reference: None,
            clip: None,
            ceiling: ceiling.clone(),
        });
        panels.push(Panel {
            key: "expressivity",
            title: "(c) Expressivity I(Y;Z)".into(),
            y_title: efficiency,
            series: per_order(&|o| set_read(&o.output, "I(Y;Z)")),
            reference: None,
            clip: None,
            ceiling: ceiling.clone(),
        });
        panels.push(Panel {
            key: "optimality",
            title: "(d) Optimality I(Y;Z) / I(X;Z)".into(),
            y_title: "ratio (1 = IB bound)",
            series: per_order(&|o| {
                let mut t = format!(
                    "optimality = {} (I(Y;Z) = {}, I(X;Z) = {})",
                    value(o.optimality),
                    value(o.expressivity),
                    value(o.complexity)
                );
                if let Some(c) = o.optimality_corrected {
                    t.push_str(&format!("; of the corrected values {}", value(c)));
                }
                Reading {
                    value: o.optimality,
                    sd: o.optimality_sd,
                    baseline: None,
                    text: t,
                }
            }),
            reference: Some((1.0, "IB bound")),
            clip: Some(OPTIMALITY_CLIP),
            ceiling: Vec::new(),
        });
    }
    if !sets.is_empty() {
        let letter = (b'a' + panels.len() as u8) as char;
        panels.push(Panel {
            key: "label-sets",
            title: format!("({letter}) Label sets I(L;Z)"),
            y_title: efficiency,
            series: set_series,
            reference: None,
            clip: None,
            ceiling: ceiling.clone(),
        });
    }

    // Legend: every named series, n-gram orders first.
    let legend: Vec<LegendItem> = panels
        .iter()
        .skip(1)
        .flat_map(|p| p.series.iter())
        .filter_map(|s| {
            s.name.as_ref().map(|n| LegendItem {
                name: n.clone(),
                color: s.color,
                shape: s.shape,
                dash: None,
            })
        })
        .fold(Vec::new(), |mut acc: Vec<LegendItem>, item| {
            if !acc
                .iter()
                .any(|a| a.name == item.name && a.color == item.color)
            {
                acc.push(item);
            }
            acc
        });

    let mut legend = legend;
    if panels
        .iter()
        .flat_map(|p| &p.series)
        .any(|s| s.baseline.iter().any(|v| v.is_finite()))
    {
        legend.push(LegendItem {
            name: "shuffled-label baseline".into(),
            color: INK,
            shape: Shape::Circle,
            dash: Some(BASELINE_DASH),
        });
    }
    if panels.iter().any(|p| !p.ceiling.is_empty()) {
        legend.push(LegendItem {
            name: "ceiling (all-unique labels)".into(),
            color: REFERENCE,
            shape: Shape::Circle,
            dash: Some(CEILING_DASH),
        });
    }

    let cols = if panels.len() == 1 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols);
    let cell_w = (WIDTH - 16.0) / cols as f64;
    // Height: header, legend rows (measured by a dry run), panels.
    let legend_h = {
        let mut scratch = Doc::new(1.0, 1.0, "", "", "");
        frame::legend(&mut scratch, &legend, 0.0, 0.0, WIDTH - 16.0 - LEFT - 8.0)
    };
    let top = 54.0 + if legend_h > 0.0 { legend_h + 8.0 } else { 4.0 };
    let height = top + rows as f64 * CELL_H + 6.0;

    let layer_list: Vec<String> = report
        .layers
        .iter()
        .map(|l| layer_name(l.layer, emb))
        .collect();
    let desc = describe(report, &orders, &sets, &layer_list);
    let title = "Layer profile";
    let mut doc = Doc::new(
        WIDTH,
        height,
        "layer-profile",
        &format!("{title}: {}", source_line(report)),
        &desc,
    );
    frame::header(&mut doc, WIDTH, title, &source_line(report));
    frame::legend(
        &mut doc,
        &legend,
        8.0 + LEFT,
        54.0,
        WIDTH - 16.0 - LEFT - 8.0,
    );
    for (i, panel) in panels.iter().enumerate() {
        let cell = Rect {
            x: 8.0 + (i % cols) as f64 * cell_w,
            y: top + (i / cols) as f64 * CELL_H,
            w: cell_w,
            h: CELL_H,
        };
        draw_panel(&mut doc, &cell, panel, &layers);
    }
    doc.finish()
}

/// The text alternative: what is plotted and the layer means of every quantity.
fn describe(
    report: &Report,
    orders: &[(usize, &str)],
    sets: &[String],
    layers: &[String],
) -> String {
    let mut d = format!(
        "Line charts over {} layer{} ({}) of the soft entropy H(Z)",
        layers.len(),
        if layers.len() == 1 { "" } else { "s" },
        if layers.is_empty() {
            "none".to_owned()
        } else {
            layers.join(", ")
        }
    );
    if !orders.is_empty() {
        let names: Vec<&str> = orders.iter().map(|o| o.1).collect();
        d.push_str(&format!(
            ", complexity I(X;Z) (X = input k-gram), expressivity I(Y;Z) (Y = next k tokens) and optimality I(Y;Z) / I(X;Z) (dashed line at 1, the information-bottleneck bound; axis limited to [-1, 2]) for the n-gram orders {}",
            names.join(", ")
        ));
    }
    if !sets.is_empty() {
        d.push_str(&format!(
            "; mutual information I(L;Z) with the label sets {}",
            sets.join(", ")
        ));
    }
    d.push_str(". Values in efficiency units (nats / ln m).");
    let m = &report.mean;
    if !m.layers.is_empty() && m.entropy.is_finite() {
        d.push_str(&format!(
            " Mean over layer{} {}: H(Z) = {}",
            if m.layers.len() == 1 { "" } else { "s" },
            m.layers
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            value(m.entropy)
        ));
        for o in &m.orders {
            d.push_str(&format!(
                "; {}: I(X;Z) = {}, I(Y;Z) = {}, optimality = {}",
                o.name,
                value(o.complexity),
                value(o.expressivity),
                value(o.optimality)
            ));
        }
        for s in &m.label_sets {
            d.push_str(&format!(
                "; I({};Z) = {}",
                s.name,
                value(s.mutual_information)
            ));
        }
        d.push('.');
    }
    d
}
