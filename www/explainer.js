// The explainer (explainer.html): a small labelled cloud of points on the unit circle or sphere,
// its reference points, each point's soft assignment, P(Z), H(Z), H(Z | X), I(X;Z), regularity and
// the ceiling. Every number comes from the wasm core's `explain` (src/explainer/, the analyser's
// own accumulator), recomputed at most once per animation frame while the controls move. The
// computation is tiny (600 points × 200 reference points at most), so it runs on the main thread.
//
// The points are made here, deterministically from their seed, so a URL gives the same view:
// - mulberry32 (a 32-bit-state generator) gives uniforms in [0, 1); Box–Muller turns two of them
//   into one standard normal (the second normal is not used, to keep the streams simple);
// - three streams from the points' seed: the class directions (seed ^ 0x9e3779b9), the points'
//   noise (seed) and the 2-D display spread (seed ^ 0x85ebca6b), so adding a class keeps the
//   others' directions, and adding points keeps the earlier ones;
// - class c's direction is a normalised vector of d normals; point i is in class i mod k and is
//   normalise(concentration × direction + d normals), so concentration 0 is uniform on the sphere;
// - each coordinate is rounded to float32 (Math.fround), so a dump of the points written as
//   float32 (what `infoplane analyze` reads) holds exactly the values explained here.
// Math.log and Math.cos may differ in the last bit between browsers, so two browsers can draw
// slightly different points from one seed; one browser always draws the same ones.

import init, { explain } from "./pkg/infoplane.js";
import { wasmBuild, wasmUrl } from "./wasm.js";

// ?embed (inside another page's <iframe>): the header, intro and footer hide, the controls and
// the pictures stay; the view still comes from the URL's other parameters.
if (new URLSearchParams(location.search).has("embed")) document.body.classList.add("embed");

// ?data=digits: the real-data view (www/explainer-digits.js) in place of the circle and sphere.
const DIGITS = new URLSearchParams(location.search).get("data") === "digits";
document.querySelector(DIGITS ? "#tab-digits" : "#tab-cloud").setAttribute("aria-current", "page");
document.querySelector("#cloud-view").hidden = DIGITS;
document.querySelector("#cloud-intro").hidden = DIGITS;
document.querySelector("#cloud-credit").hidden = DIGITS;
document.querySelector("#digits-credit").hidden = !DIGITS;
document.querySelector("#digits-view").hidden = !DIGITS;

const $ = (sel) => document.querySelector(sel);
const SVG_NS = "http://www.w3.org/2000/svg";

// ---- settings: limits, defaults, the URL ----
const LIMITS = { m: [2, 200], n: [10, 600], classes: [1, 10], kappa: [0, 10], pointsSeed: [0, 0xffffffff], seed: [0, Number.MAX_SAFE_INTEGER] };
const EPS_LOG = [-5, 1]; // the slider's range of log10 ε
const DEFAULTS = { d: 2, m: 16, n: 120, kappa: 2, classes: 3, pointsSeed: 0, seed: 0, eps: null, units: "bits", point: 0 };
const URL_KEYS = { m: "m", n: "n", kappa: "kappa", classes: "classes", pointsSeed: "points_seed", seed: "seed", point: "point" };

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

// The view: the one source of truth for what is shown (eps null = the exact calibration).
function viewFromUrl(problems) {
  const q = new URLSearchParams(location.search);
  const v = { ...DEFAULTS };
  if (q.has("d")) {
    if (q.get("d") === "2" || q.get("d") === "3") v.d = Number(q.get("d"));
    else problems.push(`d=${q.get("d")}: the dimension is 2 or 3, ignored.`);
  }
  for (const [name, key] of Object.entries(URL_KEYS)) {
    if (!q.has(key)) continue;
    const x = Number(q.get(key));
    const whole = name !== "kappa";
    const [lo, hi] = LIMITS[name] || [0, Infinity];
    if (q.get(key).trim() === "" || !Number.isFinite(x) || (whole && !Number.isInteger(x))) {
      problems.push(`${key}=${q.get(key)}: not ${whole ? "a whole number" : "a number"}, ignored.`);
    } else {
      v[name] = clamp(x, lo, hi);
      if (v[name] !== x) problems.push(`${key}=${q.get(key)}: ${v[name]} used (${lo} to ${hi}).`);
    }
  }
  if (q.has("eps") && q.get("eps") !== "calibrated") {
    const e = Number(q.get("eps"));
    if (q.get("eps").trim() !== "" && Number.isFinite(e) && e > 0) v.eps = e;
    else problems.push(`eps=${q.get("eps")}: the temperature is a number above 0, ignored.`);
  }
  if (q.get("units") === "efficiency") v.units = "efficiency";
  v.point = clamp(v.point, 0, v.n - 1);
  return v;
}

let urlTimer = 0;
// Written a moment after the controls stop moving: browsers limit how often the URL may change.
function scheduleUrl() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => {
    const q = new URLSearchParams();
    q.set("d", view.d);
    for (const [name, key] of Object.entries(URL_KEYS)) q.set(key, view[name]);
    if (view.eps !== null) q.set("eps", view.eps);
    if (view.units !== "bits") q.set("units", view.units);
    history.replaceState(null, "", "?" + q.toString());
  }, 200);
}

// ---- the points ----
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand) {
  const u = 1 - rand(); // in (0, 1], so the log is finite
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function normalise(x) {
  const norm = Math.hypot(...x);
  return norm > 0 ? x.map((v) => v / norm) : x.map((_, k) => (k === 0 ? 1 : 0));
}

let cloudCache = { key: "", cloud: null };
function makeCloud({ d, n, kappa, classes, pointsSeed }) {
  const key = [d, n, kappa, classes, pointsSeed].join(",");
  if (cloudCache.key === key) return cloudCache.cloud;
  const directionRand = mulberry32(pointsSeed ^ 0x9e3779b9);
  const noiseRand = mulberry32(pointsSeed);
  const spreadRand = mulberry32(pointsSeed ^ 0x85ebca6b);
  const directions = [];
  for (let c = 0; c < classes; c++) directions.push(normalise(Array.from({ length: d }, () => normal(directionRand))));
  const points = new Float64Array(n * d);
  const labels = new Uint32Array(n);
  const radius = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    const x = directions[c].map((v) => kappa * v + normal(noiseRand));
    normalise(x).forEach((v, k) => { points[i * d + k] = Math.fround(v); });
    radius[i] = 1 + 0.16 * (spreadRand() - 0.5);
  }
  cloudCache = { key, cloud: { points, labels, radius } };
  return cloudCache.cloud;
}

// ---- glyphs: colour and shape per class (Okabe–Ito, black kept for the reference points) ----
const COLOURS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
const INK = "#1b1f24";
const polygon = (k, turn, scale) => Array.from({ length: k }, (_, i) => {
  const a = turn + (2 * Math.PI * i) / k;
  return [scale * Math.cos(a), -scale * Math.sin(a)];
});
const plus = (turn, scale) => {
  const w = 0.36;
  const arm = [[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w]];
  return arm.map(([x, y]) => [scale * (x * Math.cos(turn) - y * Math.sin(turn)), scale * (x * Math.sin(turn) + y * Math.cos(turn))]);
};
// Scaled to roughly the circle's area, so no class looks heavier than another.
const SHAPES = [
  { name: "circle", path: null },
  { name: "square", path: polygon(4, Math.PI / 4, 1.25) },
  { name: "triangle", path: polygon(3, Math.PI / 2, 1.5) },
  { name: "diamond", path: polygon(4, 0, 1.3) },
  { name: "downward triangle", path: polygon(3, -Math.PI / 2, 1.5) },
  { name: "plus", path: plus(0, 1.2) },
  { name: "cross", path: plus(Math.PI / 4, 1.2) },
  { name: "pentagon", path: polygon(5, Math.PI / 2, 1.15) },
  { name: "hexagon", path: polygon(6, 0, 1.1) },
  { name: "right-pointing triangle", path: polygon(3, 0, 1.5) },
];
// The reference points: a four-pointed star, a shape no class has.
const STAR = Array.from({ length: 8 }, (_, i) => {
  const a = Math.PI / 2 + (Math.PI * i) / 4;
  const r = i % 2 ? 0.36 : 1;
  return [r * Math.cos(a), -r * Math.sin(a)];
});
const classColour = (c) => COLOURS[c % COLOURS.length];
const classShape = (c) => SHAPES[c % SHAPES.length];

// Adds one glyph to the current path (as its own closed subpath).
function addGlyph(ctx, path, x, y, r) {
  if (!path) {
    ctx.moveTo(x + r, y);
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    return;
  }
  ctx.moveTo(x + path[0][0] * r, y + path[0][1] * r);
  for (let k = 1; k < path.length; k++) ctx.lineTo(x + path[k][0] * r, y + path[k][1] * r);
  ctx.closePath();
}

function glyphSvg(c) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("viewBox", "-1.6 -1.6 3.2 3.2");
  svg.setAttribute("aria-hidden", "true");
  const { path } = classShape(c);
  const el = document.createElementNS(SVG_NS, path ? "polygon" : "circle");
  if (path) el.setAttribute("points", path.map((p) => p.join(",")).join(" "));
  else el.setAttribute("r", "1");
  el.setAttribute("fill", classColour(c));
  el.setAttribute("stroke", INK);
  el.setAttribute("stroke-width", "0.2");
  svg.append(el);
  return svg;
}

// ---- elements ----
const controls = $("#controls");
const canvas = $("#cloud");
const ctx = canvas.getContext("2d");
const bars = $("#bars");
const problem = $("#problem");
const input = {
  m: $("#m"), n: $("#n"), kappa: $("#kappa"), classes: $("#classes"),
  pointsSeed: $("#points-seed"), seed: $("#seed"), point: $("#point"),
  epsRange: $("#eps-range"), eps: $("#eps"), calibrate: $("#calibrate"),
};
const readout = {
  entropy: $("#r-entropy"), conditional: $("#r-conditional"), mi: $("#r-mi"),
  regularity: $("#r-regularity"), ceiling: $("#r-ceiling"), point: $("#r-point"),
};

const urlProblems = [];
const view = viewFromUrl(urlProblems);
const rotation = { yaw: 0.6, pitch: 0.35 };

// What the tests (and the curious, from the console) read: the points and labels given to
// `explain`, its settings and its result, the selected point, where each point is drawn (CSS
// pixels from the canvas's top left, and its depth: < 0 is the far side) and the last frame's cost.
const state = {
  points: null, labels: null, d: view.d, n_bins: view.m, seed: view.seed, temperature: null,
  calibrated: view.eps === null, result: null, selected: view.point, screen: [], order: [],
  timing: {}, frame: 0,
};
window.explainerState = state;

// ---- one frame: recompute (when the cloud or the estimator changed) and draw ----
const COMPUTE = 1;
const DRAW = 2;
let pending = 0;
function schedule(what) {
  if (!pending) requestAnimationFrame(frame);
  pending |= what;
}

function frame() {
  const what = pending;
  pending = 0;
  const t0 = performance.now();
  if (what & COMPUTE) compute();
  const t1 = performance.now();
  if (state.result) render();
  const t2 = performance.now();
  if (what & COMPUTE) state.timing = { ...state.timing, compute: t1 - t0 };
  state.timing.draw = t2 - t1;
  state.timing.frame = t2 - t0;
  state.frame++;
}

function compute() {
  const t0 = performance.now();
  const cloud = makeCloud(view);
  const t1 = performance.now();
  let result;
  try {
    const settings = { n_bins: view.m, seed: view.seed, calibration: "exact" };
    if (view.eps !== null) settings.eps = view.eps;
    result = explain(cloud.points, view.d, cloud.labels, settings);
  } catch (e) {
    problem.textContent = `The estimator refused these settings: ${String((e && e.message) || e)}`;
    return;
  }
  const t2 = performance.now();
  problem.textContent = urlProblems.length ? `In the address: ${urlProblems.join(" ")}` : "";
  const { d, m: nBins } = view;
  const w = result.reference_points;
  // Bars in the order of the reference points' angle in the plane of the first two coordinates,
  // so that in 2-D the histogram reads like the circle unrolled.
  const order = Array.from({ length: nBins }, (_, j) => j);
  const angle = order.map((j) => Math.atan2(w[j * d + 1], w[j * d]));
  order.sort((a, b) => angle[a] - angle[b] || a - b);
  Object.assign(state, {
    points: cloud.points, labels: cloud.labels, radius: cloud.radius, d, n_bins: nBins, seed: view.seed,
    temperature: result.temperature, calibrated: view.eps === null, result, order,
  });
  state.timing = { points: t1 - t0, explain: t2 - t1 };
}

// ---- readouts ----
const inUnits = (v) => (view.units === "bits" ? v * state.result.bits_per_unit : v);
function setReadout(el, value, ratio = false) {
  const v = ratio ? value : inUnits(value);
  el.value = String(v);
  if (!Number.isFinite(v)) setText(el, "–");
  else if (ratio || view.units === "efficiency") setText(el, v.toFixed(4));
  else setText(el, `${v.toFixed(3)} bits`);
}
const shown = (v) => (Number.isFinite(v) ? (view.units === "bits" ? `${inUnits(v).toFixed(3)} bits` : inUnits(v).toFixed(4)) : "–");

function render() {
  const r = state.result;
  const sel = clamp(view.point, 0, view.n - 1);
  state.selected = sel;
  setReadout(readout.entropy, r.entropy);
  setReadout(readout.conditional, r.conditional_entropy);
  setReadout(readout.mi, r.mutual_information);
  setReadout(readout.regularity, r.regularity, true);
  setReadout(readout.ceiling, r.ceiling);
  setReadout(readout.point, r.point_entropies[sel]);
  setText($("#r-point-name"), `point #${sel}`);
  setText($("#units-note"), view.units === "bits"
    ? `Bits: efficiency × log₂ m (${r.bits_per_unit.toFixed(3)} at m = ${r.n_bins}). Regularity is a ratio, the same in both units.`
    : `Efficiency: entropy ÷ ln m, so 1 is an even spread over all ${r.n_bins} reference points. Regularity is a ratio, the same in both units.`);
  renderLegend();
  renderBars(sel);
  drawCloud(sel);
  syncControls();
  canvas.style.touchAction = view.d === 3 ? "none" : "manipulation";
}

// Text set only when it changes, so a frame that changes nothing costs the page no layout.
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function renderLegend() {
  const legend = $("#legend");
  const classes = state.result.classes;
  if (legend.children.length !== classes.length) {
    legend.replaceChildren(...classes.map((c) => {
      const li = document.createElement("li");
      li.append(glyphSvg(c.label), document.createElement("span"));
      return li;
    }));
  }
  classes.forEach((c, k) => {
    setText(legend.children[k].lastChild, `class ${c.label} (${classShape(c.label).name}): ${c.points} points, H(Z | X = ${c.label}) = ${shown(c.entropy)}`);
  });
}

// ---- bars: P(Z) above, the selected point's soft assignment below ----
const BAR = { left: 58, right: 628, panels: [{ top: 28, bottom: 128 }, { top: 174, bottom: 274 }] };
let barParts = null;

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function buildBars(m) {
  bars.replaceChildren();
  const panels = BAR.panels.map((p, i) => {
    const title = svgEl("text", { x: BAR.left, y: p.top - 10, "font-size": 13, fill: INK }, "");
    const topLabel = svgEl("text", { x: BAR.left - 6, y: p.top + 4, "font-size": 11, fill: "#57606a", "text-anchor": "end" }, "");
    const zero = svgEl("text", { x: BAR.left - 6, y: p.bottom, "font-size": 11, fill: "#57606a", "text-anchor": "end" }, "0");
    const uniform = svgEl("line", { x1: BAR.left, x2: BAR.right, stroke: "#57606a", "stroke-dasharray": "4 3", "stroke-width": 1 });
    const axis = svgEl("line", { x1: BAR.left, x2: BAR.right, y1: p.bottom + 0.5, y2: p.bottom + 0.5, stroke: INK, "stroke-width": 1 });
    const group = svgEl("g", { class: i === 0 ? "aggregate" : "selected", "aria-hidden": "true" });
    const rects = [];
    for (let k = 0; k < m; k++) {
      const rect = svgEl("rect", { "stroke-width": 0.5 });
      rects.push(rect);
      group.append(rect);
    }
    bars.append(title, topLabel, zero, group, uniform, axis);
    return { ...p, title, topLabel, uniform, group, rects };
  });
  const note = svgEl("text", { x: BAR.right, y: 296, "font-size": 11, fill: "#57606a", "text-anchor": "end" },
    "reference points, by angle; dashed: the even share 1/m");
  bars.append(note);
  barParts = { m, panels };
}

function renderBars(sel) {
  const r = state.result;
  const m = r.n_bins;
  if (!barParts || barParts.m !== m) buildBars(m);
  const label = state.labels[sel];
  const row = Array.from(r.assignments.subarray(sel * m, (sel + 1) * m));
  const series = [
    { values: r.distribution, fill: "#57606a", title: "P(Z): all points together", key: r },
    { values: row, fill: classColour(label), title: `P(Z | point #${sel}): its soft assignment (class ${label})`, key: `${sel}` },
  ];
  const width = (BAR.right - BAR.left) / m;
  // Where each bar stands changes only with the reference points; their heights with the result.
  const placed = state.order.join(",");
  barParts.panels.forEach((p, i) => {
    const { values, fill, title, key } = series[i];
    if (p.placed === placed && p.key === key) return;
    if (p.placed !== placed) {
      state.order.forEach((j, k) => {
        const rect = p.rects[k];
        rect.setAttribute("x", BAR.left + k * width + (width >= 3 ? 0.5 : 0));
        rect.setAttribute("width", Math.max(width - (width >= 3 ? 1 : 0), 0.6));
        rect.dataset.ref = j;
      });
      p.placed = placed;
    }
    p.key = key;
    const max = Math.max(1 / m, ...values) * 1.05;
    const h = p.bottom - p.top;
    p.title.textContent = title;
    p.topLabel.textContent = max.toPrecision(2);
    const yu = p.bottom - (h * (1 / m)) / max;
    p.uniform.setAttribute("y1", yu);
    p.uniform.setAttribute("y2", yu);
    p.group.setAttribute("fill", fill);
    p.group.setAttribute("stroke", width >= 4 ? INK : "none");
    p.group.dataset.max = max;
    p.group.dataset.height = h;
    state.order.forEach((j, k) => {
      const bh = (h * values[j]) / max;
      const rect = p.rects[k];
      rect.setAttribute("y", p.bottom - bh);
      rect.setAttribute("height", bh);
    });
  });
  const top = row.map((q, j) => [q, j]).sort((a, b) => b[0] - a[0]).slice(0, 3).filter(([q]) => q >= 0.005);
  setText($("#bars-summary"), `Top: P(Z), the share of all ${view.n} points that lands on each of the ${m} reference points. `
    + `Bottom: how point #${sel} (class ${label}) alone is shared out; its largest shares go to `
    + top.map(([q, j]) => `reference point ${j} (${q.toFixed(2)})`).join(", ") + ".");
}

// ---- the cloud ----
function project(x, y, z) {
  const { yaw, pitch } = rotation;
  const x1 = Math.cos(yaw) * x + Math.sin(yaw) * z;
  const z1 = -Math.sin(yaw) * x + Math.cos(yaw) * z;
  const y2 = Math.cos(pitch) * y - Math.sin(pitch) * z1;
  const z2 = Math.sin(pitch) * y + Math.cos(pitch) * z1;
  return [x1, y2, z2];
}

// The canvas's size in CSS pixels, kept by a ResizeObserver: reading it while drawing would force
// a layout of the whole page every frame.
let canvasSize = 0;

function drawCloud(sel) {
  const r = state.result;
  const { d, points, labels, radius } = state;
  const n = labels.length;
  const m = r.n_bins;
  const size = canvasSize || canvas.getBoundingClientRect().width || 300;
  const dpr = window.devicePixelRatio || 1;
  const px = Math.round(size * dpr);
  if (canvas.width !== px) {
    canvas.width = px;
    canvas.height = px;
  }
  ctx.setTransform(px / size, 0, 0, px / size, 0, 0);
  ctx.globalAlpha = 1;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, size, size);
  const c = size / 2;
  const s = (size / 2) * 0.8;
  const dot = clamp(size / 400, 0.75, 1.3) * (n > 300 ? 3.4 : 4.4);

  // Guides: the circle; in 3-D the sphere's outline and its equator, the far half dashed.
  ctx.strokeStyle = "#d0d7de";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(c, c, s, 0, 2 * Math.PI);
  ctx.stroke();
  if (d === 3) {
    for (const far of [true, false]) {
      ctx.setLineDash(far ? [3, 4] : []);
      ctx.beginPath();
      let drawing = false;
      for (let k = 0; k <= 96; k++) {
        const t = (2 * Math.PI * k) / 96;
        const [x, y, z] = project(Math.cos(t), 0, Math.sin(t));
        if ((z < 0) === far) {
          if (drawing) ctx.lineTo(c + s * x, c - s * y);
          else ctx.moveTo(c + s * x, c - s * y);
          drawing = true;
        } else drawing = false;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  // Where everything is drawn: points (x, y, depth), then reference points.
  const screen = new Array(n);
  for (let i = 0; i < n; i++) {
    if (d === 2) {
      screen[i] = [c + s * radius[i] * points[2 * i], c - s * radius[i] * points[2 * i + 1], 1];
    } else {
      const [x, y, z] = project(points[3 * i], points[3 * i + 1], points[3 * i + 2]);
      screen[i] = [c + s * x, c - s * y, z];
    }
  }
  const w = r.reference_points;
  const refs = new Array(m);
  for (let j = 0; j < m; j++) {
    if (d === 2) refs[j] = [c + s * w[2 * j], c - s * w[2 * j + 1], 1];
    else {
      const [x, y, z] = project(w[3 * j], w[3 * j + 1], w[3 * j + 2]);
      refs[j] = [c + s * x, c - s * y, z];
    }
  }
  state.screen = screen;

  // The selected point's soft assignment as lines to the reference points, darker for more.
  const q = r.assignments;
  let qmax = 0;
  for (let j = 0; j < m; j++) qmax = Math.max(qmax, q[sel * m + j]);
  ctx.strokeStyle = "#0b5cad";
  ctx.lineWidth = 1.6;
  for (let j = 0; j < m; j++) {
    const share = qmax > 0 ? q[sel * m + j] / qmax : 0;
    if (share < 0.02) continue;
    ctx.globalAlpha = 0.15 + 0.75 * share;
    ctx.beginPath();
    ctx.moveTo(screen[sel][0], screen[sel][1]);
    ctx.lineTo(refs[j][0], refs[j][1]);
    ctx.stroke();
  }

  // The far side first, dimmed, then the near side; on each, one path per class and one for the
  // reference points (a few fills per frame rather than one per point). Reference points grow
  // with their share of P(Z).
  let pmax = 0;
  for (const p of r.distribution) pmax = Math.max(pmax, p);
  const classes = Math.max(...labels) + 1;
  for (const far of d === 3 ? [true, false] : [false]) {
    const side = (z) => (d === 2 || (z < 0) === far);
    for (let k = 0; k < classes; k++) {
      const { path } = classShape(k);
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (labels[i] !== k || !side(screen[i][2])) continue;
        addGlyph(ctx, path, screen[i][0], screen[i][1], dot);
      }
      ctx.globalAlpha = far ? 0.3 : 1;
      ctx.fillStyle = classColour(k);
      ctx.fill();
      ctx.strokeStyle = INK;
      ctx.lineWidth = 0.8;
      ctx.stroke();
    }
    ctx.beginPath();
    for (let j = 0; j < m; j++) {
      if (!side(refs[j][2])) continue;
      addGlyph(ctx, STAR, refs[j][0], refs[j][1], 5 + 6 * Math.sqrt(r.distribution[j] / pmax));
    }
    ctx.globalAlpha = far ? 0.35 : 1;
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.fillStyle = INK;
    ctx.fill();
  }

  // The selected point, ringed on top of everything.
  ctx.globalAlpha = 1;
  const [sx, sy] = screen[sel];
  for (const [colour, width] of [["#ffffff", 4], [INK, 2]]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.arc(sx, sy, dot + 4, 0, 2 * Math.PI);
    ctx.stroke();
  }

  const where = d === 2
    ? "on the unit circle (drawn a little in or out of it so they do not hide each other; only the direction counts)"
    : "on the unit sphere, seen from outside (dimmer: the far side; drag, or focus it and use the arrow keys, to turn it)";
  setText($("#cloud-caption"), `${n} points in ${view.classes} ${view.classes === 1 ? "class" : "classes"} ${where}, `
    + `and ${m} reference points (black stars, larger where P(Z) is larger), ε = ${Number(state.temperature.toPrecision(4))}`
    + `${state.calibrated ? ` (the exact calibration for d = ${d}, m = ${m})` : ""}. `
    + `Point #${sel} is ringed; its lines go to the reference points it is shared out to, darker for a larger share.`);
  canvas.setAttribute("aria-label", `The cloud: ${n} points and ${m} reference points in ${d}-D; point #${sel} selected`);
}

// ---- controls ----
function syncControls() {
  const active = document.activeElement;
  const put = (el, value) => {
    if ((el !== active || el.type === "range") && el.value !== String(value)) el.value = String(value);
  };
  for (const name of ["m", "n", "kappa", "classes"]) {
    put(input[name], view[name]);
    const out = $(`#${name}-out`);
    if (out.textContent !== String(view[name])) out.textContent = String(view[name]);
  }
  put(input.pointsSeed, view.pointsSeed);
  put(input.seed, view.seed);
  input.point.max = String(view.n - 1);
  put(input.point, state.selected);
  put(input.epsRange, clamp(Math.log10(state.temperature), ...EPS_LOG));
  put(input.eps, Number(state.temperature.toPrecision(6)));
  input.calibrate.setAttribute("aria-pressed", String(view.eps === null));
  controls.elements.d.value = String(view.d);
  controls.elements.units.value = view.units;
}

function changed(what) {
  urlProblems.length = 0; // the address is rewritten from the settings shown
  schedule(what);
  scheduleUrl();
}

controls.addEventListener("submit", (e) => e.preventDefault());
for (const name of ["m", "n", "classes", "kappa"]) {
  input[name].addEventListener("input", () => {
    view[name] = Number(input[name].value);
    if (name === "n") view.point = Math.min(view.point, view.n - 1);
    changed(COMPUTE);
  });
}
for (const name of ["pointsSeed", "seed"]) {
  input[name].addEventListener("input", () => {
    const x = Number(input[name].value);
    const [lo, hi] = LIMITS[name];
    if (input[name].value.trim() === "" || !Number.isInteger(x) || x < lo || x > hi) return;
    view[name] = x;
    changed(COMPUTE);
  });
}
input.point.addEventListener("input", () => {
  const x = Number(input.point.value);
  if (input.point.value.trim() === "" || !Number.isInteger(x) || x < 0 || x >= view.n) return;
  view.point = x;
  changed(DRAW);
});
input.epsRange.addEventListener("input", () => {
  // Four significant digits: the ε shown, put in the URL and given to the estimator are one number.
  view.eps = Number((10 ** Number(input.epsRange.value)).toPrecision(4));
  changed(COMPUTE);
});
input.eps.addEventListener("input", () => {
  const x = Number(input.eps.value);
  if (input.eps.value.trim() === "" || !Number.isFinite(x) || x <= 0) return;
  view.eps = x;
  changed(COMPUTE);
});
input.calibrate.addEventListener("click", () => {
  view.eps = null;
  changed(COMPUTE);
});
for (const radio of controls.elements.d) {
  radio.addEventListener("change", () => {
    view.d = Number(controls.elements.d.value);
    changed(COMPUTE);
  });
}
for (const radio of controls.elements.units) {
  radio.addEventListener("change", () => {
    view.units = controls.elements.units.value;
    changed(DRAW);
  });
}

// Selecting a point: the nearest one drawn within 12 px of the click, the near side first.
function pick(x, y) {
  let best = -1;
  let bestScore = Infinity;
  state.screen.forEach(([px, py, z], i) => {
    const dist = Math.hypot(px - x, py - y);
    const score = dist + (z < 0 ? 8 : 0);
    if (dist <= 12 && score < bestScore) {
      best = i;
      bestScore = score;
    }
  });
  if (best >= 0 && best !== view.point) {
    view.point = best;
    changed(DRAW);
  }
}

let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  drag = { x: e.clientX, y: e.clientY, moved: false };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x;
  const dy = e.clientY - drag.y;
  if (!drag.moved && Math.hypot(dx, dy) < 4) return;
  drag.moved = true;
  if (view.d !== 3) return;
  rotation.yaw += dx * 0.01;
  rotation.pitch = clamp(rotation.pitch + dy * 0.01, -Math.PI / 2, Math.PI / 2);
  drag.x = e.clientX;
  drag.y = e.clientY;
  schedule(DRAW);
});
canvas.addEventListener("pointerup", (e) => {
  if (drag && !drag.moved) {
    const box = canvas.getBoundingClientRect();
    pick(e.clientX - box.left, e.clientY - box.top);
  }
  drag = null;
});
canvas.addEventListener("pointercancel", () => { drag = null; });
canvas.addEventListener("keydown", (e) => {
  if (view.d !== 3) return;
  const turn = { ArrowLeft: [-0.15, 0], ArrowRight: [0.15, 0], ArrowUp: [0, -0.15], ArrowDown: [0, 0.15] }[e.key];
  if (!turn) return;
  e.preventDefault();
  rotation.yaw += turn[0];
  rotation.pitch = clamp(rotation.pitch + turn[1], -Math.PI / 2, Math.PI / 2);
  schedule(DRAW);
});
new ResizeObserver((entries) => {
  canvasSize = entries[entries.length - 1].contentRect.width;
  schedule(DRAW);
}).observe(canvas);

// ---- start ----
if (DIGITS) {
  const digits = await import("./explainer-digits.js");
  await digits.start();
} else {
  try {
    await init({ module_or_path: wasmUrl(wasmBuild(location.search)) });
    schedule(COMPUTE);
  } catch (e) {
    problem.textContent = `The estimator could not be loaded: ${String((e && e.message) || e)}`;
  }
}
