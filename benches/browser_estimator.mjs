// The page analysing one dump in Debian's Chromium (playwright-core), timed per run: for
// benches/reference_side_by_side.py, which puts the page beside the reference package and the CLI.
//
//   node benches/browser_estimator.mjs --file DUMP [--workers 1,auto] [--repeats 3]
//        [--query "bins=100&orders=1,2,3&shuffles=0"] [--wasm simd|plain]
//
// Serves the repository with `python3 -m http.server` on a free port and opens index.html?QUERY
// (&workers=N unless `auto`, the page's own choice: one worker per core, each a share of the
// layers). Each run is a fresh browser context; the page compiles the wasm when it opens, and the
// run starts once that is done. The time is the page's own (`document.body.dataset.analysedMs`):
// from the files reaching its drop handler to the results rendered (workers started, reading,
// decoding, labels, the estimator, charts and tables), as the CLI's wall time covers a whole run;
// playwright's own cost of handing over the file is left out. Prints one JSON object on stdout:
// {"runs": [{"workers", "used", "times": [s, ...], "report": <the page's exported JSON>}]}.
//
// With --rows-in-memory it times the page's estimator instead, on rows already in memory, as the
// reference package's accumulator is timed (benches/estimator_worker.js: the same wasm build and
// calls as the page's workers, one per share of the layers, the chunks' bytes read before the
// clock starts): from planning the shares (headers, token ids, labels, accumulators) to the
// shares' numbers joined, the report left out. Same output; `used` is the number of workers.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "tests/browser/package.json"));
const { chromium } = require("playwright-core");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const file = arg("--file", null);
if (!file) throw new Error("--file DUMP is required");
const workerCounts = arg("--workers", "1,auto").split(",");
const repeats = Number(arg("--repeats", "3"));
const query = arg("--query", "bins=100&orders=1,2,3&shuffles=0");
const wasm = arg("--wasm", "simd");
const inMemory = process.argv.includes("--rows-in-memory");

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: root, stdio: "ignore" });
const base = `http://127.0.0.1:${port}/index.html`;
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(base)).ok) break;
  } catch { /* not up yet */ }
  await new Promise((r) => setTimeout(r, 100));
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const runs = [];
try {
  for (const workers of inMemory ? [] : workerCounts) {
    const run = { workers, used: null, times: [], report: null };
    for (let r = 0; r < repeats; r++) {
      const context = await browser.newContext({ acceptDownloads: true });
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await page.goto(`${base}?${query}&wasm=${wasm}` + (workers === "auto" ? "" : `&workers=${workers}`));
      // The page compiles the wasm as it opens: let that finish first, as it would for a user.
      await page.evaluate(() => new Promise((r) => setTimeout(r, 1000)));
      await page.setInputFiles("#files", file);
      const section = page.locator("section.dataset");
      await section.waitFor({ timeout: 3600_000 });
      run.times.push(Number(await page.evaluate(() => document.body.dataset.analysedMs)) / 1000);
      run.used = Number(await page.evaluate(() => document.body.dataset.workers));
      const [download] = await Promise.all([page.waitForEvent("download"), section.getByRole("button", { name: "Export JSON" }).click()]);
      run.report = JSON.parse(readFileSync(await download.path(), "utf8"));
      await context.close();
      if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    }
    runs.push(run);
  }
  for (const workers of inMemory ? workerCounts : []) runs.push(await estimatorInMemory(workers));
} finally {
  await browser.close();
  server.kill();
}

// The settings object the page's worker gets for `query` (bins, orders, shuffles only).
function settingsOf(q) {
  const settings = {};
  for (const [k, v] of new URLSearchParams(q)) {
    if (k === "bins") settings.n_bins = Number(v);
    else if (k === "orders") settings.orders = v.split(",").map(Number);
    else if (k === "shuffles") settings.shuffles = Number(v);
    else throw new Error(`--rows-in-memory takes bins, orders and shuffles only, not ${k}`);
  }
  return settings;
}

// --repeats runs of the estimator on rows in memory with `workers` workers ("auto": one per core).
async function estimatorInMemory(workers) {
  const run = { workers, used: null, times: [], report: null };
  for (let r = 0; r < repeats; r++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.route("**/estimator-bench.html", (route) =>
      route.fulfill({ contentType: "text/html", body: '<!doctype html><link rel="icon" href="data:,"><input type="file" id="f">' }));
    await page.goto(`http://127.0.0.1:${port}/estimator-bench.html`);
    await page.setInputFiles("#f", file);
    const out = await page.evaluate(async ({ workers, settings, wasmFile }) => {
      const wasm = await WebAssembly.compileStreaming(fetch(`/www/pkg/${wasmFile}`));
      const files = [document.getElementById("f").files[0]];
      const n = workers === "auto" ? navigator.hardwareConcurrency : Number(workers);
      const ws = Array.from({ length: n }, () => new Worker("/benches/estimator_worker.js", { type: "module" }));
      const ask = (w, message) => new Promise((resolve, reject) => {
        w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
        w.postMessage(message);
      });
      // The page starts at most 2 workers ahead and warms them up (www/app.js warmWorkers).
      await Promise.all(ws.map((w, part) => ask(w, { kind: "load", wasm, files, settings, part, parts: n, warm: part < 2 })));
      const t0 = performance.now();
      const shares = await Promise.all(ws.map((w) => ask(w, { kind: "run" })));
      const joined = await ask(ws[0], { kind: "combine", shares: shares.map((s) => s.numbers), files: shares[0].files });
      const ms = performance.now() - t0;
      for (const w of ws) w.terminate();
      return { ms, n, json: joined.json };
    }, { workers, settings: settingsOf(query), wasmFile: wasm === "simd" ? "infoplane_simd_bg.wasm" : "infoplane_bg.wasm" });
    run.times.push(out.ms / 1000);
    run.used = out.n;
    run.report = JSON.parse(out.json).report;
    await context.close();
  }
  return run;
}
console.log(JSON.stringify({ runs }));
