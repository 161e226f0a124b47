// onnxruntime-web (the engine under transformers.js) on the forward-pass benchmark's models and
// token ids, in Debian's Chromium (headless, playwright-core): the browser peer infoplane's page
// is measured against. Part of benches/forward_harness.py, which runs it; it also runs alone.
//
//   /tmp/torchvenv/bin/python benches/export_onnx.py     # target/forward_bench: ONNX files, ids
//   (cd benches && npm ci) && (cd tests/browser && npm ci)
//   node benches/browser_onnx.mjs [--models minilm,pythia70m_random] [--threads 1,2] [--repeats 3] [--json OUT]
//
// What it times: for each model and thread count, a fresh browser context opens a tiny page
// that imports onnxruntime-web's wasm-only build (benches/node_modules/onnxruntime-web/dist/
// ort.wasm.min.mjs, its ort-wasm-simd-threaded.wasm beside it: no network), sets
// ort.env.wasm.numThreads (1, or 2), simd on, proxy off (the session runs on the page's main
// thread), and creates an InferenceSession (execution provider "wasm", graph optimisation "all")
// on target/forward_bench/<model>.onnx. Then a warm-up pass over the 200 sequences of ids.json,
// one at a time (batch of 1, no padding, attention_mask all ones, int64 tensors made before the
// clock starts), which also checks the last hidden state of every sequence against PyTorch's
// (<model>_last_hidden.f32 from export_onnx.py); then --repeats timed passes, each the 200
// session.run calls fetching every output (hidden_0..hidden_6, as infoplane hands every hidden
// state on). tokens/s = the set's tokens / the best pass. Loading and session creation are not
// timed.
//
// Threads: the 1-thread run is served without isolation, like a static page. The 2-thread run
// is served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
// require-corp, so crossOriginIsolated is true and onnxruntime-web can start its wasm threads;
// a static page (GitHub Pages, a file) cannot send these headers, so that row is what a site
// that controls its headers gets. The page reports crossOriginIsolated; a run asked for 2
// threads without it fails.
//
// Offline: the server answers only for the page, onnxruntime-web's dist/ and target/forward_bench;
// every request the context makes to anywhere but 127.0.0.1 is refused and reported.
// Load: as the other bench scripts, the busy time of all CPUs from /proc/stat minus this
// script's process tree (node, Chromium), as a share of wall time x CPUs.

import { writeFileSync } from "node:fs";
import { arg, benchDir, benchIds, fmt, launchChromium, NCPU, openBenchTab, ortWeb, servePlainAndIsolated, withLoad } from "./bench_util.mjs";

const models = arg("--models", "minilm,pythia70m_random").split(",");
const threads = arg("--threads", "1,2").split(",").map(Number);
const repeats = Number(arg("--repeats", "3"));
const jsonOut = arg("--json", null);
const { dist: ortDist, version: ortVersion } = ortWeb();
const ids = benchIds();

// The page: window.bench(...) runs one (model, threads) configuration and returns its timings.
const PAGE = `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>onnxruntime-web forward passes</title>
<script type="module">
import * as ort from "/ort/ort.wasm.min.mjs";
window.bench = async ({ model, threads, repeats }) => {
  ort.env.wasm.wasmPaths = "/ort/";
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  const all = await (await fetch("/data/ids.json")).json();
  const set = all[model];
  const [onnx, ref] = await Promise.all([
    fetch("/data/" + set.onnx).then((r) => r.arrayBuffer()),
    fetch("/data/" + set.reference_last_hidden).then((r) => r.arrayBuffer()),
  ]);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const createMs = performance.now() - t0;
  const feeds = set.input_ids.map((s) => {
    const dims = [1, s.length];
    return {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(s, BigInt), dims),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(s.length).fill(1n), dims),
    };
  });
  const last = set.onnx_outputs[set.onnx_outputs.length - 1];
  // Warm-up, checking the last hidden state against PyTorch's.
  const want = new Float32Array(ref);
  let at = 0, maxDiff = 0;
  for (const f of feeds) {
    const out = await session.run(f);
    const got = out[last].data;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[at + i]));
    at += got.length;
  }
  if (at !== want.length) throw new Error("the outputs do not cover the reference: " + at + " of " + want.length);
  const walls = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    for (const f of feeds) await session.run(f);
    walls.push((performance.now() - t) / 1000);
  }
  await session.release();
  return { walls, maxDiff, createMs, crossOriginIsolated: self.crossOriginIsolated, ort: ort.env.versions,
           tokens: set.tokens, sequences: set.sequences, outputs: set.onnx_outputs.length,
           hardwareConcurrency: navigator.hardwareConcurrency };
};
window.ready = true;
</script>`;

const servers = await servePlainAndIsolated({ "/ort/": ortDist, "/data/": benchDir }, PAGE);
const browser = await launchChromium();
const version = browser.version();
const refused = [];
const errors = [];
const rows = [];
try {
  for (const model of models) {
    if (!ids[model]) throw new Error(`ids.json has no model ${model}`);
    for (const n of threads) {
      const { context, tab } = await openBenchTab(browser, servers.server(n), refused, errors, `${model}, ${n} threads`);
      const { value: r, load, other } = await withLoad(() =>
        tab.evaluate((a) => window.bench(a), { model, threads: n, repeats }));
      await context.close();
      if (n > 1 && !r.crossOriginIsolated) throw new Error("the 2-thread page is not cross-origin isolated");
      const best = Math.min(...r.walls);
      rows.push({
        implementation: `onnxruntime-web ${r.ort.web || ortVersion} (wasm, simd)`, where: `Chromium ${version}`,
        model, threads: n, isolated: r.crossOriginIsolated, walls: r.walls, best, tokens: r.tokens,
        tokens_per_s: r.tokens / best, max_abs_diff_last_hidden_vs_pytorch: r.maxDiff, session_create_ms: r.createMs,
        load, other_load: other,
      });
      console.error(`${model}, ${n} thread(s): ${r.walls.map((w) => w.toFixed(3)).join(", ")} s, ${fmt(r.tokens / best)} tokens/s, ` +
        `last hidden state vs PyTorch ${r.maxDiff.toExponential(2)}`);
    }
  }
} finally {
  await browser.close();
  await servers.close();
}

console.log(`${new Date().toISOString().slice(0, 16)}, ${NCPU} CPUs, Chromium ${version}, onnxruntime-web ${ortVersion}`);
console.log("");
console.log("| model | implementation | threads | cross-origin isolated | passes (s) | best (s) | tokens/s | largest abs diff of last hidden state vs PyTorch | other processes' load |");
console.log("| --- | --- | ---: | --- | --- | ---: | ---: | ---: | --- |");
for (const r of rows) {
  console.log(`| ${r.model} (${r.tokens} tokens) | ${r.implementation} in ${r.where} | ${r.threads} | ${r.isolated ? "yes" : "no"} | ` +
    `${r.walls.map((w) => w.toFixed(3)).join(", ")} | ${r.best.toFixed(3)} | **${fmt(r.tokens_per_s)}** | ` +
    `${r.max_abs_diff_last_hidden_vs_pytorch.toExponential(2)} | ${r.load} |`);
}
if (refused.length) console.log(`\nrequests refused (not 127.0.0.1): ${refused.length}, e.g. ${refused[0]}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ chromium: version, ort: ortVersion, rows, refused, errors }, null, 1));
if (errors.length) console.error("page errors:", errors);
if (errors.length || refused.length) process.exitCode = 1;
