//! A minimal SVG writer: elements with escaped attributes and text, numbers printed with fixed
//! precision. Every attribute value and every text passes through [`escape`], so nothing a report
//! carries (file names, label-set names) can break the markup.

use std::fmt::Write;

/// The font stack: the platform's UI font, falling back to common sans-serif faces.
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif";

/// Escapes text for XML content and attribute values. Characters XML 1.0 forbids (controls other
/// than tab, newline and carriage return) become U+FFFD, so the document always parses.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `v` with `decimals` decimals and no negative zero ("-0.00" would read as a sign error).
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// A pixel coordinate: two decimals, trailing zeros dropped. Two decimals are far below what a
/// screen resolves and keep files small.
pub(crate) fn px(v: f64) -> String {
    let mut s = fixed(v, 2);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A value shown to a reader (hover titles): four decimals, as in the report's tables.
pub(crate) fn value(v: f64) -> String {
    fixed(v, 4)
}

/// The `d` of an error bar from `a` to `b` (horizontal or vertical) with a cap of half-width `cap`
/// across each end.
pub(crate) fn error_bar(a: (f64, f64), b: (f64, f64), cap: f64) -> String {
    let (cx, cy) = if a.0 == b.0 { (cap, 0.0) } else { (0.0, cap) };
    let mut d = format!("M{} {}L{} {}", px(a.0), px(a.1), px(b.0), px(b.1));
    for (x, y) in [a, b] {
        d.push_str(&format!(
            "M{} {}L{} {}",
            px(x - cx),
            px(y - cy),
            px(x + cx),
            px(y + cy)
        ));
    }
    d
}

/// Approximate advance width of `s` at font size `size`, for layout (legends, label placement,
/// truncation). Per-character classes of a typical sans-serif face; errs on the wide side.
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' | '(' | ')' | '['
            | ']' | 'I' | 'f' | 't' | 'r' | '/' => 0.34,
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.88,
            'A'..='Z' | '0'..='9' => 0.64,
            _ => 0.57,
        })
        .sum();
    em * size
}

/// `s` cut to at most `max_width` pixels at `size`, ending in an ellipsis when cut.
pub(crate) fn truncate(s: &str, size: f64, max_width: f64) -> String {
    if text_width(s, size) <= max_width {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if text_width(&out, size) + text_width("…", size) > max_width {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

/// An SVG document being written. Elements nest through [`Doc::open`] / [`Doc::close`]; the
/// output is indented so that a diff of two charts reads well.
pub(crate) struct Doc {
    out: String,
    stack: Vec<&'static str>,
}

/// Attribute list: names are static, values are escaped when written.
pub(crate) type Attrs<'a> = &'a [(&'static str, String)];

impl Doc {
    /// Starts a document `width` × `height` px with its accessible `title` and `desc`, a white
    /// background (charts stay readable in dark-mode viewers) and the default text style.
    pub(crate) fn new(width: f64, height: f64, class: &str, title: &str, desc: &str) -> Doc {
        let mut doc = Doc {
            out: String::new(),
            stack: Vec::new(),
        };
        doc.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg".into()),
                ("class", format!("infoplane-chart {class}")),
                ("width", px(width)),
                ("height", px(height)),
                ("viewBox", format!("0 0 {} {}", px(width), px(height))),
                ("role", "img".into()),
                ("font-family", FONT.into()),
                ("font-size", "12".into()),
                ("fill", "#1a1a1a".into()),
            ],
        );
        doc.text_el("title", &[], title);
        doc.text_el("desc", &[], desc);
        doc.leaf(
            "rect",
            &[
                ("width", px(width)),
                ("height", px(height)),
                ("fill", "#ffffff".into()),
            ],
        );
        doc
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, tag: &str, attrs: Attrs) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            let _ = write!(self.out, " {name}=\"{}\"", escape(value));
        }
    }

    /// Opens `<tag ...>`; children follow until [`Doc::close`].
    pub(crate) fn open(&mut self, tag: &'static str, attrs: Attrs) {
        self.start_tag(tag, attrs);
        self.out.push_str(">\n");
        self.stack.push(tag);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        let tag = self.stack.pop().expect("close matches an open");
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }

    /// A self-closing element `<tag .../>`.
    pub(crate) fn leaf(&mut self, tag: &str, attrs: Attrs) {
        self.start_tag(tag, attrs);
        self.out.push_str("/>\n");
    }

    /// `<tag ...>text</tag>` on one line, `text` escaped.
    pub(crate) fn text_el(&mut self, tag: &str, attrs: Attrs, text: &str) {
        self.start_tag(tag, attrs);
        let _ = writeln!(self.out, ">{}</{tag}>", escape(text));
    }

    /// A shape with a hover `<title>` child: browsers show the title as a tooltip.
    pub(crate) fn titled(&mut self, tag: &'static str, attrs: Attrs, title: &str) {
        self.open(tag, attrs);
        self.text_el("title", &[], title);
        self.close();
    }

    /// `<g>` with the given attributes; close it with [`Doc::close`].
    pub(crate) fn group(&mut self, attrs: Attrs) {
        self.open("g", attrs);
    }

    /// Closes every open element and returns the document.
    pub(crate) fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.out
    }
}

/// Text style presets (size, colour, weight). Colours are dark greys whose contrast on white is
/// at least 7:1 (WCAG AAA for normal text).
#[derive(Clone, Copy)]
pub(crate) struct TextStyle {
    pub size: f64,
    pub color: &'static str,
    pub weight: u16,
}

/// Chart titles.
pub(crate) const TITLE: TextStyle = TextStyle {
    size: 16.0,
    color: "#1a1a1a",
    weight: 600,
};
/// The line under a chart title (source file, settings).
pub(crate) const SUBTITLE: TextStyle = TextStyle {
    size: 12.0,
    color: "#555555",
    weight: 400,
};
/// Panel titles.
pub(crate) const PANEL: TextStyle = TextStyle {
    size: 13.5,
    color: "#1a1a1a",
    weight: 600,
};
/// Axis titles.
pub(crate) const AXIS: TextStyle = TextStyle {
    size: 12.5,
    color: "#262626",
    weight: 400,
};
/// Tick labels, legend entries, point labels.
pub(crate) const TICK: TextStyle = TextStyle {
    size: 12.0,
    color: "#3b3b3b",
    weight: 400,
};
/// Small notes inside a plot (reference-line labels, "no data").
pub(crate) const NOTE: TextStyle = TextStyle {
    size: 11.5,
    color: "#555555",
    weight: 400,
};

impl Doc {
    /// Writes `text` at (`x`, `y`) in `style`; `anchor` is `start`, `middle` or `end`;
    /// `extra` adds attributes (a class, a rotation).
    pub(crate) fn label(
        &mut self,
        x: f64,
        y: f64,
        anchor: &str,
        style: TextStyle,
        text: &str,
        extra: Attrs,
    ) {
        let mut attrs: Vec<(&'static str, String)> = vec![
            ("x", px(x)),
            ("y", px(y)),
            ("font-size", px(style.size)),
            ("fill", style.color.into()),
        ];
        if anchor != "start" {
            attrs.push(("text-anchor", anchor.into()));
        }
        if style.weight != 400 {
            attrs.push(("font-weight", style.weight.to_string()));
        }
        attrs.extend(extra.iter().cloned());
        self.text_el("text", &attrs, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_forbidden_controls() {
        assert_eq!(
            escape("a&b<c>d\"e'f\u{1}g"),
            "a&amp;b&lt;c&gt;d&quot;e&#39;f\u{FFFD}g"
        );
        assert_eq!(escape("tab\there"), "tab\there");
    }

    #[test]
    fn numbers_have_fixed_precision_and_no_negative_zero() {
        assert_eq!(fixed(-0.00001, 4), "0.0000");
        assert_eq!(fixed(0.21344, 4), "0.2134");
        assert_eq!(fixed(f64::NAN, 4), "n/a");
        assert_eq!(px(12.0), "12");
        assert_eq!(px(12.504), "12.5");
        assert_eq!(px(-0.001), "0");
        assert_eq!(px(-3.456), "-3.46");
    }

    #[test]
    fn truncation_ends_in_an_ellipsis_and_fits() {
        let long = "a_very_long_file_name_that_will_not_fit.npz";
        let t = truncate(long, 12.0, 100.0);
        assert!(t.ends_with('…'));
        assert!(text_width(&t, 12.0) <= 100.0);
        assert_eq!(truncate("short", 12.0, 100.0), "short");
    }

    #[test]
    fn documents_nest_and_close() {
        let mut d = Doc::new(10.0, 20.0, "t", "a <title>", "desc & more");
        d.group(&[("class", "x".into())]);
        d.titled("circle", &[("cx", px(1.0))], "hover \"me\"");
        let s = d.finish();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("<title>a &lt;title&gt;</title>"));
        assert!(s.contains("<title>hover &quot;me&quot;</title>"));
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
