// all-MiniLM-L6-v2 run in the page (wasm in a Web Worker, Debian's Chromium, playwright-core) on
// the first 100 lines of the probe corpus (1 607 tokens), beside the CLI doing the same work
// natively. Prints a markdown table: where, threads, runs, tokens/s, other processes' load.
//
//   bash scripts/fetch_minilm.sh && bash scripts/build_web.sh && cargo build --release
//   (cd tests/browser && npm ci)
//   node benches/browser_forward.mjs [--model DIR] [--repeats 3]
//
// Page: served by `python3 -m http.server` from the repository on a free port, opened as
// index.html?max_sequences=100&orders=1; the model folder is picked with
// page.setInputFiles("#folder", DIR). The clock runs from the pick to the result
// (`section.dataset` shown): reading the 90 MB of weights through FileReaderSync, building the
// model, tokenising, the 100 forward passes and the estimator (orders 1, every hidden state:
// small beside the forward passes). A fresh browser context per run; the wasm module is compiled
// before the clock starts (the page loads it when it opens).
// CLI: `infoplane model DIR --max-sequences 100 --orders 1`, the same work natively (process start
// included). The page's exported JSON is compared with the CLI's, so both did the same work.
//
// The page is given a folder holding only config.json, model.safetensors and tokenizer.json (hard
// links to the model folder's files, or copies): the page takes a .txt among the picked files as
// the text to run on (vocab.txt and merges.txt excepted, since the fix this benchmark prompted);
// only the three files keep the run the same across versions.
//
// Load: for each part, the busy time of all CPUs from /proc/stat minus this script's process tree
// (node, the HTTP server, Chromium, the CLI), as a share of wall time x CPUs.

import { spawn, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "tests/browser/package.json"));
const { chromium } = require("playwright-core");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const model = path.resolve(arg("--model", path.join(targetDir, "minilm/model")));
const repeats = Number(arg("--repeats", "3"));
const cli = path.join(targetDir, "release/infoplane");
const TOKENS = JSON.parse(readFileSync(path.join(root, "tests/fixtures/models/minilm_reference.json"), "utf8"))
  .input_ids.flat().length;
const NCPU = cpus().length;
const CLK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

// The wasm must be at least as new as the sources.
const wasm = path.join(root, "www/pkg/infoplane_bg.wasm");
const newest = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
  const p = path.join(dir, e.name);
  return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
}, 0);
if (!existsSync(wasm) || statSync(wasm).mtimeMs < newest(path.join(root, "src"))) {
  console.error("www/pkg is older than src/: run bash scripts/build_web.sh first");
  process.exit(2);
}

const picked = path.join(mkdtempSync(path.join(tmpdir(), "infoplane-forward-")), "all-MiniLM-L6-v2");
mkdirSync(picked);
for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) {
  try { linkSync(path.join(model, f), path.join(picked, f)); } catch { copyFileSync(path.join(model, f), path.join(picked, f)); }
}

// CPU seconds: all CPUs busy, and this process tree's own.
function machineBusy() {
  const v = readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1, 9).map(Number);
  return (v.reduce((a, b) => a + b, 0) - v[3] - v[4]) / CLK;
}
function treeCpu(rootPid) {
  const children = new Map();
  const stat = new Map();
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      const ppid = Number(f[1]);
      stat.set(Number(p), (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch { /* gone */ }
  }
  let total = 0;
  const walk = (p) => {
    total += stat.get(p) || 0;
    for (const c of children.get(p) || []) walk(c);
  };
  walk(rootPid);
  return total;
}
async function withLoad(fn) {
  const loadavg = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  const [b0, o0, t0] = [machineBusy(), treeCpu(process.pid), performance.now()];
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const other = Math.max(0, (machineBusy() - b0) - (treeCpu(process.pid) - o0)) / (wall * NCPU);
  return { value, load: `${(100 * other).toFixed(0)} % (1-min load avg ${loadavg} at start)` };
}

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: root, stdio: "ignore" });
const url = `http://127.0.0.1:${port}/index.html?max_sequences=100&orders=1`;
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(url)).ok) break; } catch { /* not up yet */ }
  await new Promise((r) => setTimeout(r, 100));
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const version = browser.version();
try {
  const errors = [];
  let fromPage;
  const page = { walls: [] };
  const pageRun = await withLoad(async () => {
    for (let r = 0; r < repeats; r++) {
      const context = await browser.newContext({ acceptDownloads: true });
      const tab = await context.newPage();
      tab.on("pageerror", (e) => errors.push(String(e)));
      tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await tab.goto(url);
      await tab.waitForLoadState("networkidle");
      const t0 = performance.now();
      await tab.setInputFiles("#folder", picked);
      const section = tab.locator("section.dataset");
      await section.waitFor({ timeout: 1800_000 });
      page.walls.push((performance.now() - t0) / 1000);
      const text = await section.innerText();
      if (!/100 sequences/.test(text)) errors.push(`the page did not run 100 sequences: ${text.slice(0, 200)}`);
      if (r === 0) {
        const [download] = await Promise.all([tab.waitForEvent("download"), section.getByRole("button", { name: "Export JSON" }).click()]);
        fromPage = JSON.parse(readFileSync(await download.path(), "utf8"));
      }
      await context.close();
    }
  });
  let fromCli;
  const cliWalls = [];
  const cliRun = await withLoad(async () => {
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      fromCli = JSON.parse(execFileSync(cli, ["model", model, "--max-sequences", "100", "--orders", "1"], { encoding: "utf8", maxBuffer: 1 << 26 }));
      cliWalls.push((performance.now() - t0) / 1000);
    }
  });
  const strip = (r) => ({ ...r, input: { ...r.input, files: [], layout: "" } });
  const same = JSON.stringify(strip(fromPage)) === JSON.stringify(strip(fromCli));
  // On a difference, name the first few differing fields.
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
  const row = (where, walls, load) => {
    const best = Math.min(...walls);
    return `| ${where} | 1 | ${walls.map((w) => w.toFixed(2)).join(", ")} | ${best.toFixed(2)} | **${Math.round(TOKENS / best).toLocaleString("en-US")}** | ${load} |`;
  };
  console.log(`${new Date().toISOString().slice(0, 16)}, ${NCPU} CPUs, Chromium ${version}, ${TOKENS} tokens, ${model}`);
  console.log("");
  console.log("| where (pick or start → result; loading 90 MB, tokenising, 100 forward passes, estimator orders 1) | threads | runs (s) | best (s) | tokens/s | other processes' load during the runs |");
  console.log("| --- | ---: | --- | ---: | ---: | --- |");
  console.log(row(`page (Chromium ${version}, wasm32 in one Web Worker)`, page.walls, pageRun.load));
  console.log(row("CLI `infoplane model DIR --max-sequences 100 --orders 1` (native)", cliWalls, cliRun.load));
  console.log("");
  console.log(`page report equal to the CLI's: ${same ? "yes, every number" : `NO\n${diffs.join("\n")}`}`);
  if (errors.length) console.error("page errors:", errors);
  if (!same || errors.length) process.exitCode = 1;
} finally {
  await browser.close();
  server.kill();
  rmSync(path.dirname(picked), { recursive: true });
}
