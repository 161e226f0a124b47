// The page: collects files and settings, runs each dataset in its own Web Worker (one wasm
// instance each), and shows tables, charts and exports. All numbers come from the wasm core.
//
// The single-file build (scripts/build_single.py) defines globalThis.INFOPLANE_INLINE =
// {worker, wasm, sample}: the worker's source with the bindings, and the wasm and the sample as
// base64, so the page needs no other file and works from file://.

const $ = (sel) => document.querySelector(sel);
const form = $("#settings");
const status = $("#status");
const errors = $("#errors");
const results = $("#results");
const progressBox = $("#progress");
const progressBar = $("#progress-bar");
const progressText = $("#progress-text");
const inline = globalThis.INFOPLANE_INLINE || null;
const SAMPLE_NAME = "minilm_sample.npz";

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
    exclude_first: f.get("exclude_first") === "on" ? 1 : 0,
    max_sequences: Number(f.get("max_sequences")) || null,
    max_length: Number(f.get("max_length")) || 128,
    window: Number(f.get("window")) || null,
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
  s.exclude_first ? q.set("exclude_first", "1") : q.delete("exclude_first");
  s.max_sequences === null ? q.delete("max_sequences") : q.set("max_sequences", s.max_sequences);
  s.max_length === 128 ? q.delete("max_length") : q.set("max_length", s.max_length);
  s.window === null ? q.delete("window") : q.set("window", s.window);
  history.replaceState(null, "", "?" + q.toString());
}

function settingsFromUrl() {
  const q = new URLSearchParams(location.search);
  if (q.has("bins")) form.n_bins.value = q.get("bins");
  if (q.has("seed")) form.seed.value = q.get("seed");
  if (q.has("calibration")) form.calibration.value = q.get("calibration");
  if (q.has("eps")) form.eps.value = q.get("eps");
  if (q.has("layers")) form.layers.value = q.get("layers");
  form.exclude_first.checked = q.get("exclude_first") === "1";
  if (q.has("max_sequences")) form.max_sequences.value = q.get("max_sequences");
  if (q.has("max_length")) form.max_length.value = q.get("max_length");
  if (q.has("window")) form.window.value = q.get("window");
  if (q.has("orders")) {
    const on = new Set(q.get("orders").split(",").map(Number));
    for (const box of form.querySelectorAll("input[name=order]")) box.checked = on.has(Number(box.value));
  }
}

function describeSettings(s) {
  const cal = typeof s.calibration === "string" ? s.calibration : "fixed";
  const eps = s.temperature === null ? "–" : Number(s.temperature).toPrecision(6);
  return `m = ${s.n_bins}, seed ${s.seed}, ${cal} ε = ${eps}, orders ${s.orders.join(",") || "none"}, ` +
    `layers ${s.layers.join(",")}${s.exclude_first_positions ? ", first position excluded" : ""}`;
}

// ---- workers ----
function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

let workerUrl = null;
let compiled = null;
function newWorker() {
  if (!inline) return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  // Classic, not module: Chromium refuses blob: module workers on file:// pages.
  workerUrl ??= URL.createObjectURL(new Blob([inline.worker], { type: "text/javascript" }));
  return new Worker(workerUrl);
}
// The single-file build compiles its wasm once and hands the module to every worker.
function wasmModule() {
  if (!inline) return Promise.resolve(undefined);
  compiled ??= WebAssembly.compile(base64Bytes(inline.wasm));
  return compiled;
}

// One run of the page: its workers, and whether it was cancelled (a new drop cancels the last).
let run = { workers: new Set(), cancelled: false };

function cancelRun(why) {
  run.cancelled = true;
  for (const w of run.workers) w.cancel();
  if (why) status.textContent = why;
}

// ---- progress: bytes read and layers done per dataset, and the time left ----
const progress = new Map();

function showProgress() {
  if (!progress.size) {
    progressBox.hidden = true;
    return;
  }
  let read = 0, total = 0, fractionSum = 0, started = Infinity;
  const lines = [];
  for (const [label, p] of progress) {
    read += p.bytes;
    total += p.totalBytes;
    started = Math.min(started, p.started);
    // Bytes track the work when every layer is read; with a layer subset, layers do; for a
    // model (weights read first, then the text run), sequences do.
    const byCount = p.unit === "sequences" || (p.layersTotal && p.layersTotal < p.layersInFile);
    const f = byCount ? (p.layersTotal ? p.layersDone / p.layersTotal : 0) : p.totalBytes ? p.bytes / p.totalBytes : 0;
    fractionSum += Math.min(1, f);
    lines.push(`${label}: ${mb(p.bytes)} of ${mb(p.totalBytes)} read` + (p.layersTotal ? `, ${p.layersDone} of ${p.layersTotal} ${p.unit} done` : ""));
  }
  const fraction = fractionSum / progress.size;
  const elapsed = (performance.now() - started) / 1000;
  const left = fraction > 0.02 && elapsed > 1 ? elapsed * (1 - fraction) / fraction : null;
  progressBar.value = fraction;
  progressText.textContent = lines.join("; ") + (left === null ? "" : `; about ${duration(left)} left`);
  progressBox.hidden = false;
}

const mb = (bytes) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const duration = (s) => (s < 90 ? `${Math.ceil(s)} s` : `${Math.round(s / 60)} min`);

// A Hugging Face model folder: a config and weights (the model is run on text in the worker).
function isModelFolder(files) {
  const names = files.map((f) => f.name);
  return names.includes("config.json") && names.some((n) => /^model.*\.safetensors$|^pytorch_model.*\.bin$/.test(n));
}

// `folder`: the checkpoint folder the files came from, which names the dataset.
function runDataset(files, settings, folder = "") {
  return new Promise((resolve) => {
    const worker = newWorker();
    const label = folder ? `${folder}/` : files.map((f) => f.name).join(" + ");
    const kind = isModelFolder(files) ? "model" : "analyze";
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    const entry = { bytes: 0, totalBytes, layersDone: 0, layersTotal: 0, layersInFile: 0, started: performance.now(), unit: kind === "model" ? "sequences" : "layers" };
    const handle = {
      cancel: () => finish({ files, cancelled: true }),
    };
    const finish = (outcome) => {
      worker.terminate();
      run.workers.delete(handle);
      progress.delete(label);
      showProgress();
      resolve(outcome);
    };
    if (run.cancelled) return resolve({ files, cancelled: true });
    run.workers.add(handle);
    progress.set(label, entry);
    showProgress();
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.type === "progress") {
        Object.assign(entry, { bytes: m.bytes, totalBytes: m.totalBytes, layersDone: m.layersDone, layersTotal: m.layersTotal });
        entry.layersInFile = Math.max(entry.layersInFile, m.layersTotal);
        showProgress();
        return;
      }
      if (m.wasmMemory) document.body.dataset.wasmMemory = m.wasmMemory;
      finish(m.type === "result" ? { files, folder, settings, result: JSON.parse(m.json) } : { files, error: folder ? `${folder}/: ${m.message}` : m.message });
    };
    worker.onerror = (event) => finish({ files, error: `${label}: ${event.message || "the analysis stopped"}` });
    wasmModule().then((wasm) => worker.postMessage({ id: label, kind, name: folder || "model", files, settings, wasm }));
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
async function trajectory(done) {
  const points = done.map((o) => ({
    label: datasetName(o),
    step: o.folder ? stepOf(o.folder) : o.files.length === 1 ? stepOf(o.files[0].path || o.files[0].name) : null,
    mean: o.result.report.mean,
    index: shown.indexOf(o),
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
  const wasm = await wasmModule();
  return new Promise((resolve) => {
    const worker = newWorker();
    worker.onmessage = (event) => {
      worker.terminate();
      resolve({ svgs: event.data.type === "result" ? JSON.parse(event.data.json) : [], points });
    };
    worker.postMessage({ id: "trajectory", kind: "trajectory", orders, wasm });
  });
}

// The trajectory's numbers as text; each checkpoint links to its own per-layer section.
function trajectoryTable(points) {
  const t = document.createElement("table");
  const cap = document.createElement("caption");
  cap.textContent = "Checkpoints (layer means, efficiency units)";
  t.append(cap);
  const orders = points[0].mean.orders.map((o) => o.name);
  const tr = t.createTHead().insertRow();
  for (const h of ["checkpoint", "step", ...orders.flatMap((o) => [`I(in ${o})`, `I(out ${o})`])]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    tr.append(th);
  }
  const body = t.createTBody();
  for (const p of points) {
    const r = body.insertRow();
    const a = document.createElement("a");
    a.href = `#dataset-${p.index}`;
    a.textContent = p.label;
    r.insertCell().append(a);
    r.insertCell().textContent = p.step === null ? "–" : p.step;
    for (const o of p.mean.orders) {
      r.insertCell().textContent = fmt(o.complexity);
      r.insertCell().textContent = fmt(o.expressivity);
    }
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.append(t);
  return wrap;
}

async function renderTrajectory(done) {
  results.querySelector("section.trajectory")?.remove();
  const comparable = done.filter((d) => d.result.report.settings.orders.length > 0);
  if (comparable.length < 2) return;
  const { svgs, points } = await trajectory(comparable);
  const section = document.createElement("section");
  section.className = "dataset trajectory";
  section.setAttribute("aria-label", "Trajectory across checkpoints");
  const h = document.createElement("h2");
  h.textContent = "Trajectory across checkpoints";
  const p = document.createElement("p");
  p.className = "meta";
  p.textContent = "One point per file: the mean over layers (embedding excluded) of complexity and expressivity, ordered by the step number in the file name (or by drop order). Each checkpoint's own layers are in its section below.";
  const box = document.createElement("div");
  box.className = "charts";
  for (const [name, svg] of svgs) box.append(figure(`trajectory_${name}.svg`, svg, "trajectory"));
  section.append(h, p, box, trajectoryTable(points));
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

// What is on the page now, so one dataset can be re-run with other tensors.
let shown = [];

// Files grouped by the first folder below the one they all share ("" for files directly in it),
// so a picked run/ with run/step100/ and run/step2000/ gives two groups.
function groupByFolder(files) {
  const dirs = files.map((f) => (f.path || f.name).split("/").slice(0, -1));
  let common = 0;
  while (dirs.every((d) => d.length > common && d[common] === dirs[0][common])) common++;
  const groups = new Map();
  files.forEach((f, i) => {
    const key = dirs[i][common] || "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(f);
  });
  // One picked folder (e.g. a model folder): its own name names the dataset.
  if (groups.size === 1 && common > 0) return new Map([[dirs[0][common - 1], files]]);
  return groups;
}

// Files dropped together are first tried as one dataset (per-layer files, ids beside them, a TSV
// pair); if they do not form one (e.g. several checkpoints), each file is its own dataset.
// Several folders dropped together (checkpoint-500/, checkpoint-1000/, ...) are one dataset each.
async function analyzeFiles(fileList) {
  const files = [...fileList].filter((f) => !f.name.startsWith("."));
  if (!files.length) return;
  cancelRun();
  const thisRun = (run = { workers: new Set(), cancelled: false });
  settingsToUrl();
  errors.replaceChildren();
  const settings = readSettings();
  status.textContent = `Analysing ${files.length} file${files.length > 1 ? "s" : ""}…`;
  const started = performance.now();
  const folders = groupByFolder(files);
  let outcomes;
  if (folders.size > 1) {
    outcomes = await pool([...folders].map(([folder, group]) => () => runDataset(group, settings, folder)));
  } else {
    outcomes = [await runDataset(files, settings, [...folders.keys()][0])];
    if (files.length > 1 && outcomes[0].error && !thisRun.cancelled) {
      outcomes = await pool(files.map((f) => () => runDataset([f], settings)));
    }
  }
  if (thisRun.cancelled) {
    if (run === thisRun) status.textContent = "Cancelled; nothing was changed.";
    return;
  }
  for (const o of outcomes.filter((o) => o.error)) {
    const p = document.createElement("p");
    p.textContent = o.error;
    errors.append(p);
  }
  shown = outcomes.filter((o) => o.result);
  await renderAll();
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  status.textContent = `${shown.length} dataset${shown.length === 1 ? "" : "s"} analysed in ${secs} s` +
    (outcomes.length > shown.length ? `, ${outcomes.length - shown.length} refused (see above)` : "");
}

// Re-runs one shown dataset with the tensors chosen in its "Detected" box.
async function rerun(index, overrides) {
  const old = shown[index];
  cancelRun();
  const thisRun = (run = { workers: new Set(), cancelled: false });
  errors.replaceChildren();
  status.textContent = `Analysing ${old.files.map((f) => f.name).join(" + ")} again…`;
  const o = await runDataset(old.files, { ...old.settings, ...overrides });
  if (thisRun.cancelled) return;
  if (o.error) {
    const p = document.createElement("p");
    p.textContent = o.error;
    errors.append(p);
    status.textContent = "The new choice was refused; the results shown are unchanged.";
    return;
  }
  shown[index] = o;
  await renderAll();
  status.textContent = "Analysed again with the chosen tensors.";
}

// ---- rendering ----
const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(4));

function download(name, data, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// The chart drawn at twice its size into a canvas. A data: URL (not a blob:) keeps the canvas
// untainted when the page is opened from file://.
async function pngOf(svg) {
  const img = new Image();
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  await img.decode();
  const scale = 2;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth * scale;
  canvas.height = img.naturalHeight * scale;
  canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function button(text, onClick, label) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function figure(file, svg, base) {
  const fig = document.createElement("figure");
  fig.className = "chart";
  fig.dataset.chart = file;
  // The SVG is produced by our own wasm code from numbers, with every text escaped.
  fig.innerHTML = svg;
  const cap = document.createElement("figcaption");
  cap.append(
    button("SVG", () => download(`${base}.${file}`, svg, "image/svg+xml"), `Save ${file}`),
    button("PNG", async () => download(`${base}.${file.replace(/\.svg$/, ".png")}`, await pngOf(svg)), `Save ${file.replace(/\.svg$/, ".png")}`),
  );
  fig.append(cap);
  return fig;
}

function csv(report) {
  const head = ["layer", "rows", "rows_skipped", "entropy"];
  for (const o of report.settings.orders) {
    const n = o === 1 ? "unigram" : o === 2 ? "bigram" : o === 3 ? "trigram" : "quadgram";
    head.push(`complexity_${n}`, `expressivity_${n}`, `optimality_${n}`, `regularity_input_${n}`, `regularity_output_${n}`);
  }
  const sets = report.layers.length ? report.layers[0].label_sets.map((s) => s.name) : [];
  for (const s of sets) head.push(`mi_${s}`, `regularity_${s}`);
  // The settings ride along as a comment line (pandas: read_csv(..., comment="#")).
  const lines = [`# infoplane ${report.infoplane}: ${describeSettings(report.settings)}; files ${report.input.files.join(" + ")}`, head.join(",")];
  for (const l of report.layers) {
    const row = [l.layer, l.rows, l.rows_skipped, l.entropy];
    for (const o of l.orders) row.push(o.complexity, o.expressivity, o.optimality, o.input.regularity, o.output.regularity);
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
  for (const o of orders) head.push(`I(in ${o.name})`, `I(out ${o.name})`, `optimality ${o.name}`, `regularity in ${o.name}`, `regularity out ${o.name}`);
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
    for (const o of l.orders) cells.push(fmt(o.complexity), fmt(o.expressivity), fmt(o.optimality), fmt(o.input.regularity), fmt(o.output.regularity));
    for (const s of l.label_sets) cells.push(fmt(s.mutual_information), fmt(s.regularity));
    for (const c of cells) r.insertCell().textContent = c;
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", "Per-layer table");
  wrap.append(t);
  return wrap;
}

// What a model run used: the architecture, the text and how it was cut.
function probeSummary({ report, probe }) {
  const p = document.createElement("p");
  p.className = "meta";
  p.textContent = `Model (${probe.model_type}) run on ${probe.text}: ${report.input.sequences} sequences, ${report.input.tokens} tokens` +
    (probe.truncated ? `, ${probe.truncated} lines cut to the maximum length` : "") + `; ${report.input.hidden_states ?? report.input.layers_in_file} hidden states of width ${report.input.d}.`;
  return p;
}

// The tensors found, and selects to choose the hidden states and the token ids by hand.
function detected(index, { files, settings, result }) {
  const box = document.createElement("details");
  box.className = "detected";
  const summary = document.createElement("summary");
  const r = result.report;
  summary.textContent = `Detected: ${r.input.layout}; ${r.input.positions} positions per layer analysed`;
  const list = document.createElement("ul");
  const floats = [], ints = [];
  for (const f of result.files) {
    for (const t of f.tensors) {
      const li = document.createElement("li");
      li.textContent = `${f.name} (${f.format}): ${t.name} ${t.dtype} [${t.shape.join(", ")}]`;
      list.append(li);
      (/^f|bf16/.test(t.dtype) ? floats : ints).push(t.name);
    }
  }
  // Per-layer tensors (layer_3, hidden_states.3, blocks.3.hook_resid_post) offer their prefix too.
  const prefixes = new Set();
  for (const n of floats) {
    const m = n.match(/^(.*?[._]?)\d+(\..*)?$/);
    if (m && m[1] && !m[2]) prefixes.add(m[1].replace(/[._]$/, ""));
  }
  const select = (name, text, options, current) => {
    const label = document.createElement("label");
    label.textContent = text + " ";
    const s = document.createElement("select");
    s.name = name;
    for (const [value, shownText] of options) s.add(new Option(shownText, value, false, value === current));
    label.append(s);
    return label;
  };
  const hidden = select("hidden", "Hidden states", [["", "as detected"], ...[...prefixes].map((p) => [p, `${p}.N (per layer)`]), ...floats.map((n) => [n, n])], settings.hidden || "");
  const ids = select("ids", "Token ids", [["", "as detected"], ["none", "none (plain rows)"], ...ints.map((n) => [n, n])], settings.ids || "");
  const controls = document.createElement("div");
  controls.className = "overrides";
  controls.append(hidden, ids);
  controls.addEventListener("change", () => {
    rerun(index, {
      hidden: hidden.querySelector("select").value || null,
      ids: ids.querySelector("select").value || null,
    });
  });
  box.append(summary, list, controls);
  return box;
}

async function renderAll() {
  results.replaceChildren();
  shown.forEach((o, i) => results.append(renderDataset(i, o)));
  await renderTrajectory(shown);
}

const datasetName = (o) => (o.folder ? `${o.folder}/` : o.files.map((f) => f.name).join(" + "));

function renderDataset(index, outcome) {
  const { files, result } = outcome;
  const { report, charts } = result;
  const name = datasetName(outcome);
  const section = document.createElement("section");
  section.id = `dataset-${index}`;
  section.tabIndex = -1;
  section.className = "dataset";
  section.setAttribute("aria-label", name);
  const h = document.createElement("h2");
  h.textContent = name;
  const meta = document.createElement("p");
  meta.className = "meta";
  meta.textContent = `Settings: ${describeSettings(report.settings)}.`;
  const actions = document.createElement("div");
  actions.className = "actions";
  const base = outcome.folder || files[0].name.replace(/\.[^.]*$/, "");
  actions.append(
    button("Export JSON", () => download(`${base}.infoplane.json`, JSON.stringify(report, null, 2) + "\n", "application/json")),
    button("Export CSV", () => download(`${base}.infoplane.csv`, csv(report), "text/csv")),
  );
  if (result.probe) {
    const pr = result.probe;
    actions.append(button("Export tokens", () => download(`${base}.tokens.json`,
      JSON.stringify({ model_type: pr.model_type, text: pr.text, texts: pr.texts, input_ids: pr.input_ids }, null, 2) + "\n", "application/json")));
  }
  const warn = rareLabelWarning(report);
  const chartBox = document.createElement("div");
  chartBox.className = "charts";
  for (const [file, svg] of charts) chartBox.append(figure(file, svg, base));
  section.append(h, meta, result.probe ? probeSummary(result) : detected(index, outcome), actions, ...(warn ? [warn] : []), chartBox, table(report));
  return section;
}

// method.md §7: with mostly unique labels the estimate nears its ceiling whatever the model does.
function rareLabelWarning(report) {
  const layer = report.layers[report.layers.length - 1];
  if (!layer || !layer.rows) return null;
  const rare = layer.orders.filter((o) => o.input.distinct_labels / layer.rows > 0.5 || o.output.distinct_labels / layer.rows > 0.5);
  if (!rare.length) return null;
  const p = document.createElement("p");
  p.className = "warning";
  p.textContent = `Rare labels: for ${rare.map((o) => o.name).join(", ")}, more than half of the ${layer.rows} positions have an n-gram of their own, so I(X;Z) and I(Y;Z) are biased upward there (towards H(Z)) and optimality towards 1. Compare them across models or checkpoints on the same text, not with 0.`;
  return p;
}

// ---- input ----
// Folders dropped on the page are walked (where the browser gives entries); each file keeps its
// path so a checkpoint folder's name can give its step.
async function droppedFiles(dataTransfer) {
  const entries = [...(dataTransfer.items || [])].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((ok, bad) => entry.file(ok, bad));
      if (prefix) Object.defineProperty(file, "path", { value: prefix + file.name });
      out.push(file);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, "");
  return out;
}

async function loadSample() {
  status.textContent = "Loading the sample…";
  let bytes;
  try {
    if (inline) {
      bytes = base64Bytes(inline.sample);
    } else {
      const r = await fetch(new URL(`./sample/${SAMPLE_NAME}`, import.meta.url));
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      bytes = await r.arrayBuffer();
    }
  } catch (e) {
    status.textContent = `The sample could not be loaded (${e.message}).`;
    return;
  }
  await analyzeFiles([new File([bytes], SAMPLE_NAME)]);
}

$("#files").addEventListener("change", (e) => analyzeFiles(e.target.files));
$("#folder").addEventListener("change", (e) => analyzeFiles([...e.target.files].map((f) => {
  if (f.webkitRelativePath) Object.defineProperty(f, "path", { value: f.webkitRelativePath });
  return f;
})));
$("#sample").addEventListener("click", loadSample);
$("#cancel").addEventListener("click", () => cancelRun("Cancelled; nothing was changed."));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && run.workers.size) cancelRun("Cancelled; nothing was changed.");
});
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  analyzeFiles(await droppedFiles(e.dataTransfer));
});
form.addEventListener("change", settingsToUrl);
settingsFromUrl();
if (new URLSearchParams(location.search).has("sample")) loadSample();
