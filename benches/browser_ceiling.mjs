// The machine's matrix-product ceiling in the browser: onnxruntime-web's MatMul (its wasm simd128
// sgemm, MLAS) on the estimator's product, in Debian's Chromium (headless, playwright-core). The
// wasm counterpart of the numpy sgemm row of benches/reference_side_by_side.py, which writes the
// model and runs this script; it also runs alone on a folder that script wrote (--keep).
//
//   node benches/browser_ceiling.mjs --dir DIR [--threads 1,2] [--repeats 5]
//
// DIR holds matmul.onnx (one MatMul node: s = z · w, z a constant [block, d] float32 block of
// the benchmark's rows, w an input [d, bins] of normal values, the shape of the reference points
// transposed), w.f32 (w,
// row-major), expect.f32 (the first rows of z · w, computed by numpy in float64) and meta.json
// ({block, d, bins, runs, check_rows}). The rows are a constant of the model, so a run copies only
// w (d × bins floats) into the wasm heap, not the rows: the time is the product's, as numpy's is.
//
// What it times: for each thread count, a fresh browser context opens a tiny page that imports
// onnxruntime-web's wasm-only build (benches/node_modules/onnxruntime-web/dist, served from
// 127.0.0.1: no network), sets numThreads, simd on, proxy off, and creates an InferenceSession
// (execution provider "wasm", graph optimisation "all"). One warm-up run checks the output's
// first rows against expect.f32 (largest |diff| relative to the row's largest |value|); then
// --repeats timed passes, each `runs` session.run calls (runs × block rows: the benchmark's
// rows). The best pass is the figure. Session creation is not timed.
//
// Threads: 1 thread is served without isolation, like a static page; 2 threads with
// Cross-Origin-Opener-Policy / -Embedder-Policy, so onnxruntime-web can start its wasm threads
// (a static page cannot send these headers). Prints one JSON object on stdout:
// {"chromium", "ort", "rows": [{threads, isolated, walls, best, max_rel_diff, load}], "refused"}.

import { readFileSync } from "node:fs";
import path from "node:path";
import { arg, launchChromium, openBenchTab, ortWeb, servePlainAndIsolated, withLoad } from "./bench_util.mjs";

const dir = arg("--dir", null);
if (!dir) throw new Error("--dir DIR (written by benches/reference_side_by_side.py) is required");
const threads = arg("--threads", "1,2").split(",").map(Number);
const repeats = Number(arg("--repeats", "5"));
const meta = JSON.parse(readFileSync(path.join(dir, "meta.json"), "utf8"));
const { dist: ortDist, version: ortVersion } = ortWeb();

// The page: window.bench(...) runs one thread count and returns its timings.
const PAGE = `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>onnxruntime-web MatMul</title>
<script type="module">
import * as ort from "/ort/ort.wasm.min.mjs";
window.bench = async ({ threads, repeats, block, d, bins, runs, check_rows }) => {
  ort.env.wasm.wasmPaths = "/ort/";
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  const [onnx, w, expect] = await Promise.all(["matmul.onnx", "w.f32", "expect.f32"].map((f) =>
    fetch("/data/" + f).then((r) => { if (!r.ok) throw new Error(f + ": " + r.status); return r.arrayBuffer(); })));
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const feeds = { w: new ort.Tensor("float32", new Float32Array(w), [d, bins]) };
  const first = (await session.run(feeds)).s;
  if (first.dims.join() !== [block, bins].join()) throw new Error("output of shape " + first.dims);
  const want = new Float32Array(expect);
  let maxRel = 0;
  for (let r = 0; r < check_rows; r++) {
    const row = want.subarray(r * bins, (r + 1) * bins);
    const scale = Math.max(1e-30, ...row.map(Math.abs));
    for (let j = 0; j < bins; j++) maxRel = Math.max(maxRel, Math.abs(first.data[r * bins + j] - row[j]) / scale);
  }
  const walls = [];
  for (let p = 0; p < repeats; p++) {
    const t = performance.now();
    for (let k = 0; k < runs; k++) await session.run(feeds);
    walls.push((performance.now() - t) / 1000);
  }
  await session.release();
  return { walls, maxRel, crossOriginIsolated: self.crossOriginIsolated };
};
window.ready = true;
</script>`;

const servers = await servePlainAndIsolated({ "/ort/": ortDist, "/data/": dir }, PAGE);
const browser = await launchChromium();
const chromium = browser.version();
const refused = [];
const errors = [];
const rows = [];
try {
  for (const n of threads) {
    const { context, tab } = await openBenchTab(browser, servers.server(n), refused, errors, `${n} threads`);
    const { value: r, load } = await withLoad(() => tab.evaluate((a) => window.bench(a), { ...meta, threads: n, repeats }));
    await context.close();
    if (n > 1 && !r.crossOriginIsolated) throw new Error("the 2-thread page is not cross-origin isolated");
    // float32 sums over d terms in another order than numpy's float64: a few ulps of the row's scale.
    if (!(r.maxRel < 1e-4)) throw new Error(`onnxruntime-web's product differs from numpy's: ${r.maxRel}`);
    rows.push({ threads: n, isolated: r.crossOriginIsolated, walls: r.walls, best: Math.min(...r.walls), max_rel_diff: r.maxRel, load });
    console.error(`ceiling, d = ${meta.d}, ${n} thread(s): ${r.walls.map((w) => w.toFixed(3)).join(", ")} s`);
  }
} finally {
  await browser.close();
  await servers.close();
}
if (errors.length) console.error("page errors:", errors);
if (refused.length) console.error("requests refused (not 127.0.0.1):", refused);
console.log(JSON.stringify({ chromium, ort: ortVersion, rows, refused }));
if (errors.length || refused.length) process.exitCode = 1;
