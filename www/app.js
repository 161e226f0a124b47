// The page: collects files and settings, runs each dataset in its own Web Worker (one wasm
// instance each), and shows tables, charts and exports. All numbers come from the wasm core.

const $ = (sel) => document.querySelector(sel);
const form = $("#settings");
const status = $("#status");
const errors = $("#errors");
const results = $("#results");
let running = [];

// ---- settings, mirrored in the URL so a view can be shared ----
function readSettings() {
  const f = new FormData(form);
  const eps = f.get("eps");
  return {
    n_bins: Number(f.get("n_bins")) || 100,
    seed: Number(f.get("seed")) || 0,
    calibration: f.get("calibration"),
    eps: eps === "" || eps === null ? null : Number(eps),
    orders: f.getAll("order").map(Number),
    layers: (f.get("layers") || "").trim() || null,
  };
}

function settingsToUrl() {
  const s = readSettings();
  const q = new URLSearchParams(location.search);
  q.set("bins", s.n_bins);
  q.set("seed", s.seed);
  q.set("calibration", s.calibration);
  q.set("orders", s.orders.join(","));
  s.eps === null ? q.delete("eps") : q.set("eps", s.eps);
  s.layers === null ? q.delete("layers") : q.set("layers", s.layers);
  history.replaceState(null, "", "?" + q.toString());
}

function settingsFromUrl() {
  const q = new URLSearchParams(location.search);
  if (q.has("bins")) form.n_bins.value = q.get("bins");
  if (q.has("seed")) form.seed.value = q.get("seed");
  if (q.has("calibration")) form.calibration.value = q.get("calibration");
  if (q.has("eps")) form.eps.value = q.get("eps");
  if (q.has("layers")) form.layers.value = q.get("layers");
  if (q.has("orders")) {
    const on = new Set(q.get("orders").split(",").map(Number));
    for (const box of form.querySelectorAll("input[name=order]")) box.checked = on.has(Number(box.value));
  }
}

// ---- running datasets in workers ----
function runDataset(files, settings) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    running.push(worker);
    const label = files.map((f) => f.name).join(" + ");
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.type === "progress") {
        status.textContent = `${label}: layer ${m.done} of ${m.total} done`;
        return;
      }
      worker.terminate();
      running = running.filter((w) => w !== worker);
      resolve(m.type === "result" ? { files, result: JSON.parse(m.json) } : { files, error: m.message });
    };
    worker.onerror = (event) => {
      worker.terminate();
      resolve({ files, error: `${label}: ${event.message || "the analysis stopped"}` });
    };
    worker.postMessage({ id: label, kind: "analyze", files, settings });
  });
}

// The training step in a checkpoint's name: step1000, step-1000, checkpoint-500, ckpt_20, iter300,
// or else the last number in the name.
function stepOf(name) {
  const base = name.replace(/\.[^.]*$/, "");
  const m = base.match(/(?:step|checkpoint|ckpt|iter|it|global_step|epoch)[-_]?(\d+)/i) || base.match(/(\d+)(?!.*\d)/);
  return m ? Number(m[1]) : null;
}

// Checkpoints on the information plane: one point per dataset (the layer mean), per order,
// ordered by step when every name has one, else in drop order.
function trajectory(done) {
  const points = done.map(({ files, result }) => ({
    label: files.map((f) => f.name).join(" + "),
    step: files.length === 1 ? stepOf(files[0].name) : null,
    mean: result.report.mean,
  }));
  if (points.every((p) => p.step !== null)) points.sort((a, b) => a.step - b.step);
  const orders = (points[0].mean.orders || []).map((o, k) => ({
    name: o.name,
    points: points.map((p) => ({
      label: p.label,
      step: p.step,
      complexity: p.mean.orders[k] ? p.mean.orders[k].complexity : null,
      expressivity: p.mean.orders[k] ? p.mean.orders[k].expressivity : null,
    })),
  }));
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (event) => {
      worker.terminate();
      resolve(event.data.type === "result" ? JSON.parse(event.data.json) : []);
    };
    worker.postMessage({ id: "trajectory", kind: "trajectory", orders });
  });
}

async function renderTrajectory(done) {
  const comparable = done.filter((d) => d.result.report.settings.orders.length > 0);
  if (comparable.length < 2) return;
  const svgs = await trajectory(comparable);
  const section = document.createElement("section");
  section.className = "dataset trajectory";
  section.setAttribute("aria-label", "Trajectory across checkpoints");
  const h = document.createElement("h2");
  h.textContent = "Trajectory across checkpoints";
  const p = document.createElement("p");
  p.className = "meta";
  p.textContent = "One point per file: the mean over layers (embedding excluded) of complexity and expressivity, ordered by the step number in the file name (or by drop order).";
  const box = document.createElement("div");
  box.className = "charts";
  for (const [name, svg] of svgs) {
    const fig = document.createElement("figure");
    fig.className = "chart";
    fig.dataset.chart = `trajectory_${name}.svg`;
    // The SVG is produced by our own wasm code, with every text escaped.
    fig.innerHTML = svg;
    box.append(fig);
  }
  section.append(h, p, box);
  results.prepend(section);
}

// Runs tasks with at most one worker per core at a time, keeping their order.
async function pool(tasks) {
  const out = new Array(tasks.length);
  let next = 0;
  const lanes = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, tasks.length));
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

// Files dropped together are first tried as one dataset (per-layer files, ids beside them, a TSV
// pair); if they do not form one (e.g. several checkpoints), each file is its own dataset.
async function analyzeFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  settingsToUrl();
  errors.replaceChildren();
  const settings = readSettings();
  status.textContent = `Analysing ${files.length} file${files.length > 1 ? "s" : ""}…`;
  const started = performance.now();
  let outcomes = [await runDataset(files, settings)];
  if (files.length > 1 && outcomes[0].error) {
    outcomes = await pool(files.map((f) => () => runDataset([f], settings)));
  }
  for (const o of outcomes.filter((o) => o.error)) {
    const p = document.createElement("p");
    p.textContent = o.error;
    errors.append(p);
  }
  const done = outcomes.filter((o) => !o.error);
  render(done);
  await renderTrajectory(done);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  status.textContent = `${done.length} dataset${done.length === 1 ? "" : "s"} analysed in ${secs} s` +
    (outcomes.length > done.length ? `, ${outcomes.length - done.length} refused (see above)` : "");
}

// ---- rendering ----
const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(4));

function download(name, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function csv(report) {
  const head = ["layer", "rows", "rows_skipped", "entropy"];
  for (const o of report.settings.orders) {
    const n = o === 1 ? "unigram" : o === 2 ? "bigram" : o === 3 ? "trigram" : "quadgram";
    head.push(`complexity_${n}`, `expressivity_${n}`, `optimality_${n}`);
  }
  const sets = report.layers.length ? report.layers[0].label_sets.map((s) => s.name) : [];
  for (const s of sets) head.push(`mi_${s}`, `regularity_${s}`);
  const lines = [head.join(",")];
  for (const l of report.layers) {
    const row = [l.layer, l.rows, l.rows_skipped, l.entropy];
    for (const o of l.orders) row.push(o.complexity, o.expressivity, o.optimality);
    for (const s of l.label_sets) row.push(s.mutual_information, s.regularity);
    lines.push(row.map((v) => (v === null ? "" : v)).join(","));
  }
  return lines.join("\n") + "\n";
}

function table(report) {
  const t = document.createElement("table");
  const orders = report.layers.length ? report.layers[0].orders : [];
  const sets = report.layers.length ? report.layers[0].label_sets : [];
  const cap = document.createElement("caption");
  cap.textContent = "Per layer (efficiency units)";
  t.append(cap);
  const head = ["layer", "positions", "skipped", "H(Z)"];
  for (const o of orders) head.push(`I(in ${o.name})`, `I(out ${o.name})`, `optimality ${o.name}`);
  for (const s of sets) head.push(`I(${s.name})`, `regularity ${s.name}`);
  const tr = t.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    tr.append(th);
  }
  const body = t.createTBody();
  for (const l of report.layers) {
    const r = body.insertRow();
    const cells = [l.layer === 0 ? "0 (emb)" : l.layer, l.rows, l.rows_skipped, fmt(l.entropy)];
    for (const o of l.orders) cells.push(fmt(o.complexity), fmt(o.expressivity), fmt(o.optimality));
    for (const s of l.label_sets) cells.push(fmt(s.mutual_information), fmt(s.regularity));
    for (const c of cells) r.insertCell().textContent = c;
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.append(t);
  return wrap;
}

function render(done) {
  results.replaceChildren();
  for (const { files, result } of done) {
    const { report, charts } = result;
    const name = files.map((f) => f.name).join(" + ");
    const section = document.createElement("section");
    section.className = "dataset";
    section.setAttribute("aria-label", name);
    const h = document.createElement("h2");
    h.textContent = name;
    const meta = document.createElement("p");
    meta.className = "meta";
    const s = report.settings;
    meta.textContent = `${report.input.layout}. m = ${s.n_bins}, seed ${s.seed}, ${typeof s.calibration === "string" ? s.calibration : "fixed"} ε = ${s.temperature}; ${report.input.positions} positions per layer.`;
    const actions = document.createElement("div");
    actions.className = "actions";
    const base = files[0].name.replace(/\.[^.]*$/, "");
    const buttons = [
      ["Export JSON", () => download(`${base}.infoplane.json`, JSON.stringify(report, null, 2) + "\n", "application/json")],
      ["Export CSV", () => download(`${base}.infoplane.csv`, csv(report), "text/csv")],
      ...charts.map(([file, svg]) => [`Save ${file}`, () => download(`${base}.${file}`, svg, "image/svg+xml")]),
    ];
    for (const [text, onClick] of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.addEventListener("click", onClick);
      actions.append(b);
    }
    const chartBox = document.createElement("div");
    chartBox.className = "charts";
    for (const [file, svg] of charts) {
      const fig = document.createElement("figure");
      fig.className = "chart";
      fig.dataset.chart = file;
      // The SVG is produced by our own wasm code from numbers, with every text escaped.
      fig.innerHTML = svg;
      chartBox.append(fig);
    }
    section.append(h, meta, actions, chartBox, table(report));
    results.append(section);
  }
}

// ---- input ----
$("#files").addEventListener("change", (e) => analyzeFiles(e.target.files));
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  analyzeFiles(e.dataTransfer.files);
});
form.addEventListener("change", settingsToUrl);
settingsFromUrl();
