//! The SVG charts of `infoplane::plot` on reports computed from the committed fixtures (the golden
//! d64 dump with orders 1–4, and plain rows with a label set) and on edited copies of them (NaN
//! gaps, negative values, deep models, huge optimality, hostile names). Each chart must be
//! well-formed XML whose points sit where the axis ticks say their values are, with the values in
//! their hover titles.
//!
//! `INFOPLANE_PLOT_OUT=/some/dir cargo test --test plots` also writes the SVGs there to look at.

mod common;

use std::fs::File;
use std::io::BufReader;

use common::fixture;
use infoplane::analysis::{self, AnalysisSettings};
use infoplane::estimator::{Calibration, EstimatorConfig};
use infoplane::formats::layout::LayoutOverrides;
use infoplane::formats::open;
use infoplane::plot::{self, TrajectoryPoint};
use infoplane::report::{LayerReport, Report};
use roxmltree::{Document, Node};

fn analyze(rel: &str, orders: &[usize], bins: usize, seed: u64) -> Report {
    let settings = AnalysisSettings {
        estimator: EstimatorConfig {
            n_bins: bins,
            seed,
            calibration: Calibration::FindEps,
        },
        orders: orders.to_vec(),
        ..AnalysisSettings::default()
    };
    analyze_with(rel, &settings)
}

fn analyze_with(rel: &str, settings: &AnalysisSettings) -> Report {
    let path = fixture(rel);
    let file = File::open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    let opened = open::open(path.to_str().unwrap(), BufReader::new(file), len, None).unwrap();
    let mut files = vec![opened.file];
    let a = analysis::analyze(
        &mut files,
        &[opened.labels_only],
        &LayoutOverrides::default(),
        settings,
        false,
        analysis::LayerShare::WHOLE,
        &mut |_, _| {},
    )
    .unwrap();
    Report::from_analysis(&a)
}

fn golden() -> Report {
    analyze("golden/d64_bins100_seed42.npz", &[1, 2, 3, 4], 100, 42)
}

fn rows() -> Report {
    analyze("formats/rows.npz", &[], 20, 0)
}

/// A report of `n` layers (0..n) made from the golden one's layer 1, values set by `f(layer)`:
/// (H, [(complexity, expressivity)] per order 1..4).
fn synthetic(n: usize, f: impl Fn(usize) -> (f64, [(f64, f64); 4])) -> Report {
    let mut r = golden();
    let template = r.layers[1].clone();
    r.layers = (0..n)
        .map(|l| {
            let (h, ce) = f(l);
            let mut layer: LayerReport = template.clone();
            layer.layer = l;
            layer.entropy = h;
            for (o, (c, e)) in layer.orders.iter_mut().zip(ce) {
                o.complexity = c;
                o.expressivity = e;
                o.input.mutual_information = c;
                o.output.mutual_information = e;
                o.optimality = if c > 0.0 { e / c } else { f64::NAN };
            }
            layer
        })
        .collect();
    r
}

/// Writes the SVG under $INFOPLANE_PLOT_OUT when set, and returns it parsed.
fn save(name: &str, svg: &str) {
    if let Ok(dir) = std::env::var("INFOPLANE_PLOT_OUT") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), svg).unwrap();
    }
}

fn has_class(n: &Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

fn find<'a, 'i>(n: Node<'a, 'i>, class: &str) -> Vec<Node<'a, 'i>> {
    n.descendants()
        .filter(|d| d.is_element() && has_class(d, class))
        .collect()
}

fn attr(n: &Node, name: &str) -> f64 {
    n.attribute(name)
        .unwrap_or_else(|| panic!("{} has {name}", n.tag_name().name()))
        .parse()
        .unwrap()
}

/// The centre of a marker: circle centre, rect centre, or the middle of a polygon's bounding box
/// (the charts centre every shape's box on its point).
fn centre(n: &Node) -> (f64, f64) {
    match n.tag_name().name() {
        "circle" => (attr(n, "cx"), attr(n, "cy")),
        "rect" => (
            attr(n, "x") + attr(n, "width") / 2.0,
            attr(n, "y") + attr(n, "height") / 2.0,
        ),
        "polygon" => {
            let pts: Vec<(f64, f64)> = n
                .attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (a, b) = p.split_once(',').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                })
                .collect();
            let mid = |f: fn(&(f64, f64)) -> f64| {
                let lo = pts.iter().map(f).fold(f64::INFINITY, f64::min);
                let hi = pts.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
                (lo + hi) / 2.0
            };
            (mid(|p| p.0), mid(|p| p.1))
        }
        other => panic!("unexpected marker <{other}>"),
    }
}

fn title_of(n: &Node) -> String {
    n.children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_owned()
}

/// Parses a tick label: typographic minus, "≥"/"≤" of clipped ends, "emb" = layer 0.
fn tick_value(text: &str) -> f64 {
    let t = text
        .replace('\u{2212}', "-")
        .replace(['\u{2265}', '\u{2264}'], "");
    if t == "emb" {
        0.0
    } else {
        t.parse().unwrap_or_else(|_| panic!("tick label {text:?}"))
    }
}

/// The axis transform of `axis` ("x" or "y") within `scope`: pixel = a + b·value, fitted on the
/// tick marks; also returns the ticks (value, pixel).
fn axis_map(scope: Node, axis: &str) -> ((f64, f64), Vec<(f64, f64)>) {
    let g = scope
        .descendants()
        .find(|d| has_class(d, "axis") && has_class(d, axis))
        .unwrap_or_else(|| panic!("{axis} axis"));
    let ticks: Vec<(f64, f64)> = find(g, "tick")
        .iter()
        .map(|t| {
            let line = t.children().find(|c| c.has_tag_name("line")).unwrap();
            let text = t.children().find(|c| c.has_tag_name("text")).unwrap();
            let v = tick_value(text.text().unwrap());
            let p = if axis == "x" {
                attr(&line, "x1")
            } else {
                attr(&line, "y1")
            };
            (v, p)
        })
        .collect();
    assert!(ticks.len() >= 2, "{axis} axis has at least two ticks");
    let (v0, p0) = ticks[0];
    let (v1, p1) = ticks[ticks.len() - 1];
    let b = (p1 - p0) / (v1 - v0);
    ((p0 - b * v0, b), ticks)
}

fn unmap(m: (f64, f64), p: f64) -> f64 {
    (p - m.0) / m.1
}

fn panel<'a, 'i>(doc: &'a Document<'i>, key: &str) -> Node<'a, 'i> {
    doc.descendants()
        .find(|n| has_class(n, "panel") && n.attribute("data-panel") == Some(key))
        .unwrap_or_else(|| panic!("panel {key}"))
}

fn series<'a, 'i>(scope: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    scope
        .descendants()
        .find(|n| has_class(n, "series") && n.attribute("data-series") == Some(name))
        .unwrap_or_else(|| panic!("series {name}"))
}

fn markers<'a, 'i>(series: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    find(series, "point")
}

/// Root checks every chart must pass; returns the parsed document.
fn check_root<'i>(svg: &'i str) -> Document<'i> {
    let doc = Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    let w: f64 = attr(&root, "width");
    let h: f64 = attr(&root, "height");
    assert_eq!(
        root.attribute("viewBox").unwrap(),
        format!("0 0 {w} {h}"),
        "viewBox matches the size"
    );
    assert!((500.0..=800.0).contains(&w));
    let kids: Vec<_> = root.children().filter(|c| c.is_element()).collect();
    assert_eq!(kids[0].tag_name().name(), "title");
    assert_eq!(kids[1].tag_name().name(), "desc");
    assert!(!kids[0].text().unwrap().is_empty() && !kids[1].text().unwrap().is_empty());
    assert!(
        root.descendants().all(|n| n.attribute("id").is_none()),
        "no ids: charts can share a page"
    );
    assert!(root
        .attribute("font-family")
        .unwrap()
        .contains("sans-serif"));
    // Every data point carries its own hover title.
    for p in find(root, "point") {
        assert!(!title_of(&p).is_empty(), "a point without a title");
    }
    // Text stays readable when the chart is shown 640 px wide, in colours with at least the
    // WCAG AA contrast (4.5:1) on the white background.
    let root_fill = root.attribute("fill").unwrap();
    for t in root.descendants().filter(|n| n.has_tag_name("text")) {
        let size: f64 = t
            .attribute("font-size")
            .map_or(12.0, |s| s.parse().unwrap());
        assert!(size * 640.0 / w >= 10.0, "font size {size} at width {w}");
        let fill = t.attribute("fill").unwrap_or(root_fill);
        assert!(contrast_on_white(fill) >= 4.5, "text colour {fill}");
    }
    doc
}

/// WCAG contrast ratio of `#rrggbb` against white.
fn contrast_on_white(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    1.05 / (l + 0.05)
}

#[test]
fn charts_of_the_golden_report_are_named_per_order_and_well_formed() {
    let report = golden();
    let charts = plot::charts(&report);
    let names: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "layer_profile.svg",
            "information_plane_unigram.svg",
            "information_plane_bigram.svg",
            "information_plane_trigram.svg",
            "information_plane_quadgram.svg"
        ]
    );
    for (name, svg) in &charts {
        save(&format!("golden_{name}"), svg);
        check_root(svg);
    }
}

#[test]
fn profile_points_sit_at_their_values_and_carry_them_in_titles() {
    let report = golden();
    let svg = plot::layer_profile(&report);
    let doc = check_root(&svg);
    type Get = fn(&infoplane::report::OrderReport) -> f64;
    let quantities: [(&str, Get, &str); 3] = [
        ("complexity", |o| o.complexity, "I(X;Z) = "),
        ("expressivity", |o| o.expressivity, "I(Y;Z) = "),
        ("optimality", |o| o.optimality, "optimality = "),
    ];
    for (key, get, label) in quantities {
        let p = panel(&doc, key);
        let (ym, _) = axis_map(p, "y");
        let (xm, _) = axis_map(p, "x");
        for o in &report.layers[0].orders {
            let s = series(p, o.name);
            let ms = markers(s);
            assert_eq!(ms.len(), report.layers.len(), "{key} {}", o.name);
            for (m, layer) in ms.iter().zip(&report.layers) {
                let v = get(layer.orders.iter().find(|x| x.order == o.order).unwrap());
                let (x, y) = centre(m);
                let back = unmap(ym, y);
                let tol = 0.02 / ym.1.abs() + 1e-9;
                assert!(
                    (back - v).abs() <= tol,
                    "{key} {} layer {}: {back} vs {v}",
                    o.name,
                    layer.layer
                );
                assert!((unmap(xm, x) - layer.layer as f64).abs() < 0.01);
                let t = title_of(m);
                assert!(t.contains(&format!("{label}{v:.4}")), "{t}");
                assert!(t.contains(o.name) && t.contains(&format!("layer {}", layer.layer)));
            }
        }
    }
    // (a): one series, H(Z) per layer.
    let a = panel(&doc, "entropy");
    let (ym, _) = axis_map(a, "y");
    let ms = find(a, "point");
    assert_eq!(ms.len(), 3);
    for (m, l) in ms.iter().zip(&report.layers) {
        assert!((unmap(ym, centre(m).1) - l.entropy).abs() < 1e-3);
        assert!(title_of(m).contains(&format!("H(Z) = {:.4}", l.entropy)));
    }
    // The embedding is named on the x axis; the legend names every order.
    let (_, xt) = axis_map(a, "x");
    assert_eq!(xt.len(), 3);
    assert!(svg.contains(">emb</text>"));
    let legend = doc.descendants().find(|n| has_class(n, "legend")).unwrap();
    let entries: Vec<&str> = legend
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        entries,
        [
            "unigram",
            "bigram",
            "trigram",
            "quadgram",
            "shuffled-label baseline",
            "ceiling (all-unique labels)"
        ]
    );
    // Series differ in colour and marker shape.
    let p = panel(&doc, "complexity");
    let styles: Vec<(String, String)> = ["unigram", "bigram", "trigram", "quadgram"]
        .iter()
        .map(|n| {
            let m = markers(series(p, n))[0];
            (
                m.attribute("fill").unwrap().to_owned(),
                format!(
                    "{}{}",
                    m.tag_name().name(),
                    m.attribute("points").map_or(0, |s| s.split(' ').count())
                ),
            )
        })
        .collect();
    for i in 0..4 {
        for j in 0..i {
            assert_ne!(styles[i].0, styles[j].0);
            assert_ne!(styles[i].1, styles[j].1);
        }
    }
    // The optimality panel has its dashed line at 1.
    let d = panel(&doc, "optimality");
    let (ym, _) = axis_map(d, "y");
    let line = find(d, "reference")[0];
    assert!(line.attribute("stroke-dasharray").is_some());
    assert!((unmap(ym, attr(&line, "y1")) - 1.0).abs() < 1e-3);
}

#[test]
fn plane_points_map_back_through_equal_axes() {
    let report = golden();
    for o in &report.layers[0].orders {
        let svg = plot::information_plane(&report, o.order);
        let doc = check_root(&svg);
        let (xm, xt) = axis_map(doc.root_element(), "x");
        let (ym, yt) = axis_map(doc.root_element(), "y");
        // Equal scales from 0: same ticks, same pixels per unit.
        assert_eq!(xt[0].0, 0.0);
        assert_eq!(
            xt.iter().map(|t| t.0).collect::<Vec<_>>(),
            yt.iter().map(|t| t.0).collect::<Vec<_>>()
        );
        assert!((xm.1 + ym.1).abs() < 1e-6, "{} vs {}", xm.1, ym.1);
        let ms = find(doc.root_element(), "point");
        assert_eq!(ms.len(), 3);
        for (m, l) in ms.iter().zip(&report.layers) {
            let lo = l.orders.iter().find(|x| x.order == o.order).unwrap();
            let (x, y) = centre(m);
            assert!((unmap(xm, x) - lo.complexity).abs() < 1e-3);
            assert!((unmap(ym, y) - lo.expressivity).abs() < 1e-3);
            let t = title_of(m);
            let who = if l.layer == 0 {
                "layer 0 (emb)".to_owned()
            } else {
                format!("layer {}", l.layer)
            };
            let b = |s: &infoplane::report::LabelSetReport| s.baseline.as_ref().unwrap().mean;
            assert!(
                t.starts_with(&format!(
                    "{who}, {}: I(X;Z) = {:.4}; shuffled-label baseline {:.4}",
                    o.name,
                    lo.complexity,
                    b(&lo.input)
                )),
                "{t}"
            );
            assert!(t.contains(&format!(
                "; I(Y;Z) = {:.4}; shuffled-label baseline {:.4}",
                lo.expressivity,
                b(&lo.output)
            )));
        }
        // Colours run light → dark with depth.
        let lum = |m: &Node| {
            let c = m.attribute("fill").unwrap();
            let v = |i: usize| u8::from_str_radix(&c[i..i + 2], 16).unwrap() as f64;
            0.2126 * v(1) + 0.7152 * v(3) + 0.0722 * v(5)
        };
        assert!(lum(&ms[0]) > lum(&ms[1]) && lum(&ms[1]) > lum(&ms[2]));
        // First and last labelled; the bound y = x dashed from the origin.
        let labels: Vec<&str> = find(doc.root_element(), "point-label")
            .iter()
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(labels, ["emb", "L2"]);
        let bound = find(doc.root_element(), "bound")[0]
            .children()
            .find(|c| c.has_tag_name("line"))
            .unwrap();
        assert!(bound.attribute("stroke-dasharray").is_some());
        let (x1, y1) = (unmap(xm, attr(&bound, "x1")), unmap(ym, attr(&bound, "y1")));
        let (x2, y2) = (unmap(xm, attr(&bound, "x2")), unmap(ym, attr(&bound, "y2")));
        assert!(x1.abs() < 1e-4 && y1.abs() < 1e-4 && (x2 - y2).abs() < 1e-4 && x2 > 0.09);
        assert!(svg.contains("IB bound"));
        assert!(!find(doc.root_element(), "colorbar").is_empty());
    }
}

#[test]
fn plain_rows_show_entropy_and_label_sets_without_a_plane() {
    let report = rows();
    let charts = plot::charts(&report);
    assert_eq!(charts.len(), 1);
    assert_eq!(charts[0].0, "layer_profile.svg");
    let svg = &charts[0].1;
    save("rows_layer_profile.svg", svg);
    let doc = check_root(svg);
    let panels: Vec<&str> = find(doc.root_element(), "panel")
        .iter()
        .map(|p| p.attribute("data-panel").unwrap())
        .collect();
    assert_eq!(panels, ["entropy", "label-sets"]);
    let p = panel(&doc, "label-sets");
    let ms = markers(series(p, "y"));
    assert_eq!(ms.len(), 1);
    let mi = report.layers[0].label_sets[0].mutual_information;
    let (ym, _) = axis_map(p, "y");
    assert!((unmap(ym, centre(&ms[0]).1) - mi).abs() < 1e-3);
    assert!(title_of(&ms[0]).starts_with(&format!(
        "layer 0, y: I(y;Z) = {mi:.4}; shuffled-label baseline"
    )));
    // Rows have no embedding layer: layer 0 is "0".
    assert!(!svg.contains(">emb<"));
}

#[test]
fn token_data_with_named_label_sets_gets_a_fifth_panel() {
    let report = analyze("formats/dump.npz", &[1, 2], 20, 3);
    let sets: Vec<String> = report.layers[0]
        .label_sets
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(!sets.is_empty());
    let charts = plot::charts(&report);
    assert_eq!(charts.len(), 3);
    let svg = &charts[0].1;
    save("labels_layer_profile.svg", svg);
    let doc = check_root(svg);
    let panels: Vec<&str> = find(doc.root_element(), "panel")
        .iter()
        .map(|p| p.attribute("data-panel").unwrap())
        .collect();
    assert_eq!(
        panels,
        [
            "entropy",
            "complexity",
            "expressivity",
            "optimality",
            "label-sets"
        ]
    );
    let p = panel(&doc, "label-sets");
    let (ym, _) = axis_map(p, "y");
    for name in &sets {
        let ms = markers(series(p, name));
        assert_eq!(ms.len(), report.layers.len());
        for (m, l) in ms.iter().zip(&report.layers) {
            let v = l
                .label_sets
                .iter()
                .find(|s| &s.name == name)
                .unwrap()
                .mutual_information;
            assert!((unmap(ym, centre(m).1) - v).abs() < 1e-3);
        }
    }
}

#[test]
fn nan_values_leave_gaps_in_lines_and_no_markers() {
    let report = synthetic(6, |l| {
        let v = 0.1 + 0.02 * l as f64;
        let c = if l == 2 { f64::NAN } else { v };
        (v + 0.2, [(c, v * 0.9), (v, v), (v, v), (v, v)])
    });
    let svg = plot::layer_profile(&report);
    save("nan_gap_layer_profile.svg", &svg);
    let doc = check_root(&svg);
    let s = series(panel(&doc, "complexity"), "unigram");
    assert_eq!(markers(s).len(), 5);
    let d = find(s, "line")[0].attribute("d").unwrap();
    // Layers 0–1, then 3–5: two pieces.
    assert_eq!(d.matches('M').count(), 2, "{d}");
    assert_eq!(d.matches('L').count(), 1 + 2, "{d}");
    // In the plane the layer is skipped and the path broken too.
    let plane = plot::information_plane(&report, 1);
    let doc = check_root(&plane);
    assert_eq!(find(doc.root_element(), "point").len(), 5);
    let path = find(doc.root_element(), "path")[0];
    let d = find(path, "line")[0].attribute("d").unwrap();
    assert_eq!(d.matches('M').count(), 2, "{d}");
}

#[test]
fn all_nan_series_zero_and_one_layer_reports_still_draw() {
    let nan = synthetic(3, |_| (f64::NAN, [(f64::NAN, f64::NAN); 4]));
    for svg in plot::charts(&nan).iter().map(|c| &c.1) {
        let doc = check_root(svg);
        assert!(find(doc.root_element(), "point").is_empty());
        assert!(svg.contains("no finite values"));
        assert!(!svg.contains("NaN") && !svg.contains("inf\"") && !svg.contains("=\"-inf"));
    }
    let mut empty = golden();
    empty.layers.clear();
    for (name, svg) in plot::charts(&empty) {
        save(&format!("empty_{name}"), &svg);
        let doc = check_root(&svg);
        assert!(find(doc.root_element(), "point").is_empty());
        assert!(svg.contains("no layers in this report"));
    }
    let mut one = golden();
    one.layers.truncate(1);
    for (name, svg) in plot::charts(&one) {
        save(&format!("one_layer_{name}"), &svg);
        let doc = check_root(&svg);
        assert!(!find(doc.root_element(), "point").is_empty());
        assert!(!svg.contains("NaN"));
    }
    // An order the report lacks: an empty plane that says so.
    let svg = plot::information_plane(&golden(), 7);
    check_root(&svg);
    assert!(svg.contains("not in the report"));
}

#[test]
fn negative_and_large_values_stay_on_the_axes() {
    let report = synthetic(4, |l| {
        let l = l as f64;
        (
            1.2 + 0.1 * l,
            [
                (-0.03 + 0.4 * l, -0.05 + 0.45 * l),
                (1.5, 1.4),
                (0.2, 0.1),
                (0.3, 0.3),
            ],
        )
    });
    let svg = plot::layer_profile(&report);
    save("negative_layer_profile.svg", &svg);
    let doc = check_root(&svg);
    for key in ["entropy", "complexity", "expressivity"] {
        let p = panel(&doc, key);
        let (ym, ticks) = axis_map(p, "y");
        let (lo, hi) = (ticks[0].0, ticks[ticks.len() - 1].0);
        for m in find(p, "point") {
            let v = unmap(ym, centre(&m).1);
            assert!(
                v >= lo - 1e-9 && v <= hi + 1e-9,
                "{key}: {v} in [{lo}, {hi}]"
            );
        }
    }
    let (_, ticks) = axis_map(panel(&doc, "complexity"), "y");
    assert!(ticks[0].0 < -0.03, "negative complexity is on the axis");
    let plane = plot::information_plane(&report, 1);
    save("negative_information_plane.svg", &plane);
    let doc = check_root(&plane);
    let (xm, xt) = axis_map(doc.root_element(), "x");
    let (ym, _) = axis_map(doc.root_element(), "y");
    assert!(xt[0].0 < -0.05 && xt[xt.len() - 1].0 >= 1.3);
    let ms = find(doc.root_element(), "point");
    assert!((unmap(xm, centre(&ms[0]).0) + 0.03).abs() < 1e-3);
    assert!((unmap(ym, centre(&ms[0]).1) + 0.05).abs() < 1e-3);
}

#[test]
fn huge_optimality_is_clipped_at_two_and_marked() {
    let report = synthetic(4, |l| {
        let c = if l == 2 { 0.001 } else { 0.1 };
        (0.5, [(c, 0.08), (0.1, 0.1), (0.1, 0.09), (0.1, 0.1)])
    });
    assert!(report.layers[2].orders[0].optimality > 50.0);
    let svg = plot::layer_profile(&report);
    save("clipped_layer_profile.svg", &svg);
    let doc = check_root(&svg);
    let p = panel(&doc, "optimality");
    let (ym, ticks) = axis_map(p, "y");
    assert_eq!(ticks[ticks.len() - 1].0, 2.0);
    assert!(svg.contains("\u{2265}2"));
    let clipped = find(p, "clipped");
    assert_eq!(clipped.len(), 1);
    let c = clipped[0];
    // Drawn on the upper edge, at 2.
    assert!((unmap(ym, centre(&c).1) - 2.0).abs() < 1e-3);
    assert!(title_of(&c).contains(&format!(
        "optimality = {:.4}",
        report.layers[2].orders[0].optimality
    )));
    // All markers of the series, clipped included, are counted; the line never leaves the plot.
    let s = series(p, "unigram");
    assert_eq!(markers(s).len(), 4);
    let d = find(s, "line")[0].attribute("d").unwrap();
    let top = ym.0 + ym.1 * 2.0;
    for y in d
        .split(['M', 'L'])
        .filter(|s| !s.is_empty())
        .map(|p| p.split(' ').nth(1).unwrap().parse::<f64>().unwrap())
    {
        assert!(y >= top - 0.01, "line inside the plot: {y} vs {top}");
    }
}

#[test]
fn deep_models_thin_their_ticks_and_keep_every_point() {
    let report = synthetic(65, |l| {
        let t = l as f64 / 64.0;
        (0.3 + 0.2 * t, [(0.05 + 0.1 * t, 0.04 + 0.08 * t); 4])
    });
    for (name, svg) in plot::charts(&report) {
        save(&format!("deep_{name}"), &svg);
        let doc = check_root(&svg);
        if name == "layer_profile.svg" {
            for p in find(doc.root_element(), "panel") {
                let (_, xt) = axis_map(p, "x");
                assert!(xt.len() <= 12, "{} x ticks", xt.len());
                let labels: Vec<f64> = xt.iter().map(|t| t.0).collect();
                assert_eq!(labels[0], 0.0);
            }
            let s = series(panel(&doc, "complexity"), "bigram");
            assert_eq!(markers(s).len(), 65);
        } else {
            assert_eq!(find(doc.root_element(), "point").len(), 65);
            let bar = find(doc.root_element(), "colorbar")[0];
            assert!(find(bar, "tick").len() <= 12);
        }
    }
}

#[test]
fn inserted_text_is_escaped() {
    let mut report = rows();
    let nasty = "a<b>&\"c\"'d'\u{1}";
    report.input.files = vec![format!("dir/{nasty}.npz")];
    for l in &mut report.layers {
        l.label_sets[0].name = nasty.to_owned();
    }
    let svg = plot::layer_profile(&report);
    let doc = check_root(&svg);
    assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;\u{FFFD}"));
    let s = series(panel(&doc, "label-sets"), "a<b>&\"c\"'d'\u{FFFD}");
    assert!(title_of(&markers(s)[0]).starts_with("layer 0, a<b>&\"c\"'d'\u{FFFD}: I("));
    let t = plot::trajectory(
        &[TrajectoryPoint {
            label: "<step & \"1\">".into(),
            step: None,
            complexity: 0.1,
            expressivity: 0.05,
            baseline: None,
        }],
        "bi<gram>",
    );
    let doc = check_root(&t);
    assert!(doc
        .descendants()
        .any(|n| n.text() == Some("<step & \"1\">")));
}

#[test]
fn charts_are_deterministic() {
    let a = golden();
    let b = golden();
    assert_eq!(plot::charts(&a), plot::charts(&b));
    assert_eq!(plot::charts(&rows()), plot::charts(&rows()));
}

#[test]
fn trajectories_join_checkpoints_coloured_by_step() {
    let pts: Vec<TrajectoryPoint> = [0u64, 1000, 2000, 5000, 10000, 20000, 40000]
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let t = i as f64 / 6.0;
            TrajectoryPoint {
                label: format!("step {s}"),
                step: Some(s),
                // Rise, then compress: the paper's two phases.
                complexity: 0.05 + 0.3 * t - 0.25 * t * t,
                expressivity: 0.02 + 0.2 * t - 0.1 * t * t,
                // Every other checkpoint carries its baseline.
                baseline: (i % 2 == 0).then_some((0.01 * t, 0.02 * t)),
            }
        })
        .collect();
    let svg = plot::trajectory(&pts, "bigram");
    save("trajectory.svg", &svg);
    let doc = check_root(&svg);
    let (xm, _) = axis_map(doc.root_element(), "x");
    let (ym, _) = axis_map(doc.root_element(), "y");
    let ghosts = find(doc.root_element(), "baseline-point");
    let with: Vec<&TrajectoryPoint> = pts.iter().filter(|p| p.baseline.is_some()).collect();
    assert_eq!(ghosts.len(), with.len());
    for (g, p) in ghosts.iter().zip(&with) {
        let (bx, by) = p.baseline.unwrap();
        let (x, y) = centre(g);
        assert!((unmap(xm, x) - bx).abs() < 1e-3 && (unmap(ym, y) - by).abs() < 1e-3);
    }
    let ms = find(doc.root_element(), "point");
    assert_eq!(ms.len(), pts.len());
    for (m, p) in ms.iter().zip(&pts) {
        let (x, y) = centre(m);
        assert!((unmap(xm, x) - p.complexity).abs() < 1e-3);
        assert!((unmap(ym, y) - p.expressivity).abs() < 1e-3);
        assert_eq!(
            title_of(m),
            format!(
                "{} (step {}), bigram: I(X;Z) = {:.4}, I(Y;Z) = {:.4}",
                p.label,
                p.step.unwrap(),
                p.complexity,
                p.expressivity
            )
        );
    }
    let labels: Vec<&str> = find(doc.root_element(), "point-label")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert!(labels.contains(&"step 0") && labels.contains(&"step 40000"));
    assert!(svg.contains("training step"));
    // Without steps, colours follow the order and the colour bar names the checkpoints.
    let unstepped: Vec<TrajectoryPoint> = pts
        .iter()
        .map(|p| TrajectoryPoint {
            step: None,
            ..p.clone()
        })
        .collect();
    let svg = plot::trajectory(&unstepped, "bigram");
    save("trajectory_unstepped.svg", &svg);
    let doc = check_root(&svg);
    assert_eq!(find(doc.root_element(), "point").len(), pts.len());
    let empty = plot::trajectory(&[], "bigram");
    check_root(&empty);
    assert!(empty.contains("no checkpoints"));
}

/// Baselines, the ceiling, seed spread and back-off on the charts: ghost lines and points sit at the
/// baseline means, the ceiling at H(Z) − mean row entropy, error bars span ± one sd.
#[test]
fn baselines_ceiling_and_seed_spread_are_drawn_where_their_values_are() {
    let mut settings = AnalysisSettings {
        orders: vec![1, 2],
        seeds: 3,
        ..AnalysisSettings::default()
    };
    settings.estimator.seed = 42;
    settings.labels.backoff = Some(2);
    settings.labels.exclude_first = 2;
    settings.centre = true;
    let report = analyze_with("golden/d64_bins100_seed42.npz", &settings);
    let charts = plot::charts(&report);
    let names: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "layer_profile.svg",
            "information_plane_unigram.svg",
            "information_plane_bigram.svg",
            "information_plane_backoff.svg"
        ]
    );

    let svg = &charts[0].1;
    save("spread_profile.svg", svg);
    // The subtitle names the options that move the numbers away from the reference's.
    assert!(
        svg.contains("first 2 excluded, centred"),
        "options missing from the subtitle"
    );
    let doc = check_root(svg);
    let p = panel(&doc, "complexity");
    let (ym, _) = axis_map(p, "y");
    // The ceiling: one dotted line through every layer's ceiling.
    let ceiling = find(p, "ceiling");
    assert_eq!(ceiling.len(), 1);
    let ys: Vec<f64> = path_points(&ceiling[0])
        .iter()
        .map(|q| unmap(ym, q.1))
        .collect();
    assert_eq!(ys.len(), report.layers.len());
    for (y, l) in ys.iter().zip(&report.layers) {
        assert!((y - l.ceiling).abs() < 1e-3, "{y} vs {}", l.ceiling);
        assert!(l.orders[0].complexity <= l.ceiling + 1e-12);
    }
    // Per order (and back-off): a dashed baseline through the baseline means, and error bars.
    for (k, name) in ["unigram", "bigram", "backoff"].iter().enumerate() {
        let s = series(p, name);
        let ghost = find(s, "baseline");
        assert_eq!(ghost.len(), 1, "{name}");
        let order = |l: &LayerReport| {
            if k < 2 {
                l.orders[k].clone()
            } else {
                l.backoff.clone().unwrap()
            }
        };
        for (q, l) in path_points(&ghost[0]).iter().zip(&report.layers) {
            let b = order(l).input.baseline.unwrap().mean;
            assert!(
                (unmap(ym, q.1) - b).abs() < 1e-3,
                "{name}: {} vs {b}",
                unmap(ym, q.1)
            );
        }
        let bars = find(s, "error-bar");
        assert_eq!(bars.len(), report.layers.len(), "{name}");
        for (bar, l) in bars.iter().zip(&report.layers) {
            let o = order(l);
            let sd = o.complexity_sd.unwrap();
            assert!(sd > 0.0);
            let span: Vec<f64> = path_points(bar).iter().map(|q| unmap(ym, q.1)).collect();
            let (lo, hi) = (span[0], span[1]);
            assert!(
                (lo - (o.complexity - sd)).abs() < 1e-3 && (hi - (o.complexity + sd)).abs() < 1e-3
            );
        }
    }

    // The plane: one hollow baseline point per layer at (baseline I(X;Z), baseline I(Y;Z)).
    let svg = &charts[2].1;
    save("spread_plane_bigram.svg", svg);
    let doc = check_root(svg);
    let (xm, _) = axis_map(doc.root_element(), "x");
    let (ym, _) = axis_map(doc.root_element(), "y");
    let ghosts = find(doc.root_element(), "baseline-point");
    assert_eq!(ghosts.len(), report.layers.len());
    for (g, l) in ghosts.iter().zip(&report.layers) {
        let o = &l.orders[1];
        let (x, y) = centre(g);
        assert!((unmap(xm, x) - o.input.baseline.as_ref().unwrap().mean).abs() < 1e-3);
        assert!((unmap(ym, y) - o.output.baseline.as_ref().unwrap().mean).abs() < 1e-3);
    }
    assert_eq!(
        find(doc.root_element(), "error-bar").len(),
        report.layers.len()
    );
    assert!(svg.contains("seeds 42\u{2013}44 (mean \u{b1} sd)"));
}

/// The vertices of a path's `d` (M/L commands only).
fn path_points(n: &Node) -> Vec<(f64, f64)> {
    let d = n.attribute("d").unwrap();
    let nums: Vec<f64> = d
        .split(|c: char| c == 'M' || c == 'L' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    nums.chunks(2).map(|c| (c[0], c[1])).collect()
}
