//! Colours and marker shapes. Series colours are the Okabe–Ito palette (distinguishable with every
//! common colour-vision deficiency) and each series also has its own marker shape, so no
//! distinction rests on colour alone. Depth and training step use a sequential palette (viridis,
//! light → dark), perceptually uniform and readable in greyscale.

use super::svg::{px, Doc};

/// Okabe–Ito colours in the order series take them: blue, vermillion, bluish green, reddish
/// purple, orange, sky blue, black.
pub(crate) const SERIES: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// A single quantity without series (H(Z)).
pub(crate) const INK: &str = "#333333";
/// Lines that are references, not data (y = x, optimality 1).
pub(crate) const REFERENCE: &str = "#666666";
/// Grid lines.
pub(crate) const GRID: &str = "#e5e5e5";
/// Axis lines and ticks.
pub(crate) const SPINE: &str = "#4d4d4d";

/// Marker shapes, in the order series take them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Pentagon,
    Hexagon,
}

pub(crate) const SHAPES: [Shape; 7] = [
    Shape::Circle,
    Shape::Square,
    Shape::TriangleUp,
    Shape::Diamond,
    Shape::TriangleDown,
    Shape::Pentagon,
    Shape::Hexagon,
];

/// Colour and shape of series number `i`.
pub(crate) fn series_style(i: usize) -> (&'static str, Shape) {
    (SERIES[i % SERIES.len()], SHAPES[i % SHAPES.len()])
}

/// How a marker is painted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paint<'a> {
    pub fill: &'a str,
    pub stroke: &'a str,
    pub stroke_width: f64,
}

/// Vertices of a regular polygon (or the fixed shapes) of "radius" `r` around (x, y). Every
/// shape's bounding box is centred on (x, y), so the point's position can be read back from the
/// drawn shape (the tests do).
fn polygon(shape: Shape, x: f64, y: f64, r: f64) -> Vec<(f64, f64)> {
    // Unit-circle vertex tables (precomputed: no trigonometry at run time, see scale.rs).
    const PENTAGON: [(f64, f64); 5] = [
        (0.0, -1.0),
        (0.951_056_5, -0.309_017),
        (0.587_785_3, 0.809_017),
        (-0.587_785_3, 0.809_017),
        (-0.951_056_5, -0.309_017),
    ];
    const HEXAGON: [(f64, f64); 6] = [
        (0.0, -1.0),
        (0.866_025_4, -0.5),
        (0.866_025_4, 0.5),
        (0.0, 1.0),
        (-0.866_025_4, 0.5),
        (-0.866_025_4, -0.5),
    ];
    let h = r * 1.0;
    let w = r * 1.15;
    match shape {
        Shape::TriangleUp => vec![(x, y - h), (x + w, y + h), (x - w, y + h)],
        Shape::TriangleDown => vec![(x, y + h), (x - w, y - h), (x + w, y - h)],
        Shape::Diamond => {
            let d = r * 1.3;
            vec![(x, y - d), (x + d * 0.8, y), (x, y + d), (x - d * 0.8, y)]
        }
        Shape::Pentagon => {
            // Vertical extent −1 … 0.809: shift so the box is centred.
            let s = r * 1.1;
            let dy = s * (1.0 - 0.809_017) / 2.0;
            PENTAGON
                .iter()
                .map(|&(u, v)| (x + u * s, y + v * s + dy))
                .collect()
        }
        Shape::Hexagon => HEXAGON
            .iter()
            .map(|&(u, v)| (x + u * r * 1.1, y + v * r * 1.1))
            .collect(),
        Shape::Circle | Shape::Square => unreachable!("drawn as circle / rect"),
    }
}

/// Draws one marker with a hover `title`, under the CSS class `class`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn marker(
    doc: &mut Doc,
    shape: Shape,
    x: f64,
    y: f64,
    r: f64,
    paint: Paint,
    class: &str,
    title: &str,
) {
    let mut attrs: Vec<(&'static str, String)> = vec![("class", class.into())];
    let tag = match shape {
        Shape::Circle => {
            attrs.extend([("cx", px(x)), ("cy", px(y)), ("r", px(r))]);
            "circle"
        }
        Shape::Square => {
            // Same area as the circle: side r·√π ≈ 1.77 r.
            let s = r * 0.886;
            attrs.extend([
                ("x", px(x - s)),
                ("y", px(y - s)),
                ("width", px(2.0 * s)),
                ("height", px(2.0 * s)),
            ]);
            "rect"
        }
        _ => {
            let pts: Vec<String> = polygon(shape, x, y, r)
                .iter()
                .map(|&(a, b)| format!("{},{}", px(a), px(b)))
                .collect();
            attrs.push(("points", pts.join(" ")));
            "polygon"
        }
    };
    attrs.extend([
        ("fill", paint.fill.into()),
        ("stroke", paint.stroke.into()),
        ("stroke-width", px(paint.stroke_width)),
    ]);
    doc.titled(tag, &attrs, title);
}

/// Viridis at nine stops (matplotlib's values), from dark (0) to light (1).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (0x44, 0x01, 0x54),
    (0x47, 0x2c, 0x7a),
    (0x3b, 0x51, 0x8b),
    (0x2c, 0x71, 0x8e),
    (0x21, 0x90, 0x8d),
    (0x27, 0xad, 0x81),
    (0x5c, 0xc8, 0x63),
    (0xaa, 0xdc, 0x32),
    (0xfd, 0xe7, 0x25),
];

/// The sequential colour for `t` ∈ [0, 1]: 0 is light (early, shallow), 1 is dark (late, deep).
/// The lightest yellow is left out: it would vanish on white.
pub(crate) fn sequential(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Viridis position: 0.88 (light green-yellow) down to 0 (dark purple).
    let v = 0.88 * (1.0 - t) * (VIRIDIS.len() - 1) as f64;
    let i = (v.floor() as usize).min(VIRIDIS.len() - 2);
    let f = v - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequential_palette_runs_light_to_dark() {
        assert_eq!(sequential(1.0), "#440154");
        let lum = |c: &str| {
            let v = |i| u8::from_str_radix(&c[i..i + 2], 16).unwrap() as f64;
            0.2126 * v(1) + 0.7152 * v(3) + 0.0722 * v(5)
        };
        let mut last = f64::INFINITY;
        for k in 0..=10 {
            let l = lum(&sequential(k as f64 / 10.0));
            assert!(l < last, "luminance falls with t");
            last = l;
        }
        assert_eq!(sequential(f64::NAN), sequential(0.0));
    }

    #[test]
    fn polygon_markers_are_centred_on_their_point() {
        for shape in [
            Shape::TriangleUp,
            Shape::TriangleDown,
            Shape::Diamond,
            Shape::Pentagon,
            Shape::Hexagon,
        ] {
            let p = polygon(shape, 10.0, 20.0, 4.0);
            let (xs, ys): (Vec<f64>, Vec<f64>) = p.into_iter().unzip();
            let mid = |v: &[f64]| {
                (v.iter().cloned().fold(f64::INFINITY, f64::min)
                    + v.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
                    / 2.0
            };
            assert!((mid(&xs) - 10.0).abs() < 1e-9, "{shape:?}");
            assert!((mid(&ys) - 20.0).abs() < 1e-6, "{shape:?}");
        }
    }
}
