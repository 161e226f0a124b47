// The page: collects files and settings, runs each dataset in its own Web Worker (one wasm
// instance each), and shows tables, charts and exports. All numbers come from the wasm core.
//
// The single-file build (scripts/build_single.py) defines globalThis.INFOPLANE_INLINE =
// {worker, wasm, sample}: the worker's source with the bindings, and the wasm and the sample as
// base64, so the page needs no other file and works from file://. Its wasm is the simd128 build
// (www/wasm.js); elsewhere the page picks the build the browser supports.

import { simdSupported, wasmBuild, wasmUrl } from "./wasm.js";

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
// Defaults of the settings that are left out of the URL (the CLI's defaults).
const DEFAULT_SHUFFLES = 5;

// A whole number typed in the settings ("" gives `fallback`); a bad one is named in `problems`.
function wholeNumber(f, name, fallback, what, problems, min = 0) {
  const raw = String(f.get(name) ?? "").trim();
  const el = form.elements[name];
  if (el && el.validity && el.validity.badInput) {
    problems.push(`${what}: not a number.`);
    return fallback;
  }
  if (raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) {
    problems.push(`${what}: "${raw}" is not a whole number${min ? ` of at least ${min}` : " of 0 or more"}.`);
    return fallback;
  }
  return v;
}

// "0, 2,101" -> [0, 2, 101]; anything else is refused by name, never dropped.
function tokenIds(text, problems) {
  const parts = String(text ?? "").split(/[\s,]+/).filter((p) => p !== "");
  const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) > 0xffffffff);
  if (bad.length) {
    problems.push(`Exclude token ids: ${bad.map((p) => `"${p}"`).join(", ")} ${bad.length > 1 ? "are not token ids" : "is not a token id"}; give whole numbers from 0 to 4294967295 separated by commas, e.g. 0,2.`);
    return [];
  }
  return parts.map(Number);
}

// The settings as the wasm core takes them (web.rs WebSettings); `problems` collects what is wrong.
function readSettings(problems = []) {
  const f = new FormData(form);
  const eps = f.get("eps");
  const backoff = String(f.get("backoff") ?? "").trim();
  return {
    n_bins: Number(f.get("n_bins")) || 100,
    seed: Number(f.get("seed")) || 0,
    calibration: f.get("calibration"),
    eps: eps === "" || eps === null ? null : Number(eps),
    orders: f.getAll("order").map(Number),
    layers: (f.get("layers") || "").trim() || null,
    exclude_first: wholeNumber(f, "exclude_first", 0, "Exclude first N positions", problems),
    exclude_tokens: tokenIds(f.get("exclude_tokens"), problems),
    exclude_special: f.get("exclude_special") === "on",
    shuffles: wholeNumber(f, "shuffles", DEFAULT_SHUFFLES, "Shuffled copies", problems),
    shuffle_seed: wholeNumber(f, "shuffle_seed", 0, "Shuffle seed", problems),
    seeds: wholeNumber(f, "seeds", 1, "Seeds of reference points", problems, 1),
    min_count: wholeNumber(f, "min_count", 0, "Minimum count", problems),
    backoff: backoff === "" && !form.elements.backoff.validity.badInput ? null : wholeNumber(f, "backoff", null, "Back-off threshold", problems),
    centre: f.get("centre") === "on",
    max_sequences: Number(f.get("max_sequences")) || null,
    max_length: Number(f.get("max_length")) || 128,
    window: Number(f.get("window")) || null,
  };
}

// The settings' problems shown in #errors (replacing the last ones); true when there are none.
function showSettingsProblems() {
  const problems = [];
  readSettings(problems);
  errors.querySelectorAll(".settings-problem").forEach((p) => p.remove());
  for (const text of problems) {
    const p = document.createElement("p");
    p.className = "settings-problem";
    p.textContent = text;
    errors.append(p);
  }
  return problems.length === 0;
}

function settingsToUrl() {
  const s = readSettings();
  const q = new URLSearchParams(location.search);
  const put = (key, value, omit) => (value === omit ? q.delete(key) : q.set(key, value));
  q.set("bins", s.n_bins);
  q.set("seed", s.seed);
  q.set("calibration", s.calibration);
  q.set("orders", s.orders.join(","));
  put("eps", s.eps, null);
  put("layers", s.layers, null);
  put("exclude_first", s.exclude_first, 0);
  // As typed (spaces out), so a shared view shows the same list, or the same mistake.
  put("exclude_tokens", String(form.exclude_tokens.value).replace(/\s+/g, ""), "");
  put("exclude_special", s.exclude_special ? "1" : "", "");
  put("shuffles", s.shuffles, DEFAULT_SHUFFLES);
  put("shuffle_seed", s.shuffle_seed, 0);
  put("seeds", s.seeds, 1);
  put("min_count", s.min_count, 0);
  put("backoff", s.backoff, null);
  put("centre", s.centre ? "1" : "", "");
  put("max_sequences", s.max_sequences, null);
  put("max_length", s.max_length, 128);
  put("window", s.window, null);
  history.replaceState(null, "", "?" + q.toString());
}

function settingsFromUrl() {
  const q = new URLSearchParams(location.search);
  const fields = {
    bins: "n_bins", seed: "seed", calibration: "calibration", eps: "eps", layers: "layers",
    max_sequences: "max_sequences", max_length: "max_length", window: "window",
    // exclude_first=1 (the old checkbox) is N = 1.
    exclude_first: "exclude_first", exclude_tokens: "exclude_tokens", shuffles: "shuffles",
    shuffle_seed: "shuffle_seed", seeds: "seeds", min_count: "min_count", backoff: "backoff",
  };
  for (const [key, name] of Object.entries(fields)) if (q.has(key)) form.elements[name].value = q.get(key);
  const on = (key) => q.has(key) && !["0", "false", "off"].includes(q.get(key));
  form.centre.checked = on("centre");
  form.exclude_special.checked = on("exclude_special");
  if (q.has("orders")) {
    const wanted = new Set(q.get("orders").split(",").map(Number));
    for (const box of form.querySelectorAll("input[name=order]")) box.checked = wanted.has(Number(box.value));
  }
}

function describeSettings(s) {
  const cal = typeof s.calibration === "string" ? s.calibration : "fixed";
  const eps = s.temperature === null ? "–" : Number(s.temperature).toPrecision(6);
  const parts = [`m = ${s.n_bins}`, s.seeds > 1 ? `seeds ${s.seed}–${s.seed + s.seeds - 1} (mean ± sd)` : `seed ${s.seed}`,
    `${cal} ε = ${eps}`, `orders ${s.orders.join(",") || "none"}`, `layers ${s.layers.join(",")}`];
  parts.push(s.shuffles ? `baseline of ${s.shuffles} shuffled copies (shuffle seed ${s.shuffle_seed})` : "no baseline");
  if (s.min_count) parts.push(`minimum count ${s.min_count}`);
  if (s.backoff !== null && s.backoff !== undefined) parts.push(`back-off threshold ${s.backoff}`);
  if (s.centre) parts.push("rows centred");
  const first = s.exclude_first_positions;
  if (first) parts.push(first === 1 ? "first position excluded" : `first ${first} positions excluded`);
  if (s.exclude_tokens && s.exclude_tokens.length) parts.push(`token ids ${s.exclude_tokens.join(" ")} excluded`);
  return parts.join(", ");
}

// "What the numbers mean" (www/meaning.html), resolved like the sample: beside this script.
// The meaning page: next to app.js, or (single-file build) inlined and opened as a blob.
let meaningBlob = null;
function meaningUrl(id = "") {
  const hash = id ? "#" + id : "";
  if (!inline) return new URL(`./meaning.html${hash}`, import.meta.url).href;
  meaningBlob ??= URL.createObjectURL(new Blob([inline.meaning], { type: "text/html" }));
  return meaningBlob + hash;
}

// A link to one section of the meaning page, opened in a new tab so the results stay.
function meaningLink(text, id, label) {
  const a = document.createElement("a");
  a.href = meaningUrl(id);
  a.target = "_blank";
  a.rel = "noopener";
  a.textContent = text;
  if (label) a.setAttribute("aria-label", label);
  return a;
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
function startWorker() {
  if (!inline) return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  // Classic, not module: Chromium refuses blob: module workers on file:// pages.
  workerUrl ??= URL.createObjectURL(new Blob([inline.worker], { type: "text/javascript" }));
  return new Worker(workerUrl);
}
// Workers started ahead, their wasm instantiated, so a drop does not wait for them to start (about
// 25 ms of a 62 MB dump's 300 ms). Two at most: more help only large dumps, whose runs are long.
// Runs terminate the workers they used (their memory has grown), and each run refills these.
const spare = [];
function warmWorkers() {
  wasmModule().then((wasm) => {
    while (spare.length < Math.min(2, CORES)) {
      const worker = startWorker();
      worker.postMessage({ kind: "warm", wasm });
      spare.push(worker);
    }
  }, () => {});
}
function newWorker() {
  return spare.pop() || startWorker();
}
// Which wasm each worker loads: compiled once here, as the page opens, and handed to every worker,
// which then only instantiates it (compiling the 4 MB module took each worker about 0.3 s): the
// build this browser supports, or the single-file build's one (simd128) build.
const WASM_BUILD = inline ? "simd" : wasmBuild(location.search);
document.body.dataset.wasmBuild = WASM_BUILD;
function wasmModule() {
  if (inline && !simdSupported()) {
    return Promise.reject(new Error("this single-file page needs WebAssembly SIMD (Chromium 91+, Firefox 89+, Safari 16.4+); the served page also runs without it"));
  }
  if (!compiled) {
    compiled = inline ? WebAssembly.compile(base64Bytes(inline.wasm)) : compileUrl(wasmUrl(WASM_BUILD));
    // A failed compile (the network, say) is tried again by the next dataset.
    compiled.catch(() => { compiled = null; });
  }
  return compiled;
}
// A server that does not send application/wasm makes compileStreaming fail: then compile the bytes.
async function compileUrl(url) {
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    return WebAssembly.compile(await (await fetch(url)).arrayBuffer());
  }
}
// Start now; a failure is reported when a dataset needs the module.
wasmModule().catch(() => {});

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
  tellHost({ type: "infoplane-progress", fraction, left });
  progressText.textContent = lines.join("; ") + (left === null ? "" : `; about ${duration(left)} left`);
  progressBox.hidden = false;
}

const mb = (bytes) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const duration = (s) => (s < 90 ? `${Math.ceil(s)} s` : `${Math.round(s / 60)} min`);

// A Hugging Face model folder: a config and weights (the model is run on text in the worker).
const WEIGHTS = /^model.*\.safetensors$|^pytorch_model.*\.bin$/;
function isModelFolder(files) {
  const names = files.map((f) => f.name);
  return names.includes("config.json") && names.some((n) => WEIGHTS.test(n));
}

// Datasets smaller than this run in one worker: more would spend longer starting than reading.
const SPLIT_BYTES = 32 << 20;
const CORES = navigator.hardwareConcurrency || 2;
// `?workers=N` fixes the workers per dataset (tests compare 1 with several).
const FORCED_WORKERS = Math.max(0, Math.min(64, Math.floor(Number(new URLSearchParams(location.search).get("workers")) || 0)));
warmWorkers();

// How many workers one dataset of `files` may get while `atOnce` datasets run side by side: the
// cores are shared out. A dump's workers beyond its layers get empty shares; a model folder gets
// no more than it has batches of forward passes, and than fit in memory.
function workersFor(files, atOnce) {
  if (FORCED_WORKERS) return FORCED_WORKERS;
  if (isModelFolder(files)) return Math.max(1, Math.floor(CORES / Math.max(1, atOnce)));
  if (files.reduce((n, f) => n + f.size, 0) < SPLIT_BYTES) return 1;
  return Math.max(1, Math.floor(CORES / Math.max(1, atOnce)));
}

// Sends `message` to `worker` (transferring `transfer`); resolves with its result message,
// rejects with its error; calls `onProgress` with each progress message. A worker may have several
// messages outstanding: replies find their message by its id, and an error in the worker (its
// wasm instance is then gone) rejects all of them.
let asked = 0;
function ask(worker, message, onProgress, label, transfer = []) {
  if (!worker.calls) {
    worker.calls = new Map();
    worker.onmessage = (event) => {
      const m = event.data;
      const call = worker.calls.get(m.id);
      if (!call) return;
      if (m.type === "progress") return call.onProgress(m);
      worker.calls.delete(m.id);
      if (m.type === "result") call.resolve(m);
      else call.reject(new Error(m.message));
    };
    worker.onerror = (event) => {
      for (const call of worker.calls.values()) call.reject(new Error(`${call.label}: ${event.message || "the analysis stopped"}`));
      worker.calls.clear();
    };
  }
  const id = ++asked;
  return new Promise((resolve, reject) => {
    worker.calls.set(id, { resolve, reject, onProgress, label });
    worker.postMessage({ ...message, id }, transfer);
  });
}

// Memory the page lets the copies of one model take together: each worker running a model's
// forward passes holds the whole model, taken as twice its weight files (float16 or bfloat16
// weights are widened to f32).
const MODEL_MEMORY = 2 ** 31;

// Runs a model folder on its text with up to `most` workers (`workers` holds the first; more are
// made by newWorker and pushed to it), with one worker's numbers, which are the CLI's: every worker
// opens the folder at the same time (the same files give the same model and plan), the batches of
// forward passes (consecutive sequences, up to 64 tokens, run as one) go to whichever worker is
// free, and the first worker takes their states strictly in order (at most 4 batches per worker are
// held here), then writes the report. No more workers start than copies of the model fit in
// MODEL_MEMORY, and those beyond the number of batches stop once the first has opened the folder.
async function runModel(workers, most, base, onProgress, label) {
  const weightBytes = base.files.filter((f) => WEIGHTS.test(f.name)).reduce((n, f) => n + f.size, 0);
  const count = Math.max(1, Math.min(most, Math.floor(MODEL_MEMORY / Math.max(1, 2 * weightBytes))));
  while (workers.length < count) workers.push(newWorker());
  let read = { bytes: 0, totalBytes: 0 };
  const open = { ...base, kind: "model-open" };
  // The first worker's reading is shown; the others read the same bytes.
  const opened = workers.map((w, i) => ask(w, open, i === 0 ? (m) => onProgress((read = m)) : () => {}, label));
  // Each is awaited by its lane below; the first one's failure is the run's.
  for (const o of opened) o.catch(() => {});
  const first = await opened[0];
  // Batch b is the passes ends[b - 1] .. ends[b].
  const ends = first.batches;
  const start = (b) => (b === 0 ? 0 : ends[b - 1]);
  const jobs = ends.length ? ends[ends.length - 1] : 0;
  const done = new Map();
  let next = 0, taken = 0, failure = null;
  let wake, changed = new Promise((r) => (wake = r));
  const tell = () => {
    wake();
    changed = new Promise((r) => (wake = r));
  };
  // Hands every batch now due to the first worker, in order; one hand-over at a time.
  let taking = Promise.resolve();
  const takeDue = async () => {
    while (done.has(taken) && !failure) {
      const states = done.get(taken);
      done.delete(taken);
      await ask(workers[0], { kind: "model-take", first: start(taken), end: ends[taken], states }, () => {}, label, [states.buffer]);
      onProgress({ ...read, layersDone: ends[taken], layersTotal: jobs });
      taken++;
      tell();
    }
  };
  // Workers that run passes (those beyond the number of batches are stopped), and the others'
  // memory.
  let running = 0, memory = 0;
  const lane = async (w, i) => {
    if (i >= Math.max(1, ends.length)) return w.terminate();
    // A worker that cannot open the folder the first one opened (out of memory, say) leaves the
    // work to the others.
    try {
      const m = await opened[i];
      if (i > 0) memory += m.wasmMemory;
    } catch {
      return;
    }
    running++;
    while (next < ends.length && !failure) {
      // At most 4 batches per worker run ahead of the ones taken.
      if (next - taken >= 4 * count) {
        await changed;
        continue;
      }
      const b = next++;
      const { states } = await ask(w, { kind: "model-forward", first: start(b), end: ends[b] }, () => {}, label);
      done.set(b, states);
      taking = taking.then(takeDue).catch((e) => {
        failure ??= e;
        tell();
      });
    }
  };
  await Promise.all(workers.map(lane));
  await taking;
  if (failure) throw failure;
  const m = await ask(workers[0], { kind: "model-finish" }, () => {}, label);
  return { json: m.json, wasmMemory: memory + m.wasmMemory, shares: running };
}

// Analyses one dataset, as part of `owner` (the run that started it: a newer drop cancels it).
// `folder`: the checkpoint folder the files came from, which names the dataset; `atOnce`:
// datasets running side by side. With several workers each analyses a share of the layers (a
// layer's numbers never depend on another's; a worker beyond the layers gets an empty share);
// the first then joins the shares' numbers into the result, which equals one worker's (and the
// CLI's) bit for bit. Each worker reads its own layers' bytes
// straight from the File: no chunk crosses between threads.
async function runDataset(files, settings, folder = "", atOnce = 1, owner = run) {
  if (owner.cancelled) return { files, cancelled: true };
  const label = folder ? `${folder}/` : files.map((f) => f.name).join(" + ");
  const kind = isModelFolder(files) ? "model" : "analyze";
  const workers = [newWorker()];
  let cancelled = null;
  const cancel = new Promise((resolve) => (cancelled = resolve));
  const handle = { cancel: () => cancelled({ files, cancelled: true }) };
  owner.workers.add(handle);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const entry = { bytes: 0, totalBytes, layersDone: 0, layersTotal: 0, layersInFile: 0, started: performance.now(), unit: kind === "model" ? "sequences" : "layers" };
  progress.set(label, entry);
  showProgress();
  // Each share reports its own bytes and layers; the dataset's progress is their sum.
  const seen = [];
  const sum = (key) => seen.reduce((n, p) => n + p[key], 0);
  const onProgress = (i) => (m) => {
    seen[i] = m;
    Object.assign(entry, { bytes: sum("bytes"), totalBytes: Math.max(...seen.map((p) => p.totalBytes)), layersDone: sum("layersDone"), layersTotal: sum("layersTotal") });
    entry.layersInFile = Math.max(entry.layersInFile, entry.layersTotal);
    showProgress();
  };
  const memory = (results) => results.reduce((n, r) => n + (r.wasmMemory || 0), 0);
  const analyse = async () => {
    const wasm = await wasmModule();
    const base = { id: label, name: folder || "model", files, settings, wasm };
    const shares = workersFor(files, atOnce);
    if (kind === "model") return runModel(workers, shares, base, onProgress(0), label);
    if (shares === 1) {
      const m = await ask(workers[0], { ...base, kind }, onProgress(0), label);
      return { json: m.json, wasmMemory: memory([m]), shares, reading: m.reading };
    }
    // All shares start at once: asking the first worker for the number of layers first had cost
    // an eighth of a 124 MB dump's time. Shares beyond the layers come back empty.
    while (workers.length < shares) workers.push(newWorker());
    const results = await Promise.all(workers.map((w, part) => ask(w, { ...base, kind: "layers", part, parts: shares }, onProgress(part), label)));
    const m = await ask(workers[0], { id: label, kind: "combine", wasm, shares: results.map((r) => r.numbers), files: results[0].files }, () => {}, label);
    const used = results.filter((r) => r.numbers.layers.length > 0).length;
    return { json: m.json, wasmMemory: memory(results), shares: Math.max(1, used), reading: results[0].reading };
  };
  let cancelledRun = false;
  try {
    const outcome = await Promise.race([analyse(), cancel]);
    cancelledRun = Boolean(outcome.cancelled);
    if (outcome.cancelled) return outcome;
    // The wasm memory of all its workers at the end, for benches/browser_large_dump.mjs.
    if (outcome.wasmMemory) document.body.dataset.wasmMemory = outcome.wasmMemory;
    document.body.dataset.workers = outcome.shares;
    // Who read the rows: a reader worker ahead of the analysis, or the analysing worker itself.
    if (outcome.reading) document.body.dataset.reading = outcome.reading;
    return { files, folder, settings, result: JSON.parse(outcome.json) };
  } catch (error) {
    return { files, error: folder && !error.message.startsWith(label) ? `${folder}/: ${error.message}` : error.message };
  } finally {
    // A cancelled run's workers stop now; a finished one's once its results are drawn.
    if (cancelledRun) for (const w of workers) w.terminate();
    else retire(workers);
    owner.workers.delete(handle);
    progress.delete(label);
    showProgress();
  }
}

// Workers whose run is over are ended, and the spare ones refilled, once the page is idle: ending
// a worker frees its wasm memory (hundreds of MB after a large dump), and while the browser
// unmaps it the page's own thread waits for memory too. Ended beside the drawing of the results,
// two workers had made the first chart's parsing take 50-70 ms instead of 2.
const retiring = [];
function retire(workers) {
  if (!retiring.length) {
    const later = window.requestIdleCallback || ((f) => setTimeout(f, 200));
    later(() => {
      for (const w of retiring.splice(0)) w.terminate();
      warmWorkers();
    }, { timeout: 1000 });
  }
  retiring.push(...workers);
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
      complexity_baseline: p.mean.orders[k] ? p.mean.orders[k].complexity_baseline : null,
      expressivity_baseline: p.mean.orders[k] ? p.mean.orders[k].expressivity_baseline : null,
    })),
  }));
  const wasm = await wasmModule();
  return new Promise((resolve) => {
    const worker = newWorker();
    worker.onmessage = (event) => {
      retire([worker]);
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
  // Corrected means when every checkpoint has them (shuffled copies were made).
  const corrected = points.every((p) => p.mean.orders.every((o) => o.complexity_corrected !== null && o.complexity_corrected !== undefined));
  const tr = t.createTHead().insertRow();
  const heads = orders.flatMap((o) => (corrected ? [`I(in ${o})`, `I(in ${o}) − b`, `I(out ${o})`, `I(out ${o}) − b`] : [`I(in ${o})`, `I(out ${o})`]));
  for (const h of ["checkpoint", "step", ...heads]) {
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
      if (corrected) r.insertCell().textContent = fmt(o.complexity_corrected);
      r.insertCell().textContent = fmt(o.expressivity);
      if (corrected) r.insertCell().textContent = fmt(o.expressivity_corrected);
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
  const lanes = Math.max(1, Math.min(CORES, tasks.length));
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
  settingsToUrl();
  // Bad settings stop here, before the results shown (or a run going on) are touched.
  errors.replaceChildren();
  if (!showSettingsProblems()) {
    status.textContent = "Nothing was analysed: fix the settings named above.";
    return;
  }
  cancelRun();
  const thisRun = (run = { workers: new Set(), cancelled: false });
  const settings = readSettings();
  status.textContent = `Analysing ${files.length} file${files.length > 1 ? "s" : ""}…`;
  const started = performance.now();
  const folders = groupByFolder(files);
  let outcomes;
  if (folders.size > 1) {
    const atOnce = Math.min(CORES, folders.size);
    outcomes = await pool([...folders].map(([folder, group]) => () => runDataset(group, settings, folder, atOnce, thisRun)));
  } else {
    outcomes = [await runDataset(files, settings, [...folders.keys()][0], 1, thisRun)];
    if (files.length > 1 && outcomes[0].error && !thisRun.cancelled) {
      outcomes = await pool(files.map((f) => () => runDataset([f], settings, "", Math.min(CORES, files.length), thisRun)));
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
  // The time from the drop to the results shown, for benches/browser_estimator.mjs.
  document.body.dataset.analysedMs = performance.now() - started;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  status.textContent = `${shown.length} dataset${shown.length === 1 ? "" : "s"} analysed in ${secs} s` +
    (outcomes.length > shown.length ? `, ${outcomes.length - shown.length} refused (see above)` : "");
  tellHost({
    type: "infoplane-result",
    reports: shown.map((o) => o.result.report),
    errors: outcomes.filter((o) => o.error).map((o) => o.error),
  });
}

// Inside an <infoplane-view> (www/infoplane-elements.js), the page tells the element about its
// results and progress; nothing is sent when the page is not embedded.
function tellHost(message) {
  if (window.parent !== window && document.body.classList.contains("embed")) window.parent.postMessage(message, "*");
}

// Re-runs one shown dataset with the tensors chosen in its "Detected" box.
async function rerun(index, overrides) {
  const old = shown[index];
  cancelRun();
  const thisRun = (run = { workers: new Set(), cancelled: false });
  errors.replaceChildren();
  status.textContent = `Analysing ${old.files.map((f) => f.name).join(" + ")} again…`;
  const o = await runDataset(old.files, { ...old.settings, ...overrides }, old.folder || "", 1, thisRun);
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
  const layers = report.layers;
  const first = layers[0] || null;
  const backoff = first && first.backoff ? first.backoff : null;
  // Column name and value of every number, in one list so the header and the rows agree.
  const cols = (l) => {
    const out = [["layer", l.layer], ["rows", l.rows], ["rows_skipped", l.rows_skipped], ["entropy", l.entropy],
      ["entropy_sd", l.entropy_sd], ["mean_row_entropy", l.mean_row_entropy], ["ceiling", l.ceiling], ["ceiling_sd", l.ceiling_sd]];
    const order = (o, n) => {
      const set = (s, dir) => [
        [`regularity_${dir}_${n}`, s.regularity], [`regularity_${dir}_sd_${n}`, s.regularity_sd],
        [`baseline_${dir}_${n}`, s.baseline ? s.baseline.mean : null], [`baseline_${dir}_sd_${n}`, s.baseline ? s.baseline.sd : null],
        [`distinct_${dir}_${n}`, s.distinct_labels], [`rows_${dir}_${n}`, s.rows], [`dropped_rows_${dir}_${n}`, s.dropped_rows],
      ];
      out.push(
        [`complexity_${n}`, o.complexity], [`complexity_sd_${n}`, o.complexity_sd],
        [`complexity_corrected_${n}`, o.complexity_corrected], [`complexity_corrected_sd_${n}`, o.input.corrected_sd],
        [`expressivity_${n}`, o.expressivity], [`expressivity_sd_${n}`, o.expressivity_sd],
        [`expressivity_corrected_${n}`, o.expressivity_corrected], [`expressivity_corrected_sd_${n}`, o.output.corrected_sd],
        [`optimality_${n}`, o.optimality], [`optimality_sd_${n}`, o.optimality_sd], [`optimality_corrected_${n}`, o.optimality_corrected],
        ...set(o.input, "input"), ...set(o.output, "output"));
    };
    l.orders.forEach((o) => order(o, o.name));
    if (backoff) order(l.backoff, "backoff");
    for (const s of l.label_sets) {
      out.push([`mi_${s.name}`, s.mutual_information], [`mi_sd_${s.name}`, s.mutual_information_sd],
        [`regularity_${s.name}`, s.regularity], [`regularity_sd_${s.name}`, s.regularity_sd],
        [`baseline_${s.name}`, s.baseline ? s.baseline.mean : null], [`baseline_sd_${s.name}`, s.baseline ? s.baseline.sd : null],
        [`corrected_${s.name}`, s.corrected], [`corrected_sd_${s.name}`, s.corrected_sd],
        [`distinct_${s.name}`, s.distinct_labels], [`rows_${s.name}`, s.rows], [`dropped_rows_${s.name}`, s.dropped_rows]);
    }
    return out;
  };
  // The settings ride along as a comment line (pandas: read_csv(..., comment="#")).
  const shares = backoffShares(report);
  const lines = [`# infoplane ${report.infoplane}: ${describeSettings(report.settings)}; files ${report.input.files.join(" + ")}${shares ? `; ${shares}` : ""}`];
  if (!first) {
    lines.push(["layer", "rows", "rows_skipped", "entropy"].join(","));
    return lines.join("\n") + "\n";
  }
  lines.push(cols(first).map(([k]) => k).join(","));
  for (const l of layers) lines.push(cols(l).map(([, v]) => (v === null || v === undefined ? "" : v)).join(","));
  return lines.join("\n") + "\n";
}

// "back-off input: 12% unigram, 30% bigram, ...": the share of positions labelled at each order.
function backoffShares(report) {
  const counts = report.input.backoff || [];
  if (!counts.length) return "";
  const names = ["unigram", "bigram", "trigram", "quadgram"];
  return counts.map((b) => {
    const total = b.positions.reduce((a, n) => a + n, 0);
    const pct = (n) => (total ? `${Math.round((100 * n) / total)}%` : "–");
    return `back-off ${b.name.replace(/_backoff$/, "")}: ` + b.positions.map((n, j) => `${pct(n)} ${names[j]}`).join(", ");
  }).join("; ") + ` (of ${report.input.positions} positions, threshold ${report.settings.backoff})`;
}

// A number, with its spread over seeds when there are several ("0.1234 ± 0.0012").
function numberCell(row, v, sd, title) {
  const td = row.insertCell();
  td.textContent = fmt(v);
  if (sd !== null && sd !== undefined && v !== null && v !== undefined) {
    const s = document.createElement("span");
    s.className = "sd";
    s.textContent = ` ± ${fmt(sd)}`;
    td.append(s);
  }
  if (title) {
    td.title = title;
    // The same text for screen readers and touch screens, which do not show titles.
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = ` (${title})`;
    td.append(hidden);
  }
  return td;
}

// "b = 0.2490 ± 0.0019": the shuffled-label baseline of a label set.
function baselineText(set) {
  const b = set.baseline;
  if (!b) return "";
  return `b = ${fmt(b.mean)}${b.sd === null ? "" : ` ± ${fmt(b.sd)}`} (the I of ${b.shuffles} shuffled ${b.shuffles === 1 ? "copy" : "copies"} of the labels)`;
}

function table(report) {
  const t = document.createElement("table");
  const first = report.layers[0] || null;
  const orders = first ? first.orders : [];
  const sets = first ? first.label_sets : [];
  const backoff = first && first.backoff ? first.backoff : null;
  const corrected = report.settings.shuffles > 0;
  const cap = document.createElement("caption");
  cap.textContent = "Per layer (efficiency units)";
  t.append(cap);
  const thead = t.createTHead();
  const top = thead.insertRow();
  const sub = thead.insertRow();
  // A header cell whose text links to its section of the meaning page.
  const th = (row, text, id, title, span = {}) => {
    const h = document.createElement("th");
    h.scope = span.colSpan > 1 ? "colgroup" : "col";
    if (span.colSpan) h.colSpan = span.colSpan;
    if (span.rowSpan) h.rowSpan = span.rowSpan;
    h.append(id ? meaningLink(text, id) : text);
    if (title) h.title = title;
    row.append(h);
    return h;
  };
  th(top, "layer", null, null, { rowSpan: 2 });
  th(top, "positions", "positions", "Positions analysed (rows that entered the counts)", { rowSpan: 2 });
  th(top, "skipped", "soft-assignment", "Rows skipped: all zero, or NaN/Inf", { rowSpan: 2 });
  th(top, "H(Z)", "entropy", "Soft entropy of the layer's rows", { rowSpan: 2 });
  th(top, "ceiling", "ceiling", "H(Z) − mean row entropy: the most I can be, what all-unique labels give", { rowSpan: 2 });
  const orderCols = (name) => {
    const cols = [["I(in)", "complexity", `Complexity I(X;Z), X = the input ${name}`]];
    if (corrected) cols.push(["I(in) − b", "baseline", "Complexity less its shuffled-label baseline b (hover a value for b)"]);
    cols.push(["I(out)", "expressivity", `Expressivity I(Y;Z), Y = the output ${name}`]);
    if (corrected) cols.push(["I(out) − b", "baseline", "Expressivity less its shuffled-label baseline b (hover a value for b)"]);
    cols.push(["optimality", "optimality", "I(out) / I(in)"], ["reg. in", "regularity", "Regularity I(in) / H(Z)"], ["reg. out", "regularity", "Regularity I(out) / H(Z)"]);
    return cols;
  };
  for (const o of orders) {
    const cols = orderCols(o.name);
    th(top, o.name, null, `${o.name}s: the input ${o.name} ending at each position, the next ${o.order} token${o.order > 1 ? "s" : ""} after it`, { colSpan: cols.length });
    cols.forEach(([text, id, title], k) => th(sub, text, id, title).classList.toggle("group-start", k === 0));
  }
  if (backoff) {
    const cols = orderCols("back-off label");
    th(top, "back-off", "backoff", "At each position the highest order whose n-gram is seen often enough (shares under the table)", { colSpan: cols.length });
    cols.forEach(([text, id, title], k) => th(sub, text, id, title).classList.toggle("group-start", k === 0));
  }
  for (const s of sets) {
    const cols = [["I", "complexity", `I(${s.name};Z)`]];
    if (corrected) cols.push(["I − b", "baseline", "I less its shuffled-label baseline b (hover a value for b)"]);
    cols.push(["regularity", "regularity", `I(${s.name};Z) / H(Z)`]);
    th(top, s.name, null, `The label set ${s.name} read from the data`, { colSpan: cols.length });
    cols.forEach(([text, id, title], k) => th(sub, text, id, title).classList.toggle("group-start", k === 0));
  }
  const body = t.createTBody();
  for (const l of report.layers) {
    const r = body.insertRow();
    r.insertCell().textContent = l.layer === 0 ? "0 (emb)" : l.layer;
    r.insertCell().textContent = l.rows;
    r.insertCell().textContent = l.rows_skipped;
    numberCell(r, l.entropy, l.entropy_sd);
    numberCell(r, l.ceiling, l.ceiling_sd, `mean row entropy ${fmt(l.mean_row_entropy)}`);
    const setTitle = (label, s) => `${label}: ${s.distinct_labels} distinct labels on ${s.rows} positions` +
      (s.dropped_rows ? ` (${s.dropped_rows} dropped: labels below the minimum count)` : "") + `; ceiling ${fmt(s.ceiling)}`;
    const baselineCell = (v, sd, s) => {
      const td = numberCell(r, v, sd, baselineText(s));
      td.classList.add("corrected");
    };
    const orderCells = (o, name) => {
      numberCell(r, o.complexity, o.complexity_sd, setTitle(`input ${name}`, o.input)).classList.add("group-start");
      if (corrected) baselineCell(o.complexity_corrected, o.input.corrected_sd, o.input);
      numberCell(r, o.expressivity, o.expressivity_sd, setTitle(`output ${name}`, o.output));
      if (corrected) baselineCell(o.expressivity_corrected, o.output.corrected_sd, o.output);
      numberCell(r, o.optimality, o.optimality_sd, o.optimality_corrected === null || o.optimality_corrected === undefined ? "" : `corrected: (I(out) − b) / (I(in) − b) = ${fmt(o.optimality_corrected)}`);
      numberCell(r, o.input.regularity, o.input.regularity_sd);
      numberCell(r, o.output.regularity, o.output.regularity_sd);
    };
    for (const o of l.orders) orderCells(o, o.name);
    if (backoff && l.backoff) orderCells(l.backoff, "back-off");
    for (const s of l.label_sets) {
      numberCell(r, s.mutual_information, s.mutual_information_sd, setTitle(s.name, s)).classList.add("group-start");
      if (corrected) baselineCell(s.corrected, s.corrected_sd, s);
      numberCell(r, s.regularity, s.regularity_sd);
    }
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", "Per-layer table");
  wrap.append(t);
  const box = document.createElement("div");
  box.append(wrap, tableNotes(report));
  return box;
}

// What the table's marks mean, under it: seeds, baseline, dropped labels, back-off shares.
function tableNotes(report) {
  const s = report.settings;
  const ul = document.createElement("ul");
  ul.className = "table-notes";
  const note = (text, link, id) => {
    const li = document.createElement("li");
    li.append(text + " ", meaningLink(link, id));
    ul.append(li);
  };
  if (s.seeds > 1) note(`± is the standard deviation over ${s.seeds} sets of reference points (seeds ${s.seed}–${s.seed + s.seeds - 1}); the values are their means.`, "Seed spread", "seeds");
  if (s.shuffles > 0) {
    note(`− b: I less its baseline b, the I of ${s.shuffles} shuffled ${s.shuffles === 1 ? "copy" : "copies"} of the labels (shuffle seed ${s.shuffle_seed}); hover a value for b.`, "Baseline", "baseline");
  } else {
    note("No baseline (0 shuffled copies): the raw I includes the bias of rare labels.", "Baseline", "baseline");
  }
  const first = report.layers[0];
  if (s.min_count && first) {
    const all = [...first.orders.flatMap((o) => [[`input ${o.name}`, o.input], [`output ${o.name}`, o.output]]),
      ...(first.backoff ? [["input back-off", first.backoff.input], ["output back-off", first.backoff.output]] : []),
      ...first.label_sets.map((x) => [x.name, x])];
    const dropped = all.filter(([, x]) => x.dropped_rows > 0).map(([n, x]) => `${n} ${x.dropped_rows} of ${x.rows + x.dropped_rows}`);
    note(`Minimum count ${s.min_count}: ` + (dropped.length
      ? `positions whose label was seen fewer times were left out of that label set (layer ${first.layer}): ${dropped.join(", ")}.`
      : "no label was that rare; no position was dropped."), "Minimum count", "min-count");
  }
  const shares = backoffShares(report);
  if (shares) note(`${shares[0].toUpperCase()}${shares.slice(1)}.`, "Back-off", "backoff");
  if (s.centre) note("Rows were centred: each layer's mean row was subtracted first.", "Centring", "centring");
  return ul;
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
  if (shown.length) {
    const p = document.createElement("p");
    p.className = "meaning";
    p.append(meaningLink("What the numbers mean", ""), ": what each statistic measures, its range and biases, and which comparisons are fair.");
    results.prepend(p);
  }
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
  const warn = biasNotes(report);
  const chartBox = document.createElement("div");
  chartBox.className = "charts";
  for (const [file, svg] of charts) chartBox.append(figure(file, svg, base));
  section.append(h, meta, result.probe ? probeSummary(result) : detected(index, outcome), actions, ...(warn ? [warn] : []), chartBox, table(report));
  return section;
}

// The report's own notes (written by the Rust core, the same lines the CLI prints on stderr):
// label sets whose I is mostly what shuffled labels of the same counts give, or, without shuffles,
// whose labels are mostly unique (method.md §7), and merges of different datasets.
function biasNotes(report) {
  if (!report.notes || !report.notes.length) return null;
  const box = document.createElement("div");
  box.className = "warning";
  const p = document.createElement("p");
  p.append("Read these numbers with care: with rare labels I is biased upward, towards its ceiling, and optimality towards 1. ",
    meaningLink("Why", "baseline", "Why rare labels bias the estimate"));
  const list = document.createElement("ul");
  for (const note of report.notes) {
    const li = document.createElement("li");
    li.textContent = note.replace(/_/g, " ");
    list.append(li);
  }
  box.append(p, list);
  return box;
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

// The pickers are emptied once read, so picking the same files again (say, after fixing a
// setting) runs them again.
function picked(input) {
  const files = [...input.files];
  input.value = "";
  return files;
}
$("#files").addEventListener("change", (e) => analyzeFiles(picked(e.target)));
$("#folder").addEventListener("change", (e) => analyzeFiles(picked(e.target).map((f) => {
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
form.addEventListener("change", () => {
  settingsToUrl();
  showSettingsProblems();
});
settingsFromUrl();
showSettingsProblems();
for (const a of document.querySelectorAll("a[data-meaning]")) {
  a.href = meaningUrl(a.dataset.meaning);
  a.target = "_blank";
  a.rel = "noopener";
}
// ---- embedding in another page's <iframe> ----
// ?embed hides the page's own chrome (header, file picking, settings, footer) so only the results
// show; ?view=profile|plane|table picks what of them; ?src=URL (repeatable) analyses files fetched
// from the embedding site (relative to this page; another origin must allow it with CORS). Nothing
// else is ever fetched.
const embedQuery = new URLSearchParams(location.search);
if (embedQuery.has("embed")) {
  document.body.classList.add("embed");
  const view = embedQuery.get("view");
  if (view && ["profile", "plane", "table"].includes(view)) document.body.dataset.view = view;
}

async function loadSources(urls) {
  status.textContent = `Loading ${urls.length === 1 ? urls[0] : `${urls.length} files`}…`;
  const files = [];
  for (const u of urls) {
    let url;
    try {
      url = new URL(u, location.href);
      const r = await fetch(url);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const name = decodeURIComponent(url.pathname.split("/").pop() || "data");
      files.push(new File([await r.arrayBuffer()], name));
    } catch (e) {
      status.textContent = `${u}: could not be loaded (${e.message}).`;
      return;
    }
  }
  await analyzeFiles(files);
}

// An <infoplane-view>'s analyze(files) arrives as a message from the page that holds the frame.
window.addEventListener("message", (e) => {
  if (e.source !== window.parent || !document.body.classList.contains("embed")) return;
  if (e.data && e.data.type === "infoplane-analyze" && Array.isArray(e.data.files)) analyzeFiles(e.data.files);
});
if (embedQuery.has("embed")) tellHost({ type: "infoplane-ready" });

if (embedQuery.has("src")) loadSources(embedQuery.getAll("src"));
else if (embedQuery.has("sample")) loadSample();
