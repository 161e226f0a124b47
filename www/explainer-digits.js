// The explainer's real-data view (explainer.html?data=digits): the 1797 handwritten digits
// (8 × 8 grey images, 64 values each, 10 classes; www/explainer/digits.npz, CC BY 4.0, see
// www/explainer/README.md) drawn by their first two principal components, with the estimator's
// true numbers for them: H(Z), H(Z | X), I(X;Z) with X the digit, its shuffled-label baseline,
// regularity overall and per digit, the ceiling, and how H and I change as digits are added.
// Every number comes from the wasm core (src/explainer/: `read_labelled`, `project`, `explain`),
// the same code `infoplane analyze` runs; tests/digits.rs checks it against the reference package.
//
// Computing is light (1797 × 64 rows against at most 200 reference points, about 10 ms), so it
// runs on the main thread: the main numbers at most once per animation frame while a slider
// moves, the classes-added curve (nine more runs) once the controls settle.

import init, { explain, project, read_labelled } from "./pkg/infoplane.js";
import { wasmBuild, wasmUrl } from "./wasm.js";

const $ = (sel) => document.querySelector(sel);
const SVG_NS = "http://www.w3.org/2000/svg";
const DATA = "www/explainer/digits.npz";

// Tableau 10: ten colours told apart by most readers, one per digit.
const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const INK = "#1f2933";
const MUTED = "#6b7785";

// ---- settings: defaults (the reference's), limits, the URL ----
const CALIBRATIONS = ["find-eps", "leading-order", "exact"];
const DEFAULTS = { calibration: "find-eps", seed: 0, m: 100, shuffles: 5, shuffleSeed: 0, classes: 10, units: "efficiency", point: 0 };
const NUMBERS = {
  seed: ["seed", 0, Number.MAX_SAFE_INTEGER], m: ["m", 2, 200], shuffles: ["shuffles", 0, 20],
  shuffleSeed: ["shuffle_seed", 0, Number.MAX_SAFE_INTEGER], classes: ["classes", 2, 10], point: ["point", 0, 1e9],
};

function viewFromUrl(problems) {
  const q = new URLSearchParams(location.search);
  const v = { ...DEFAULTS };
  if (q.has("calibration")) {
    if (CALIBRATIONS.includes(q.get("calibration"))) v.calibration = q.get("calibration");
    else problems.push(`calibration=${q.get("calibration")}: not one of ${CALIBRATIONS.join(", ")}, ignored.`);
  }
  if (q.has("units")) {
    if (["bits", "efficiency"].includes(q.get("units"))) v.units = q.get("units");
    else problems.push(`units=${q.get("units")}: bits or efficiency, ignored.`);
  }
  for (const [name, [key, lo, hi]] of Object.entries(NUMBERS)) {
    if (!q.has(key)) continue;
    const x = Number(q.get(key));
    if (q.get(key).trim() === "" || !Number.isInteger(x)) {
      problems.push(`${key}=${q.get(key)}: not a whole number, ignored.`);
    } else {
      v[name] = Math.min(hi, Math.max(lo, x));
      if (v[name] !== x) problems.push(`${key}=${q.get(key)}: ${v[name]} used (${lo} to ${hi}).`);
    }
  }
  return v;
}

function writeUrl() {
  const q = new URLSearchParams(location.search);
  for (const k of ["calibration", "units", ...Object.values(NUMBERS).map((n) => n[0])]) q.delete(k);
  q.set("data", "digits");
  if (view.calibration !== DEFAULTS.calibration) q.set("calibration", view.calibration);
  if (view.units !== DEFAULTS.units) q.set("units", view.units);
  for (const [name, [key]] of Object.entries(NUMBERS)) if (view[name] !== DEFAULTS[name]) q.set(key, String(view[name]));
  history.replaceState(null, "", `${location.pathname}?${q.toString().replace(/=(?=&|$)/g, "")}`);
}

const urlProblems = [];
const view = viewFromUrl(urlProblems);
const problem = $("#digits-problem");

// What the tests (and the curious, from the console) read.
const state = {
  n: 0, d: 0, labels: null, rows: null, projection: null, settings: null, result: null,
  curve: null, curveSettings: null, selected: view.point, frame: 0, timing: {},
};
window.digitsState = state;

// ---- helpers ----
function svgEl(name, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
const inUnits = (v) => (view.units === "bits" ? v * state.result.bits_per_unit : v);
const fmt = (v) => (!Number.isFinite(v) ? "–" : view.units === "bits" ? `${inUnits(v).toFixed(4)} bits` : inUnits(v).toFixed(4));
function setReadout(id, value, ratio = false) {
  const el = $(id);
  const v = ratio ? value : Number.isFinite(value) ? inUnits(value) : value;
  el.value = String(v);
  setText(el, !Number.isFinite(v) ? "–" : ratio ? v.toFixed(4) : fmt(value));
}

// ---- computing ----
function settingsFor(classes, perPoint) {
  return {
    n_bins: view.m, seed: view.seed, calibration: view.calibration, shuffles: view.shuffles,
    shuffle_seed: view.shuffleSeed, per_point: perPoint, classes,
  };
}

// The rows of the digits below `classes`, in order: the indices into the whole set.
function kept(classes) {
  const out = [];
  state.labels.forEach((l, i) => { if (l < classes) out.push(i); });
  return out;
}

function compute() {
  const t0 = performance.now();
  const settings = settingsFor(view.classes, true);
  try {
    state.result = explain(state.rows, state.d, state.labels, settings);
  } catch (e) {
    problem.textContent = `The estimator refused these settings: ${String((e && e.message) || e)}`;
    return false;
  }
  state.settings = settings;
  state.kept = kept(view.classes);
  problem.textContent = urlProblems.length ? `In the address: ${urlProblems.join(" ")}` : "";
  state.timing.explain = performance.now() - t0;
  return true;
}

// H, I and the baseline for 2, 3, ... 10 digits, with the current estimator settings.
function computeCurve() {
  const key = JSON.stringify(settingsFor(null, false));
  if (state.curveSettings === key) return;
  const t0 = performance.now();
  const curve = [];
  try {
    for (let c = 2; c <= 10; c++) {
      const r = explain(state.rows, state.d, state.labels, settingsFor(c, false));
      const rows = r.classes.reduce((s, k) => s + k.points, 0);
      curve.push({ classes: c, rows, entropy: r.entropy, mutual_information: r.mutual_information,
        bits_per_unit: r.bits_per_unit, baseline: r.baseline });
    }
  } catch (e) {
    problem.textContent = `The estimator refused these settings: ${String((e && e.message) || e)}`;
    return;
  }
  state.curve = curve;
  state.curveSettings = key;
  state.timing.curve = performance.now() - t0;
}

// ---- scheduling: the main numbers once per frame, the curve once the controls rest ----
let pending = false;
let needCompute = false;
let curveTimer = 0;
function changed(recompute = true) {
  writeUrl();
  needCompute ||= recompute;
  if (!pending) requestAnimationFrame(frame);
  pending = true;
}
function frame() {
  pending = false;
  if (needCompute && !compute()) return;
  needCompute = false;
  render();
  clearTimeout(curveTimer);
  curveTimer = setTimeout(() => {
    computeCurve();
    renderCurve();
    state.frame++;
  }, 150);
  state.frame++;
}

// ---- drawing ----
const scatter = $("#digits-scatter");
const SCATTER = { size: 420, pad: 14 };
let dots = [];

function buildScatter() {
  const c = state.projection.coordinates;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < state.n; i++) {
    x0 = Math.min(x0, c[2 * i]); x1 = Math.max(x1, c[2 * i]);
    y0 = Math.min(y0, c[2 * i + 1]); y1 = Math.max(y1, c[2 * i + 1]);
  }
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const inner = SCATTER.size - 2 * SCATTER.pad;
  const sx = (x) => SCATTER.pad + ((x - (x0 + x1) / 2) / span + 0.5) * inner;
  const sy = (y) => SCATTER.pad + (0.5 - (y - (y0 + y1) / 2) / span) * inner;
  scatter.setAttribute("viewBox", `0 0 ${SCATTER.size} ${SCATTER.size}`);
  const group = svgEl("g");
  dots = [];
  for (let i = 0; i < state.n; i++) {
    const dot = svgEl("circle", { cx: sx(c[2 * i]).toFixed(2), cy: sy(c[2 * i + 1]).toFixed(2), r: 3.2, fill: COLOURS[state.labels[i] % 10], "data-i": i });
    dots.push(dot);
    group.append(dot);
  }
  const ring = svgEl("circle", { r: 7, fill: "none", stroke: INK, "stroke-width": 2, id: "digits-ring", "pointer-events": "none" });
  scatter.replaceChildren(group, ring);
  const [a, b] = state.projection.variance_ratio;
  setText($("#digits-scatter-caption"),
    `Each dot is one image, placed by the first two principal components of the 64 pixel values (${(100 * a).toFixed(1)} % and ${(100 * b).toFixed(1)} % of the variance): a flat shadow of the 64-d cloud the estimator sees. Click a dot to see the image and where its mass lands.`);
  const legend = $("#digits-legend");
  legend.replaceChildren(...COLOURS.map((colour, k) => {
    const li = document.createElement("li");
    const swatch = svgEl("svg", { width: 12, height: 12, viewBox: "0 0 12 12", "aria-hidden": "true" });
    swatch.append(svgEl("circle", { cx: 6, cy: 6, r: 5, fill: colour }));
    li.append(swatch, document.createTextNode(String(k)));
    return li;
  }));
}

function renderScatter() {
  dots.forEach((dot, i) => {
    const inside = state.labels[i] < view.classes;
    dot.setAttribute("fill-opacity", inside ? "0.8" : "0.12");
  });
  const sel = dots[state.selected];
  const ring = $("#digits-ring");
  ring.setAttribute("cx", sel.getAttribute("cx"));
  ring.setAttribute("cy", sel.getAttribute("cy"));
  [...$("#digits-legend").children].forEach((li, k) => li.classList.toggle("out", k >= view.classes));
}

function renderImage() {
  const i = state.selected;
  const svg = $("#digits-image");
  const cells = [];
  for (let p = 0; p < 64; p++) {
    const v = state.rows[i * 64 + p] / 16; // pixel values are 0 to 16
    const g = Math.round(255 * (1 - v));
    cells.push(svgEl("rect", { x: p % 8, y: Math.floor(p / 8), width: 1.02, height: 1.02, fill: `rgb(${g},${g},${g})` }));
  }
  svg.replaceChildren(...cells);
  const label = state.labels[i];
  setText($("#digits-image-caption"), `Image #${i}: a ${label}${label < view.classes ? "" : ` (not among the ${view.classes} digits analysed now)`}.`);
}

// Three histograms over the reference points, sorted by P(Z) (largest first): all digits, the
// selected image's digit, and the selected image alone (its soft assignment).
function renderBars() {
  const r = state.result;
  const m = r.n_bins;
  const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => r.distribution[b] - r.distribution[a] || a - b);
  const label = state.labels[state.selected];
  const k = state.kept.indexOf(state.selected);
  const cls = r.classes.find((c) => c.label === label);
  const point = k >= 0 ? r.assignments.subarray(k * m, (k + 1) * m) : null;
  const panels = [
    { title: "P(Z): all images analysed", values: r.distribution, colour: MUTED },
    { title: cls ? `P(Z | X = ${label}): the ${label}s` : `no ${label}s among the digits analysed`, values: cls ? cls.distribution : null, colour: COLOURS[label] },
    { title: point ? `image #${state.selected}'s soft assignment, H = ${fmt(r.point_entropies[k])}` : `image #${state.selected} is not analysed now`, values: point, colour: INK },
  ];
  const svg = $("#digits-bars");
  const W = 640; const left = 8; const right = 632; const h = 70; const gap = 26;
  svg.setAttribute("viewBox", `0 0 ${W} ${3 * (h + gap) + 4}`);
  const parts = [];
  panels.forEach((p, n) => {
    const top = n * (h + gap) + gap - 6;
    parts.push(svgEl("text", { x: left, y: top - 6, "font-size": 13, fill: INK }, p.title));
    parts.push(svgEl("line", { x1: left, x2: right, y1: top + h, y2: top + h, stroke: MUTED, "stroke-width": 1 }));
    if (!p.values) return;
    const max = Math.max(...p.values) || 1;
    const w = (right - left) / m;
    let d = "";
    order.forEach((j, x) => {
      const bh = (p.values[j] / max) * h;
      if (bh > 0.05) d += `M${(left + x * w).toFixed(2)},${(top + h).toFixed(2)}h${Math.max(w - 0.6, 0.4).toFixed(2)}v${(-bh).toFixed(2)}h${(-Math.max(w - 0.6, 0.4)).toFixed(2)}z`;
    });
    parts.push(svgEl("path", { d, fill: p.colour }));
    parts.push(svgEl("text", { x: right, y: top - 6, "font-size": 11, fill: MUTED, "text-anchor": "end" }, `tallest bar ${max.toFixed(3)}`));
  });
  svg.replaceChildren(...parts);
  setText($("#digits-bars-summary"), `Bars are the ${m} reference points, sorted by P(Z). The digit's own histogram is narrower than P(Z) when its images land on fewer reference points; that narrowing, averaged over digits, is I(X;Z).`);
}

// Regularity per digit, 1 − H(Z | X = c) / H(Z): positive when the digit's images crowd onto
// fewer reference points than all images together do.
function renderClasses() {
  const r = state.result;
  const svg = $("#digits-classes");
  const rowH = 22; const left = 150; const right = 600; const top = 6;
  const values = r.classes.map((c) => c.regularity);
  const lo = Math.min(-0.1, ...values);
  const hi = Math.max(0.1, ...values);
  const x = (v) => left + ((v - lo) / (hi - lo)) * (right - left);
  svg.setAttribute("viewBox", `0 0 640 ${top + rowH * r.classes.length + 24}`);
  const parts = [svgEl("line", { x1: x(0), x2: x(0), y1: top, y2: top + rowH * r.classes.length, stroke: INK })];
  r.classes.forEach((c, k) => {
    const y = top + k * rowH;
    const [a, b] = [x(Math.min(0, c.regularity)), x(Math.max(0, c.regularity))];
    parts.push(svgEl("text", { x: 4, y: y + 15, "font-size": 13, fill: INK }, `digit ${c.label} (${c.points})`));
    parts.push(svgEl("rect", { x: a, y: y + 4, width: Math.max(b - a, 0.5), height: rowH - 8, fill: COLOURS[c.label] }));
    parts.push(svgEl("text", { x: c.regularity < 0 ? a - 4 : b + 4, y: y + 15, "font-size": 12, fill: INK, "text-anchor": c.regularity < 0 ? "end" : "start" }, c.regularity.toFixed(3)));
  });
  const axisY = top + rowH * r.classes.length + 16;
  parts.push(svgEl("text", { x: x(0), y: axisY, "font-size": 11, fill: MUTED, "text-anchor": "middle" }, "0"));
  svg.replaceChildren(...parts);
  const table = $("#digits-class-table tbody");
  table.replaceChildren(...r.classes.map((c) => {
    const tr = document.createElement("tr");
    for (const text of [String(c.label), String(c.points), fmt(c.entropy), c.regularity.toFixed(4)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}

// As digits 0, 1, ... are added: H(Z) in the upper plot; I(X;Z) and its shuffled baseline (mean,
// with a band of ± 1 sd) in the lower, each plot on its own scale (I is a tenth of H here).
function renderCurve() {
  const svg = $("#digits-curve");
  if (!state.curve) return;
  const pts = state.curve;
  const unit = (p, v) => (view.units === "bits" ? v * p.bits_per_unit : v);
  const W = 640; const L = 64; const R = 600; const plotH = 110; const gap = 44;
  const x = (c) => L + ((c - 2) / 8) * (R - L);
  const plots = [
    { title: "H(Z)", series: [{ name: "H(Z)", colour: MUTED, get: (p) => p.entropy }] },
    { title: "I(X;Z), and what shuffled digits give", series: [
      { name: "I(X;Z)", colour: "#4e79a7", get: (p) => p.mutual_information },
      ...(pts[0].baseline ? [{ name: "shuffled baseline", colour: "#e15759", get: (p) => p.baseline.mean, dash: "5 4", sd: (p) => p.baseline.sd || 0 }] : []),
    ] },
  ];
  const parts = [];
  plots.forEach((plot, k) => {
    const T = 24 + k * (plotH + gap);
    const B = T + plotH;
    const top = Math.max(...pts.flatMap((p) => plot.series.map((s) => unit(p, s.get(p) + (s.sd ? s.sd(p) : 0))))) * 1.1 || 1;
    const y = (v) => B - (Math.max(v, 0) / top) * plotH;
    parts.push(svgEl("line", { x1: x(view.classes), x2: x(view.classes), y1: T, y2: B, stroke: "#dde2e7", "stroke-width": 8, class: "now" }));
    parts.push(svgEl("line", { x1: L, x2: R, y1: B, y2: B, stroke: INK }));
    parts.push(svgEl("line", { x1: L, x2: L, y1: T, y2: B, stroke: INK }));
    parts.push(svgEl("text", { x: L, y: T - 8, "font-size": 13, fill: INK }, plot.title));
    for (const t of [0, top / 2, top]) {
      parts.push(svgEl("text", { x: L - 6, y: y(t) + 4, "font-size": 11, "text-anchor": "end", fill: MUTED }, t.toFixed(t < 0.1 ? 4 : 3)));
    }
    for (let c = 2; c <= 10; c++) parts.push(svgEl("text", { x: x(c), y: B + 15, "font-size": 12, "text-anchor": "middle", fill: INK }, String(c)));
    let legendX = R;
    [...plot.series].reverse().forEach((s) => {
      if (s.sd) {
        const upper = pts.map((p, i) => `${i ? "L" : "M"}${x(p.classes).toFixed(1)},${y(unit(p, s.get(p) + s.sd(p))).toFixed(1)}`).join("");
        const lower = [...pts].reverse().map((p) => `L${x(p.classes).toFixed(1)},${y(unit(p, s.get(p) - s.sd(p))).toFixed(1)}`).join("");
        parts.push(svgEl("path", { d: `${upper}${lower}Z`, fill: s.colour, "fill-opacity": 0.15, stroke: "none" }));
      }
      const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p.classes).toFixed(1)},${y(unit(p, s.get(p))).toFixed(1)}`).join("");
      parts.push(svgEl("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dash || "" }));
      const label = svgEl("text", { x: legendX, y: T - 8, "font-size": 12, fill: s.colour, "text-anchor": "end" }, s.name);
      parts.push(label);
      legendX -= 9 * s.name.length + 16;
    });
  });
  const H = 24 + 2 * plotH + gap + 40;
  parts.push(svgEl("text", { x: (L + R) / 2, y: H - 8, "font-size": 12, "text-anchor": "middle", fill: MUTED }, "digits analysed: 0 to c − 1"));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren(...parts);
  const strip = (v) => fmt(v).replace(" bits", "");
  const rows = pts.map((p) => `${p.classes}: H ${strip(p.entropy)}, I ${strip(p.mutual_information)}${p.baseline ? ` (baseline ${strip(p.baseline.mean)})` : ""}`);
  setText($("#digits-curve-summary"), `${view.units === "bits" ? "In bits" : "As efficiency"}, by digits analysed: ${rows.join("; ")}.`);
}

function render() {
  const r = state.result;
  const sel = Math.min(Math.max(view.point, 0), state.n - 1);
  state.selected = sel;
  setReadout("#d-entropy", r.entropy);
  setReadout("#d-conditional", r.conditional_entropy);
  setReadout("#d-mi", r.mutual_information);
  setReadout("#d-baseline", r.baseline ? r.baseline.mean : NaN);
  setReadout("#d-corrected", r.baseline ? r.baseline.corrected : NaN);
  setReadout("#d-regularity", r.regularity, true);
  setReadout("#d-ceiling", r.ceiling);
  setText($("#d-baseline-sd"), r.baseline && r.baseline.sd !== null ? `± ${fmt(r.baseline.sd)} (sd over ${view.shuffles} copies)` : r.baseline ? `one copy, no sd` : "no shuffled copies");
  setText($("#d-temperature"), `ε = ${r.temperature.toPrecision(6)} (${view.calibration}), m = ${r.n_bins}, ${state.kept.length} images of ${view.classes} digits`);
  setText($("#digits-units-note"), view.units === "bits"
    ? `Bits: efficiency × log₂ m (${r.bits_per_unit.toFixed(3)} at m = ${r.n_bins}).`
    : `Efficiency: entropy ÷ ln m, as the reference package and the paper report it; 1 is an even spread over all ${r.n_bins} reference points.`);
  renderScatter();
  renderImage();
  renderBars();
  renderClasses();
  renderCurve();
  syncControls();
}

// ---- controls ----
const input = {
  m: $("#d-m"), shuffles: $("#d-shuffles"), classes: $("#d-classes"), seed: $("#d-seed"),
  shuffleSeed: $("#d-shuffle-seed"), point: $("#d-point"),
};
function syncControls() {
  for (const [name, el] of Object.entries(input)) {
    if (document.activeElement !== el && el.value !== String(view[name])) el.value = String(view[name]);
  }
  input.point.max = String(state.n - 1);
  for (const el of document.querySelectorAll("#digits-controls input[name=d-calibration]")) el.checked = el.value === view.calibration;
  for (const el of document.querySelectorAll("#digits-controls input[name=d-units]")) el.checked = el.value === view.units;
  setText($("#d-m-out"), String(view.m));
  setText($("#d-shuffles-out"), String(view.shuffles));
  setText($("#d-classes-out"), view.classes === 10 ? "all 10" : `0 to ${view.classes - 1}`);
}

for (const [name, el] of Object.entries(input)) {
  el.addEventListener("input", () => {
    const x = Number(el.value);
    const [, lo, hi] = NUMBERS[name];
    if (el.value.trim() === "" || !Number.isInteger(x) || x < lo || x > hi) return;
    view[name] = x;
    changed(name !== "point");
  });
}
$("#digits-controls").addEventListener("change", (e) => {
  if (e.target.name === "d-calibration") { view.calibration = e.target.value; changed(); }
  if (e.target.name === "d-units") { view.units = e.target.value; changed(false); }
});
$("#digits-controls").addEventListener("submit", (e) => e.preventDefault());
scatter.addEventListener("click", (e) => {
  const i = e.target.getAttribute && e.target.getAttribute("data-i");
  if (i === null || i === undefined) return;
  view.point = Number(i);
  changed(false);
});

// ---- start ----
export async function start() {
  try {
    await init({ module_or_path: wasmUrl(wasmBuild(location.search)) });
    const response = await fetch(DATA);
    if (!response.ok) throw new Error(`${DATA}: HTTP ${response.status}`);
    const data = read_labelled(new Uint8Array(await response.arrayBuffer()), "digits.npz");
    Object.assign(state, { rows: data.rows, d: data.d, labels: data.labels, n: data.labels.length });
    state.projection = project(state.rows, state.d);
    buildScatter();
    if (view.point >= state.n) {
      urlProblems.push(`point=${view.point}: ${state.n - 1} used (0 to ${state.n - 1}).`);
      view.point = state.n - 1;
    }
    changed();
  } catch (e) {
    problem.textContent = `The digits could not be loaded: ${String((e && e.message) || e)}`;
  }
}
