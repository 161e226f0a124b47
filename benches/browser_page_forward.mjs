// infoplane's page (wasm32 + simd128 in 1 and in 2 Web Workers, Debian's Chromium, playwright-core) on
// the forward-pass benchmark's models and token ids (target/forward_bench, made by
// benches/export_onnx.py): the figure the done-when of the forward-pass issue compares with
// onnxruntime-web (benches/browser_onnx.mjs). Part of benches/forward_harness.py, which runs it;
// it also runs alone.
//
//   /tmp/torchvenv/bin/python benches/export_onnx.py
//   bash scripts/build_web.sh && cargo build --release && (cd tests/browser && npm ci)
//   node benches/browser_page_forward.mjs [--models minilm,pythia70m_random] [--workers 1,2] [--repeats 3] [--json OUT] [--stale-ok]
//
// The page, served from the repository by a static server on 127.0.0.1, opened as
//   index.html?max_sequences=200&max_length=64&orders=1&layers=<last>&shuffles=0&wasm=simd&workers=N
// and given the model folder with page.setInputFiles("#folder", ...): a temporary folder of hard
// links to config.json, model.safetensors and tokenizer.json, plus, for the random NeoX model,
// pythia70m_random.txt (the page runs the model on a .txt picked with the folder; without one,
// on the built-in probe corpus, which is what MiniLM's ids come from). The page's own URL
// parameters give the 200 sequences cut to 64 tokens (none of MiniLM's first 200 lines is
// longer). The estimator is kept to almost nothing (the last hidden state only, unigram labels,
// no shuffled copies): the model still computes every hidden state.
//
// Two figures per run, a fresh browser context each, --repeats runs, for each --workers count N
// (the page runs a model's forward passes in N workers, www/app.js runModel):
//   forward: an init script notes when the page posts its model messages to the workers. From
//            the first forward pass asked for (the first worker has loaded the model; the others
//            load theirs meanwhile) to the report asked for (every pass's states taken by the
//            first worker): all 200 forward passes, plus the estimator's accumulation (one
//            hidden state, small beside the 6 blocks); tokens/s = all tokens / that time. This
//            is the page's forward-pass rate, comparable with onnxruntime-web's passes.
//   pick → result: from setInputFiles to the result section shown, end to end: reading the
//            weights through FileReaderSync, building the model, tokenising, the 200 forward
//            passes, the estimator and rendering.
// Checks: the page's "Export tokens" ids equal ids.json's, and its "Export JSON" report equals
// the CLI's `infoplane model DIR [--text T] --max-sequences 200 --max-length 64 --orders 1
// --layers <last> --shuffles 0` (so the page did the CLI's work, bit for bit).
// Load: as the other bench scripts (busy CPU from /proc/stat minus this script's process tree).

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { arg, benchIds, fmt, launchChromium, NCPU, offlineContext, root, serve, targetDir, withLoad } from "./bench_util.mjs";

const models = arg("--models", "minilm,pythia70m_random").split(",");
const repeats = Number(arg("--repeats", "3"));
const workerCounts = arg("--workers", "1,2").split(",").map(Number);
const jsonOut = arg("--json", null);
const cli = path.join(targetDir, "release/infoplane");
const ids = benchIds();

// The wasm must be at least as new as the sources.
const wasm = path.join(root, "www/pkg/infoplane_simd_bg.wasm");
const newest = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
  const p = path.join(dir, e.name);
  return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
}, 0);
// --stale-ok (someone is editing src/ meanwhile) only warns; the page-vs-CLI check still runs.
if (!existsSync(wasm)) {
  console.error("www/pkg has no build: run bash scripts/build_web.sh first");
  process.exit(2);
}
if (statSync(wasm).mtimeMs < newest(path.join(root, "src"))) {
  if (!process.argv.includes("--stale-ok")) {
    console.error("www/pkg is older than src/: run bash scripts/build_web.sh first (or pass --stale-ok)");
    process.exit(2);
  }
  console.error("warning: www/pkg is older than src/ (--stale-ok)");
}

// Notes when the page hands each model message to a worker (www/app.js runModel): the first
// forward pass asked for, and the report asked for once every pass is taken.
const INIT = `(() => {
  const post = Worker.prototype.postMessage;
  window.__posted = [];
  Worker.prototype.postMessage = function (message, ...rest) {
    if (message && typeof message.kind === "string" && message.kind.startsWith("model-")) window.__posted.push([performance.now(), message.kind]);
    return post.call(this, message, ...rest);
  };
})();`;

const server = await serve({ mounts: { "/": root } });
const browser = await launchChromium();
const version = browser.version();
const refused = [];
const errors = [];
const rows = [];
const checks = [];
const tmp = mkdtempSync(path.join(tmpdir(), "infoplane-page-forward-"));
try {
  for (const model of models) {
    const set = ids[model];
    if (!set) throw new Error(`ids.json has no model ${model}`);
    const dir = path.join(root, set.model_dir);
    const picked = path.join(tmp, model);
    mkdirSync(picked);
    const files = ["config.json", "model.safetensors", "tokenizer.json"].map((f) => path.join(dir, f));
    if (set.text_file) files.push(path.join(root, set.text_file));
    for (const f of files) {
      const to = path.join(picked, path.basename(f));
      try { linkSync(f, to); } catch { copyFileSync(f, to); }
    }
    const last = set.hidden_states - 1;
    const cuts = set.infoplane_args.map((a) => (a === set.text_file ? path.join(root, a) : a));
    const cliArgs = ["model", dir, ...cuts, "--orders", "1", "--layers", String(last), "--shuffles", "0"];
    // The same work natively, for the equality check (not timed here: forward_harness.py times the CLI).
    const fromCli = JSON.parse(execFileSync(cli, cliArgs, { encoding: "utf8", maxBuffer: 1 << 26 }));
    for (const workers of workerCounts) {
      const query = `${set.page_query}&orders=1&layers=${last}&shuffles=0&wasm=simd&workers=${workers}`;
      const url = `http://127.0.0.1:${server.port}/index.html?${query}`;
      const runs = [];
      let fromPage, pageIds;
      const { load, other } = await withLoad(async () => {
        for (let r = 0; r < repeats; r++) {
          const context = await offlineContext(browser, refused, { acceptDownloads: true });
          await context.addInitScript(INIT);
          const tab = await context.newPage();
          tab.on("pageerror", (e) => errors.push(`${model}: ${e}`));
          tab.on("console", (m) => { if (m.type() === "error") errors.push(`${model}: ${m.text()}`); });
          await tab.goto(url);
          await tab.waitForLoadState("networkidle");
          const t0 = performance.now();
          await tab.setInputFiles("#folder", picked);
          const section = tab.locator("section.dataset");
          await section.waitFor({ timeout: 1800_000 });
          const pick = (performance.now() - t0) / 1000;
          const posted = await tab.evaluate(() => window.__posted);
          const started = Number(await tab.evaluate(() => document.body.dataset.workers));
          if (started !== workers) errors.push(`${model}: asked for ${workers} workers, the page started ${started}`);
          const text = await section.innerText();
          if (!text.includes(`${set.sequences} sequences, ${set.tokens} tokens`)) {
            errors.push(`${model}: the page did not run ${set.sequences} sequences of ${set.tokens} tokens: ${text.slice(0, 300)}`);
          }
          if (r === 0) {
            const save = async (name) => {
              const [d] = await Promise.all([tab.waitForEvent("download"), section.getByRole("button", { name }).click()]);
              return JSON.parse(readFileSync(await d.path(), "utf8"));
            };
            fromPage = await save("Export JSON");
            pageIds = (await save("Export tokens")).input_ids;
          }
          await context.close();
          const first = posted.find(([, kind]) => kind === "model-forward");
          const end = posted.find(([, kind]) => kind === "model-finish");
          if (!first || !end) throw new Error(`${model}: the page asked for no forward pass or no report (${posted.length} messages)`);
          const forward = (end[0] - first[0]) / 1000;
          runs.push({ pick, forward });
          console.error(`${model}, ${workers} worker(s), run ${r + 1}: pick → result ${pick.toFixed(2)} s; ` +
            `${set.sequences} sequences (${set.tokens} tokens) in ${forward.toFixed(3)} s`);
        }
      });
      const strip = (r) => ({ ...r, input: { ...r.input, files: [], layout: "", text: "" } });
      const same = JSON.stringify(strip(fromPage)) === JSON.stringify(strip(fromCli));
      const diffs = [];
      const walk = (a, b, at) => {
        if (diffs.length >= 5) return;
        if (a && b && typeof a === "object" && typeof b === "object") {
          for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], `${at}.${k}`);
        } else if (JSON.stringify(a) !== JSON.stringify(b)) {
          diffs.push(`${at}: page ${JSON.stringify(a)?.slice(0, 80)}, CLI ${JSON.stringify(b)?.slice(0, 80)}`);
        }
      };
      if (!same) walk(strip(fromPage), strip(fromCli), "report");
      const sameIds = JSON.stringify(pageIds) === JSON.stringify(set.input_ids);
      checks.push({ model, workers, same_report_as_cli: same, diffs, same_ids: sameIds, cli: ["infoplane", ...cliArgs.map((a) => (a.startsWith(root) ? path.relative(root, a) : a))].join(" ") });
      const bestForward = Math.min(...runs.map((r) => r.forward));
      const bestPick = Math.min(...runs.map((r) => r.pick));
      const common = { where: `Chromium ${version}`, model, threads: workers, mode: "batches of <= 64 tokens, no padding", tokens: set.tokens, load, other_load: other };
      const inWorkers = workers === 1 ? "one Web Worker" : `${workers} Web Workers`;
      rows.push({
        ...common, implementation: `infoplane page, wasm32 simd128 in ${inWorkers}, forward passes (first pass asked → report asked)`,
        walls: runs.map((r) => r.forward), best: bestForward, tokens_counted: set.tokens, tokens_per_s: set.tokens / bestForward,
      });
      rows.push({
        ...common, implementation: `infoplane page in ${inWorkers}, pick → result end to end (load weights, tokenise, forward, estimator)`,
        walls: runs.map((r) => r.pick), best: bestPick, tokens_counted: set.tokens, tokens_per_s: set.tokens / bestPick,
      });
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(tmp, { recursive: true });
}

console.log(`${new Date().toISOString().slice(0, 16)}, ${NCPU} CPUs, Chromium ${version}, infoplane page`);
console.log("");
console.log("| model | implementation | workers | runs (s) | best (s) | tokens/s | other processes' load |");
console.log("| --- | --- | ---: | --- | ---: | ---: | --- |");
for (const r of rows) {
  console.log(`| ${r.model} (${r.tokens_counted} tokens) | ${r.implementation} in ${r.where} | ${r.threads} | ${r.walls.map((w) => w.toFixed(3)).join(", ")} | ` +
    `${r.best.toFixed(3)} | **${fmt(r.tokens_per_s)}** | ${r.load} |`);
}
console.log("");
for (const c of checks) {
  console.log(`${c.model}, ${c.workers} worker(s): page ids equal ids.json: ${c.same_ids ? "yes" : "NO"}; page report equal to \`${c.cli}\`: ` +
    `${c.same_report_as_cli ? "yes, every number" : `NO\n${c.diffs.join("\n")}`}`);
}
if (refused.length) console.log(`\nrequests refused (not 127.0.0.1): ${refused.length}, e.g. ${refused[0]}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ chromium: version, rows, checks, refused, errors }, null, 1));
if (errors.length) console.error("page errors:", errors);
if (errors.length || refused.length || checks.some((c) => !c.same_ids || !c.same_report_as_cli)) process.exitCode = 1;
