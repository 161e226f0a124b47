//! The information plane: complexity I(X;Z) on x, expressivity I(Y;Z) on y, equal scales from 0,
//! the bound y = x dashed. One point per layer joined in depth order ([`information_plane`]) or
//! per checkpoint joined in training order ([`trajectory`]), coloured light → dark.
//!
//! [`information_plane`]: crate::plot::information_plane
//! [`trajectory`]: crate::plot::trajectory

use super::frame::{self, Taken};
use super::scale::{fixed_axis, integer_ticks, value_axis, Rect, Scale};
use super::style::{marker, sequential, Paint, Shape, REFERENCE};
use super::svg::{error_bar, px, text_width, truncate, value, Doc, AXIS, NOTE, TICK};
use super::{layer_name, layer_title, mi_text, orders_of, source_line, TrajectoryPoint};
use crate::labels::order_name;
use crate::report::Report;

const WIDTH: f64 = 610.0;
/// Side of the square plot area.
const SIDE: f64 = 400.0;
const LEFT: f64 = 74.0;
const TOP: f64 = 70.0;
const HEIGHT: f64 = TOP + SIDE + 74.0;
/// Colour bar geometry (right of the plot).
const BAR_X: f64 = LEFT + SIDE + 34.0;
const BAR_W: f64 = 14.0;
/// Discrete colour bars (one block per point) up to this many points; a gradient beyond.
const MAX_BLOCKS: usize = 16;

/// One point of the plane.
struct PlanePoint {
    x: f64,
    y: f64,
    /// Position on the sequential palette, 0 (light) to 1 (dark).
    t: f64,
    title: String,
    /// Text drawn next to the point; `force` places it even when crowded.
    label: Option<(String, bool)>,
    /// Standard deviations over seeds of x and y (NaN: none), drawn as error bars.
    sd: (f64, f64),
    /// The shuffled-label baseline (x, y), drawn as a hollow ghost point joined to the point.
    ghost: Option<(f64, f64)>,
}

/// The colour bar: either one labelled block per point, or a gradient with ticks.
enum ColorBar {
    Blocks(Vec<(String, f64)>),
    Gradient(Vec<(f64, String)>),
}

struct Plane {
    class: &'static str,
    title: String,
    subtitle: String,
    desc: String,
    points: Vec<PlanePoint>,
    bar_title: &'static str,
    bar: ColorBar,
    empty: &'static str,
}

fn draw(plane: &Plane) -> String {
    let mut doc = Doc::new(
        WIDTH,
        HEIGHT,
        plane.class,
        &format!("{}: {}", plane.title, plane.subtitle),
        &plane.desc,
    );
    frame::header(&mut doc, WIDTH, &plane.title, &plane.subtitle);
    let r = Rect {
        x: LEFT,
        y: TOP,
        w: SIDE,
        h: SIDE,
    };
    // One domain for both axes (equal scales), from 0 or the most negative value.
    let finite: Vec<&PlanePoint> = plane
        .points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for p in &finite {
        let (sx, sy) = (
            if p.sd.0.is_finite() { p.sd.0 } else { 0.0 },
            if p.sd.1.is_finite() { p.sd.1 } else { 0.0 },
        );
        lo = lo.min(p.x - sx).min(p.y - sy);
        hi = hi.max(p.x + sx).max(p.y + sy);
        if let Some((gx, gy)) = p.ghost.filter(|g| g.0.is_finite() && g.1.is_finite()) {
            lo = lo.min(gx).min(gy);
            hi = hi.max(gx).max(gy);
        }
    }
    let axis = value_axis(lo, hi, 6);
    let xs = Scale {
        d0: axis.lo,
        d1: axis.hi,
        r0: r.x,
        r1: r.right(),
    };
    let ys = Scale {
        d0: axis.lo,
        d1: axis.hi,
        r0: r.bottom(),
        r1: r.y,
    };
    frame::axes(
        &mut doc,
        &r,
        &xs,
        &axis.ticks,
        "complexity I(X;Z) (nats / ln m)",
        &ys,
        &axis.ticks,
        "expressivity I(Y;Z) (nats / ln m)",
    );

    let pix: Vec<(f64, f64)> = plane
        .points
        .iter()
        .map(|p| {
            if p.x.is_finite() && p.y.is_finite() {
                (xs.map(p.x), ys.map(p.y))
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect();
    let radius = if finite.len() > 30 { 4.0 } else { 5.5 };
    // What labels must keep clear of: the points and the path between them.
    let mut taken: Vec<Taken> = Vec::new();
    for w in pix.windows(2) {
        if w[0].0.is_finite() && w[1].0.is_finite() {
            for (x, y) in frame::samples_along(w[0], w[1], 5.0, radius + 3.0) {
                taken.push(Taken::point(x, y, 1.5));
            }
        }
    }
    for &(x, y) in pix.iter().filter(|p| p.0.is_finite()) {
        taken.push(Taken::point(x, y, radius + 1.0));
    }

    // The bound y = x across the whole square, labelled along the line where no data is.
    let (a, b) = (
        (xs.map(axis.lo), ys.map(axis.lo)),
        (xs.map(axis.hi), ys.map(axis.hi)),
    );
    doc.group(&[("class", "bound".into())]);
    doc.titled(
        "line",
        &[
            ("x1", px(a.0)),
            ("y1", px(a.1)),
            ("x2", px(b.0)),
            ("y2", px(b.1)),
            ("stroke", REFERENCE.into()),
            ("stroke-width", "1.2".into()),
            ("stroke-dasharray", "6 4".into()),
        ],
        "information-bottleneck bound: I(Y;Z) = I(X;Z)",
    );
    let bound_text = "IB bound: I(Y;Z) = I(X;Z)";
    let (lx, ly, along) = bound_label_position(a, b, text_width(bound_text, NOTE.size), &taken);
    taken.extend(along);
    doc.close();

    // The path in order, with an arrowhead mid-segment showing the direction; gaps at NaN.
    doc.group(&[
        ("class", "path".into()),
        ("fill", "#8c8c8c".into()),
        ("stroke", "#8c8c8c".into()),
    ]);
    let mut d = String::new();
    let mut arrows = Vec::new();
    let mut pen = false;
    for (i, &(x, y)) in pix.iter().enumerate() {
        if !x.is_finite() {
            pen = false;
            continue;
        }
        d.push_str(&format!(
            "{}{} {}",
            if pen { "L" } else { "M" },
            px(x),
            px(y)
        ));
        pen = true;
        if i > 0 && pix[i - 1].0.is_finite() {
            let (x0, y0) = pix[i - 1];
            let (dx, dy) = (x - x0, y - y0);
            let len = (dx * dx + dy * dy).sqrt();
            if len >= 2.0 * radius + 20.0 {
                let (ux, uy) = (dx / len, dy / len);
                let (mx, my) = (x0 + dx / 2.0, y0 + dy / 2.0);
                let (half_len, half_w) = (4.5, 3.6);
                let tip = (mx + ux * half_len, my + uy * half_len);
                let l = (
                    mx - ux * half_len - uy * half_w,
                    my - uy * half_len + ux * half_w,
                );
                let r = (
                    mx - ux * half_len + uy * half_w,
                    my - uy * half_len - ux * half_w,
                );
                arrows.push(format!(
                    "{},{} {},{} {},{}",
                    px(tip.0),
                    px(tip.1),
                    px(l.0),
                    px(l.1),
                    px(r.0),
                    px(r.1)
                ));
            }
        }
    }
    if !d.is_empty() {
        doc.leaf(
            "path",
            &[
                ("class", "line".into()),
                ("d", d),
                ("fill", "none".into()),
                ("stroke-width", "1.5".into()),
                ("stroke-linejoin", "round".into()),
            ],
        );
    }
    for points in arrows {
        doc.leaf(
            "polygon",
            &[
                ("class", "arrow".into()),
                ("points", points),
                ("stroke", "none".into()),
            ],
        );
    }
    doc.close();

    // The bound's label goes over the path (with its halo) but under the points.
    doc.label(lx, ly, "middle", NOTE, bound_text, &{
        let mut attrs = frame::halo("reference-label");
        attrs.push(("transform", format!("rotate(-45 {} {})", px(lx), px(ly))));
        attrs
    });

    // Shuffled-label baselines: hollow points, each joined to its layer's point by a dotted line
    // (its length is what the labels carry beyond what shuffled labels of the same counts show).
    if plane.points.iter().any(|p| p.ghost.is_some()) {
        doc.group(&[("class", "baselines".into())]);
        for (p, &(x, y)) in plane.points.iter().zip(&pix) {
            let Some((gx, gy)) = p.ghost.filter(|g| g.0.is_finite() && g.1.is_finite()) else {
                continue;
            };
            let (bx, by) = (xs.map(gx), ys.map(gy));
            let color = sequential(p.t);
            if x.is_finite() {
                doc.leaf(
                    "line",
                    &[
                        ("class", "baseline-link".into()),
                        ("x1", px(bx)),
                        ("y1", px(by)),
                        ("x2", px(x)),
                        ("y2", px(y)),
                        ("stroke", "#8c8c8c".into()),
                        ("stroke-width", "1".into()),
                        ("stroke-dasharray", "1.5 2.5".into()),
                    ],
                );
            }
            marker(
                &mut doc,
                Shape::Circle,
                bx,
                by,
                radius - 1.5,
                Paint {
                    fill: "#ffffff",
                    stroke: &color,
                    stroke_width: 1.4,
                },
                "baseline-point",
                &format!(
                    "{} \u{2014} shuffled-label baseline: I(X;Z) = {}, I(Y;Z) = {}",
                    p.title.split(':').next().unwrap_or(&p.title),
                    value(gx),
                    value(gy)
                ),
            );
        }
        doc.close();
    }
    // Error bars: ± one standard deviation over seeds on each axis.
    if plane
        .points
        .iter()
        .any(|p| p.sd.0.is_finite() || p.sd.1.is_finite())
    {
        doc.group(&[("class", "error-bars".into())]);
        for (p, &(x, y)) in plane.points.iter().zip(&pix) {
            if !x.is_finite() {
                continue;
            }
            let cap = 3.0;
            let mut d = String::new();
            if p.sd.0.is_finite() && p.sd.0 > 0.0 {
                let (x0, x1) = (xs.map(p.x - p.sd.0), xs.map(p.x + p.sd.0));
                d.push_str(&error_bar((x0, y), (x1, y), cap));
            }
            if p.sd.1.is_finite() && p.sd.1 > 0.0 {
                let (y0, y1) = (ys.map(p.y - p.sd.1), ys.map(p.y + p.sd.1));
                d.push_str(&error_bar((x, y0), (x, y1), cap));
            }
            if !d.is_empty() {
                doc.leaf(
                    "path",
                    &[
                        ("class", "error-bar".into()),
                        ("d", d),
                        ("stroke", "#262626".into()),
                        ("stroke-width", "1".into()),
                        ("fill", "none".into()),
                    ],
                );
            }
        }
        doc.close();
    }

    doc.group(&[
        ("class", "series".into()),
        ("data-series", plane.class.into()),
    ]);
    doc.group(&[("class", "markers".into())]);
    for (p, &(x, y)) in plane.points.iter().zip(&pix) {
        if !x.is_finite() {
            continue;
        }
        let fill = sequential(p.t);
        marker(
            &mut doc,
            Shape::Circle,
            x,
            y,
            radius,
            Paint {
                fill: &fill,
                stroke: "#262626",
                stroke_width: 0.8,
            },
            "point",
            &p.title,
        );
    }
    doc.close();
    doc.close();
    doc.group(&[("class", "labels".into())]);
    // Labels may run into the empty margin right of the plot (there is no spine there), not
    // over the axes or the colour bar.
    let label_bounds = Rect {
        x: r.x + 2.0,
        y: r.y - 10.0,
        w: BAR_X - 10.0 - (r.x + 2.0),
        h: r.h + 8.0,
    };
    // Forced labels (first, last) first, so optional ones give way to them.
    for pass in [true, false] {
        for (i, p) in plane.points.iter().enumerate() {
            let Some((text, force)) = &p.label else {
                continue;
            };
            if *force != pass || !pix[i].0.is_finite() {
                continue;
            }
            let away = away_from_neighbours(&pix, i);
            frame::place_label(
                &mut doc,
                text,
                pix[i].0,
                pix[i].1,
                radius,
                away,
                &label_bounds,
                &mut taken,
                *force,
            );
        }
    }
    doc.close();
    if finite.is_empty() {
        frame::empty_note(&mut doc, &r, plane.empty);
    }
    // A key to the marks beyond the points, under the x axis title.
    let mut key = Vec::new();
    if plane.points.iter().any(|p| p.ghost.is_some()) {
        key.push("hollow points: shuffled-label baselines");
    }
    if plane
        .points
        .iter()
        .any(|p| p.sd.0.is_finite() || p.sd.1.is_finite())
    {
        key.push("bars: \u{b1} 1 sd over seeds");
    }
    if !key.is_empty() {
        doc.label(
            r.x,
            HEIGHT - 8.0,
            "start",
            NOTE,
            &key.join(" \u{b7} "),
            &[("class", "key".into())],
        );
    }
    color_bar(&mut doc, plane.bar_title, &plane.bar);
    doc.finish()
}

/// Where along the diagonal a→b the bound's label (`width` px long, rotated −45°, written just
/// above the line) is clearest of `taken`: the first of a few positions, from the upper end
/// down, that touches nothing, else the one farthest from everything. Returns the label's anchor
/// (its middle, on the baseline) and boxes along it for later labels to avoid.
fn bound_label_position(
    a: (f64, f64),
    b: (f64, f64),
    width: f64,
    taken: &[Taken],
) -> (f64, f64, Vec<Taken>) {
    // Unit vectors along the line (up-right on screen) and across it (up-left).
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    let u = (dx / len, dy / len);
    let n = (u.1, -u.0);
    let offset = 9.0;
    let at = |t: f64| {
        let (x, y) = (a.0 + t * dx, a.1 + t * dy);
        // The baseline sits `offset` px off the line, towards the upper left.
        (x + n.0 * offset, y + n.1 * offset)
    };
    // Boxes covering the rotated text: squares every 6 px along its middle line.
    let cover = |(x, y): (f64, f64), r: f64| -> Vec<Taken> {
        let mid = (x + n.0 * 4.0, y + n.1 * 4.0);
        let k = (width / 6.0).ceil() as i64;
        (-k / 2..=k / 2)
            .map(|i| {
                let s = i as f64 * 6.0;
                Taken::point(mid.0 + u.0 * s, mid.1 + u.1 * s, r)
            })
            .collect()
    };
    let half = width / 2.0 / len;
    let candidates: Vec<f64> = [0.8, 0.68, 0.56, 0.44, 0.32]
        .into_iter()
        .filter(|t| t - half > 0.02 && t + half < 0.98)
        .collect();
    // A position counts as clear only with some room around the text: data running along the
    // bound just under the label would make it hard to read.
    let clearance = |t: f64| {
        let boxes = cover(at(t), 10.5);
        boxes
            .iter()
            .filter(|bx| taken.iter().any(|o| o.overlaps(bx)))
            .count()
    };
    let t = candidates
        .iter()
        .copied()
        .find(|&t| clearance(t) == 0)
        .or_else(|| candidates.iter().copied().min_by_key(|&t| clearance(t)))
        .unwrap_or(0.5);
    let (x, y) = at(t);
    (x, y, cover((x, y), 4.5))
}

/// A unit-ish direction pointing away from the finite neighbours of point `i` (and from the plot
/// centre when it has none), so labels sit off the path.
fn away_from_neighbours(pix: &[(f64, f64)], i: usize) -> (f64, f64) {
    let (x, y) = pix[i];
    let mut v = (0.0, 0.0);
    for j in [i.wrapping_sub(1), i + 1] {
        if let Some(&(nx, ny)) = pix.get(j) {
            if nx.is_finite() {
                let (dx, dy) = (x - nx, y - ny);
                let len = (dx * dx + dy * dy).sqrt();
                if len > 0.0 {
                    v = (v.0 + dx / len, v.1 + dy / len);
                }
            }
        }
    }
    if v == (0.0, 0.0) {
        // No neighbour: right, the conventional place of a point label.
        (1.0, -0.3)
    } else {
        v
    }
}

fn color_bar(doc: &mut Doc, title: &str, bar: &ColorBar) {
    let top = TOP + 28.0;
    doc.group(&[("class", "colorbar".into())]);
    doc.label(
        BAR_X - 2.0,
        top - 12.0,
        "start",
        AXIS,
        title,
        &[("class", "colorbar-title".into())],
    );
    let label_room = WIDTH - (BAR_X + BAR_W + 8.0) - 4.0;
    let tick = |doc: &mut Doc, y: f64, text: &str| {
        doc.group(&[("class", "tick".into())]);
        doc.leaf(
            "line",
            &[
                ("x1", px(BAR_X + BAR_W)),
                ("y1", px(y)),
                ("x2", px(BAR_X + BAR_W + 4.0)),
                ("y2", px(y)),
                ("stroke", "#4d4d4d".into()),
            ],
        );
        doc.label(
            BAR_X + BAR_W + 7.0,
            y + TICK.size * 0.35,
            "start",
            TICK,
            &truncate(text, TICK.size, label_room),
            &[],
        );
        doc.close();
    };
    match bar {
        ColorBar::Blocks(entries) => {
            let n = entries.len().max(1);
            let block = (SIDE * 0.7 / n as f64).min(26.0);
            // First point at the bottom, last at the top.
            for (i, (text, t)) in entries.iter().enumerate() {
                let y = top + (n - 1 - i) as f64 * block;
                doc.leaf(
                    "rect",
                    &[
                        ("x", px(BAR_X)),
                        ("y", px(y)),
                        ("width", px(BAR_W)),
                        ("height", px(block)),
                        ("fill", sequential(*t)),
                    ],
                );
                tick(doc, y + block / 2.0, text);
            }
            frame_rect(doc, top, block * entries.len() as f64);
        }
        ColorBar::Gradient(ticks) => {
            let h = SIDE * 0.7;
            let strips = 64;
            for k in 0..strips {
                let t = (k as f64 + 0.5) / strips as f64;
                let y = top + h - (k + 1) as f64 * h / strips as f64;
                doc.leaf(
                    "rect",
                    &[
                        ("x", px(BAR_X)),
                        ("y", px(y)),
                        ("width", px(BAR_W)),
                        // Overlap by a fraction of a pixel: no hairline seams when rasterised.
                        ("height", px(h / strips as f64 + 0.4)),
                        ("fill", sequential(t)),
                    ],
                );
            }
            // Ticks closer than a line of text to the last one drawn are left out.
            let mut last = f64::INFINITY;
            for (t, text) in ticks {
                let y = top + h - t * h;
                if (last - y).abs() >= TICK.size + 2.0 {
                    tick(doc, y, text);
                    last = y;
                }
            }
            frame_rect(doc, top, h);
        }
    }
    doc.close();
}

fn frame_rect(doc: &mut Doc, top: f64, h: f64) {
    doc.leaf(
        "rect",
        &[
            ("x", px(BAR_X)),
            ("y", px(top)),
            ("width", px(BAR_W)),
            ("height", px(h)),
            ("fill", "none".into()),
            ("stroke", "#4d4d4d".into()),
            ("stroke-width", "0.8".into()),
        ],
    );
}

/// Colour-bar ticks for layers `layers` (sorted) when there are too many for blocks.
fn layer_gradient(layers: &[usize], emb: bool) -> Vec<(f64, String)> {
    let (lo, hi) = (layers[0] as f64, layers[layers.len() - 1] as f64);
    let present: Vec<i64> = layers.iter().map(|&l| l as i64).collect();
    let max = (SIDE * 0.7 / 22.0) as usize;
    integer_ticks(&present, max)
        .into_iter()
        .map(|l| ((l as f64 - lo) / (hi - lo), layer_name(l as usize, emb)))
        .collect()
}

/// See [`crate::plot::information_plane`].
pub(crate) fn information_plane(report: &Report, order: usize) -> String {
    let orders = orders_of(report);
    let backoff = order == 0;
    let name = if backoff {
        "backoff"
    } else {
        orders
            .iter()
            .find(|o| o.0 == order)
            .map_or(order_name(order), |o| o.1)
    };
    let known = if backoff {
        report.layers.iter().any(|l| l.backoff.is_some())
    } else {
        orders.iter().any(|o| o.0 == order)
    };
    let emb = !orders.is_empty();
    let layers: Vec<usize> = report.layers.iter().map(|l| l.layer).collect();
    let (lo, hi) = (
        layers.first().copied().unwrap_or(0),
        layers.last().copied().unwrap_or(0),
    );
    let depth = |l: usize| {
        if hi > lo {
            (l - lo) as f64 / (hi - lo) as f64
        } else {
            1.0
        }
    };
    let n = report.layers.len();
    let points: Vec<PlanePoint> = report
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let o = if order == 0 {
                l.backoff.as_ref()
            } else {
                l.orders.iter().find(|o| o.order == order)
            };
            let (x, y) = o.map_or((f64::NAN, f64::NAN), |o| (o.complexity, o.expressivity));
            let sd = o.map_or((f64::NAN, f64::NAN), |o| {
                (
                    o.complexity_sd.unwrap_or(f64::NAN),
                    o.expressivity_sd.unwrap_or(f64::NAN),
                )
            });
            let ghost = o.and_then(|o| {
                Some((
                    o.input.baseline.as_ref()?.mean,
                    o.output.baseline.as_ref()?.mean,
                ))
            });
            let label = if i == 0 {
                Some(if l.layer == 0 && emb {
                    "emb".to_owned()
                } else {
                    format!("L{}", l.layer)
                })
            } else if i + 1 == n {
                Some(format!("L{}", l.layer))
            } else {
                None
            };
            PlanePoint {
                x,
                y,
                t: depth(l.layer),
                title: match o {
                    Some(o) => format!(
                        "{}, {name}: {}; {}",
                        layer_title(l.layer, emb),
                        mi_text("I(X;Z)", &o.input),
                        mi_text("I(Y;Z)", &o.output)
                    ),
                    None => format!("{}, {name}: n/a", layer_title(l.layer, emb)),
                },
                label: label.map(|s| (s, true)),
                sd,
                ghost,
            }
        })
        .collect();
    let bar = if n <= MAX_BLOCKS {
        ColorBar::Blocks(
            report
                .layers
                .iter()
                .map(|l| (layer_name(l.layer, emb), depth(l.layer)))
                .collect(),
        )
    } else {
        ColorBar::Gradient(layer_gradient(&layers, emb))
    };
    let what = if backoff {
        "X, Y = the longest frequent input / output n-gram (back-off)".to_owned()
    } else {
        format!(
            "X = input {name}, Y = next {order} token{}",
            if order == 1 { "" } else { "s" }
        )
    };
    let mut desc = format!(
        "Information plane for the {name} order ({what}): complexity I(X;Z) on the horizontal axis against expressivity I(Y;Z) on the vertical axis, equal scales, one point per layer joined in depth order and coloured from light (embedding) to dark (last layer); the dashed diagonal is the information-bottleneck bound I(Y;Z) = I(X;Z). Values in efficiency units (nats / ln m)."
    );
    if points.iter().any(|p| p.ghost.is_some()) {
        desc.push_str(" Hollow points joined by dotted lines are each layer's shuffled-label baseline: what labels with the same counts but no relation to the rows give.");
    }
    if points.iter().any(|p| p.sd.0.is_finite()) {
        desc.push_str(
            " Error bars show one standard deviation over the seeds of the reference points.",
        );
    }
    for p in &points {
        if p.x.is_finite() && p.y.is_finite() {
            desc.push(' ');
            desc.push_str(&p.title);
            desc.push('.');
        }
    }
    let plane = Plane {
        class: "information-plane",
        title: format!("Information plane, {name}"),
        subtitle: format!("{what} \u{b7} {}", source_line(report)),
        desc,
        points,
        bar_title: "layer",
        bar,
        empty: if report.layers.is_empty() {
            "no layers in this report"
        } else if !known {
            "this n-gram order is not in the report"
        } else {
            "no finite values"
        },
    };
    draw(&plane)
}

/// Compact step numbers for colour-bar ticks: 143000 → "143k", 2000000 → "2M".
fn step_label(s: u64) -> String {
    if s >= 1_000_000 && s.is_multiple_of(100_000) {
        let tenths = s / 100_000;
        if tenths.is_multiple_of(10) {
            format!("{}M", tenths / 10)
        } else {
            format!("{}.{}M", tenths / 10, tenths % 10)
        }
    } else if s >= 10_000 && s.is_multiple_of(1000) {
        format!("{}k", s / 1000)
    } else {
        s.to_string()
    }
}

/// See [`crate::plot::trajectory`].
pub(crate) fn trajectory(points: &[TrajectoryPoint], order_name: &str) -> String {
    let n = points.len();
    let steps: Option<Vec<u64>> = points.iter().map(|p| p.step).collect();
    let step_range = steps.as_ref().and_then(|s| {
        let (lo, hi) = (*s.iter().min()?, *s.iter().max()?);
        (hi > lo).then_some((lo, hi))
    });
    let t_of = |i: usize| match (step_range, points[i].step) {
        (Some((lo, hi)), Some(s)) => (s - lo) as f64 / (hi - lo) as f64,
        _ if n > 1 => i as f64 / (n - 1) as f64,
        _ => 1.0,
    };
    let plane_points: Vec<PlanePoint> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let who = match p.step {
                Some(s) => format!("{} (step {s})", p.label),
                None => p.label.clone(),
            };
            PlanePoint {
                x: p.complexity,
                y: p.expressivity,
                t: t_of(i),
                title: format!(
                    "{who}, {order_name}: I(X;Z) = {}, I(Y;Z) = {}",
                    value(p.complexity),
                    value(p.expressivity)
                ),
                label: Some((truncate(&p.label, TICK.size, 120.0), i == 0 || i + 1 == n)),
                sd: (f64::NAN, f64::NAN),
                ghost: p.baseline,
            }
        })
        .collect();
    let (bar_title, bar) = match step_range {
        Some((lo, hi)) => {
            // Round steps (0, 10k, 20k, ...) along the bar, whose colours are linear in step.
            let axis = fixed_axis(lo as f64, hi as f64, 5, false);
            let mut ticks: Vec<(f64, String)> = axis
                .ticks
                .values
                .iter()
                .filter(|v| v.fract() == 0.0 && **v >= 0.0)
                .map(|&v| {
                    let s = v as u64;
                    ((s - lo) as f64 / (hi - lo) as f64, step_label(s))
                })
                .collect();
            if ticks.len() < 2 {
                ticks = vec![(0.0, step_label(lo)), (1.0, step_label(hi))];
            }
            ("training step", ColorBar::Gradient(ticks))
        }
        None if n <= MAX_BLOCKS => (
            "checkpoint",
            ColorBar::Blocks(
                points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.label.clone(), t_of(i)))
                    .collect(),
            ),
        ),
        None => (
            "checkpoint",
            ColorBar::Gradient(vec![
                (0.0, points[0].label.clone()),
                (1.0, points[n - 1].label.clone()),
            ]),
        ),
    };
    let mut desc = format!(
        "Training trajectory on the information plane for the {order_name} order: complexity I(X;Z) (mean over layers) on the horizontal axis against expressivity I(Y;Z) on the vertical axis, equal scales, one point per checkpoint joined in the given order and coloured from light (early) to dark (late); the dashed diagonal is the information-bottleneck bound I(Y;Z) = I(X;Z). Values in efficiency units (nats / ln m)."
    );
    for p in &plane_points {
        if p.x.is_finite() && p.y.is_finite() {
            desc.push(' ');
            desc.push_str(&p.title);
            desc.push('.');
        }
    }
    draw(&Plane {
        class: "trajectory",
        title: format!("Training trajectory, {order_name}"),
        subtitle: format!(
            "layer means of {n} checkpoint{} on the information plane",
            if n == 1 { "" } else { "s" }
        ),
        desc,
        points: plane_points,
        bar_title,
        bar,
        empty: if n == 0 {
            "no checkpoints"
        } else {
            "no finite values"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_abbreviated_only_when_round() {
        assert_eq!(step_label(143_000), "143k");
        assert_eq!(step_label(2_000_000), "2M");
        assert_eq!(step_label(1_500_000), "1.5M");
        assert_eq!(step_label(12_345), "12345");
        assert_eq!(step_label(500), "500");
    }
}
