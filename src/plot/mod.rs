//! SVG charts of a [`Report`]: the layer profile, the information plane per n-gram order, and a
//! training trajectory across checkpoints.
//!
//! Every chart is a pure function from data to an SVG document in a `String`: no file system, no
//! fonts to load, no drawing backend, no thread-local state, so the same code runs in the CLI, in
//! a browser's main thread and in a Web Worker (plotting crates that rasterise or measure text
//! through the platform do not). The output is deterministic: the same input gives the same bytes
//! on every platform. Coordinates are printed with two decimals and values with four, and only
//! IEEE-exact arithmetic (+, −, ×, ÷, √, floor) leads to a printed number, never a libm function
//! whose last bit may differ between the native and the wasm32 build.
//!
//! The documents are written to be embedded as they are: the root `<svg>` has `role="img"`, a
//! `<title>` and a `<desc>` (a text alternative that lists the values), `width`/`height` in px and
//! a `viewBox` so they scale; every data point is a shape with its own `<title>`, which browsers
//! show on hover; no element has an `id`, so several charts can share one HTML page; all inserted
//! text is escaped. Colours are the Okabe–Ito palette plus a marker shape per series (so no
//! distinction rests on colour alone) and viridis for depth and training time; text is dark grey
//! with at least 7:1 contrast on the white background.
//!
//! Classes mark the structure for styling and tests: `panel` (with `data-panel`), `series` (with
//! `data-series`), `markers`, `point` (`point clipped` for values drawn on the edge of a clipped
//! axis), `axis x` / `axis y` with one `tick` group (line and label) per tick, `legend`,
//! `colorbar`.

mod frame;
mod plane;
mod profile;
mod scale;
mod style;
mod svg;

use crate::labels::order_name;
use crate::report::Report;
use svg::value;

/// One checkpoint of a training run on the information plane: usually the report's layer means
/// (`report.mean.orders[k].complexity` and `.expressivity`) of the model saved at `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrajectoryPoint {
    /// Shown next to the point and in its hover title (e.g. "step 1000", a file name).
    pub label: String,
    /// Training step: when every point has one, colours follow the step and the colour bar is
    /// ticked in steps; otherwise colours follow the order of the points.
    pub step: Option<u64>,
    /// I(X;Z), efficiency (nats / ln m).
    pub complexity: f64,
    /// I(Y;Z), efficiency (nats / ln m).
    pub expressivity: f64,
    /// The shuffled-label baselines of both, when known (drawn as a hollow point).
    pub baseline: Option<(f64, f64)>,
}

/// The layer profile, the paper notebook's four panels in a 2 × 2 grid over depth (layer 0, the
/// embedding output, is labelled "emb"): (a) H(Z); (b) complexity I(X;Z) and (c) expressivity
/// I(Y;Z), one line per n-gram order; (d) optimality I(Y;Z) / I(X;Z) per order, with the
/// information-bottleneck bound 1 dashed and the axis clipped to [−1, 2] (points beyond are open
/// triangles on the edge, their hover title giving the value). Named label sets add a panel of
/// I(L;Z); back-off label sets add a series. Shuffled-label baselines are dashed lines in each
/// series' colour, the ceiling (H(Z) − mean single-row entropy) a dotted grey line, and the
/// standard deviation over seeds error bars. A report without n-gram orders (plain rows) shows H(Z) and I(L;Z) per label set, and
/// its layer 0 is labelled "0". NaN values leave gaps in the lines.
pub fn layer_profile(report: &Report) -> String {
    profile::layer_profile(report)
}

/// The information plane of one n-gram `order` (1 = unigram … 4 = quadgram, as in
/// [`crate::report::OrderReport::order`]; 0 = the back-off label sets): complexity I(X;Z) on x, expressivity I(Y;Z) on y, equal
/// scales from 0 (or below, for negative values), one point per layer joined in depth order and
/// coloured light → dark, the first and last labelled (`emb`, `L<last>`), the bound y = x dashed,
/// and a colour bar for depth. With shuffled-label baselines each layer's baseline is a hollow
/// point joined to it by a dotted line; with several seeds, error bars show ± one sd on both
/// axes. An order the report lacks gives an empty plane saying so.
pub fn information_plane(report: &Report, order: usize) -> String {
    plane::information_plane(report, order)
}

/// Checkpoints on the information plane, joined in the given order and coloured by training step
/// (light = early), each labelled (labels that would collide are left out, the first and last
/// never), with the bound y = x; points with a baseline get a hollow point joined to them. `order_name`
/// names the n-gram order in titles ("bigram").
pub fn trajectory(points: &[TrajectoryPoint], order_name: &str) -> String {
    plane::trajectory(points, order_name)
}

/// Every chart of a report as (file name, SVG): `layer_profile.svg`, then
/// `information_plane_<order name>.svg` for each n-gram order (`information_plane_bigram.svg`),
/// and `information_plane_backoff.svg` when the report has back-off label sets.
/// A report without n-gram orders has only the profile.
pub fn charts(report: &Report) -> Vec<(String, String)> {
    let mut out = vec![("layer_profile.svg".to_owned(), layer_profile(report))];
    for (order, name) in orders_of(report) {
        let file = if name == "n-gram" {
            format!("information_plane_order{order}.svg")
        } else {
            format!("information_plane_{name}.svg")
        };
        out.push((file, information_plane(report, order)));
    }
    if report.layers.iter().any(|l| l.backoff.is_some()) {
        out.push((
            "information_plane_backoff.svg".to_owned(),
            information_plane(report, 0),
        ));
    }
    out
}

/// The n-gram orders of a report (order, name), from its layers or, without layers, its settings.
fn orders_of(report: &Report) -> Vec<(usize, &'static str)> {
    match report.layers.first() {
        Some(l) => l.orders.iter().map(|o| (o.order, o.name)).collect(),
        None => report
            .settings
            .orders
            .iter()
            .map(|&k| (k, order_name(k)))
            .collect(),
    }
}

/// The named label sets of a report.
fn label_sets_of(report: &Report) -> Vec<String> {
    match report.layers.first() {
        Some(l) => l.label_sets.iter().map(|s| s.name.clone()).collect(),
        None => report
            .mean
            .label_sets
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    }
}

/// A layer's tick label: "emb" for layer 0 of token data (the embedding output), else its number.
fn layer_name(layer: usize, emb: bool) -> String {
    if emb && layer == 0 {
        "emb".into()
    } else {
        layer.to_string()
    }
}

/// A layer as hover titles name it: "layer 3", "layer 0 (emb)".
fn layer_title(layer: usize, emb: bool) -> String {
    if emb && layer == 0 {
        "layer 0 (emb)".into()
    } else {
        format!("layer {layer}")
    }
}

/// What was analysed, for subtitles: file names and the estimator settings.
fn source_line(report: &Report) -> String {
    let files: Vec<&str> = report
        .input
        .files
        .iter()
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .collect();
    let mut s = if files.is_empty() {
        String::new()
    } else {
        format!("{} \u{b7} ", files.join(" + "))
    };
    let st = &report.settings;
    let seeds = if st.seeds > 1 {
        format!(
            "seeds {}\u{2013}{} (mean \u{b1} sd)",
            st.seed,
            st.seed + st.seeds as u64 - 1
        )
    } else {
        format!("seed {}", st.seed)
    };
    s.push_str(&format!(
        "m = {}, {seeds}, {} positions",
        st.n_bins, report.input.positions
    ));
    // Options that change the numbers away from the reference's, so a chart says it.
    if st.exclude_first_positions > 0 {
        s.push_str(&format!(", first {} excluded", st.exclude_first_positions));
    }
    if !st.exclude_tokens.is_empty() {
        s.push_str(&format!(", {} token ids excluded", st.exclude_tokens.len()));
    }
    if st.min_count > 1 {
        s.push_str(&format!(", min count {}", st.min_count));
    }
    if st.centre {
        s.push_str(", centred");
    }
    s
}

/// A mutual information for hover titles and text alternatives: "I(X;Z) = 0.1234 ± 0.0010;
/// shuffled-label baseline 0.0500 ± 0.0020, corrected 0.0734".
fn mi_text(symbol: &str, set: &crate::report::LabelSetReport) -> String {
    let mut t = format!("{symbol} = {}", value(set.mutual_information));
    if let Some(sd) = set.mutual_information_sd {
        t.push_str(&format!(" \u{b1} {}", value(sd)));
    }
    if let (Some(b), Some(c)) = (&set.baseline, set.corrected) {
        t.push_str(&format!("; shuffled-label baseline {}", value(b.mean)));
        if let Some(sd) = b.sd {
            t.push_str(&format!(" \u{b1} {}", value(sd)));
        }
        t.push_str(&format!(", corrected {}", value(c)));
    }
    t
}
