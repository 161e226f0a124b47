// A 2 GB dump analysed in the page, in Debian's Chromium: wall time, throughput, and the peak
// resident memory of the browser's processes (sampled from /proc every 200 ms), beside the CLI's
// numbers for the same file. Prints a markdown table row for BENCHMARKS.md.
//
//   scripts/build_web.sh && cargo build --release && (cd tests/browser && npm ci)
//   node benches/browser_large_dump.mjs [--dir DIR] [--tokens 19000] [--wasm plain|simd]
//                                       [--workers 1,auto] [--shuffles K]
//
// Without --wasm it runs the page with the plain and with the simd128 build of the wasm core
// (index.html?wasm=...); for each, once per entry of --workers: `auto` is the page's own choice
// (one worker per core, each analysing a share of the layers), a number fixes it (?workers=N).
// One row per run. --shuffles sets the shuffled copies of every label set in the page and the CLI
// alike (default: their default, 5, so 36 label sets; 0 gives the 6 label sets of orders 1-3
// that the estimator benchmark uses).
//
// The dump comes from benches/large_dump.py --write-only (13 layers x T tokens x d = 2048,
// float32, stored npz); T = 19 000 gives 2.02 GB.

import { spawn, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "tests/browser/package.json"));
const { chromium } = require("playwright-core");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const dir = arg("--dir", null) || mkdtempSync(path.join(tmpdir(), "infoplane-browser-large-"));
const tokens = arg("--tokens", "19000");
const builds = arg("--wasm", null) ? [arg("--wasm", null)] : ["plain", "simd"];
const workerCounts = arg("--workers", "1,auto").split(",");
const shuffles = arg("--shuffles", null);
const cli = path.join(process.env.CARGO_TARGET_DIR || path.join(root, "target"), "release/infoplane");

const dump = path.join(dir, "large.npz");
if (!existsSync(dump)) {
  execFileSync("python3", [path.join(root, "benches/large_dump.py"), "--dir", dir, "--tokens", tokens, "--write-only"], { stdio: "inherit" });
}
const size = Number(execFileSync("stat", ["-c", "%s", dump], { encoding: "utf8" }));

// Resident memory of a process tree, from /proc (kB).
function treeRss(pid) {
  const children = new Map();
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch { /* gone */ }
  }
  let total = 0, largest = 0, largestType = "";
  const walk = (p) => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] || 0);
      total += kb;
      if (kb > largest) {
        largest = kb;
        largestType = /--type=([\w-]+)/.exec(readFileSync(`/proc/${p}/cmdline`, "utf8"))?.[1] || "browser";
      }
    } catch { /* gone */ }
    for (const c of children.get(p) || []) walk(c);
  };
  walk(pid);
  return { total, largest, largestType };
}

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: root, stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1000));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const browserPid = browser._connection?._transport?._process?.pid ?? null;
const rows = [];
let failed = false;
try {
  for (const build of builds) for (const workers of workerCounts) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`http://127.0.0.1:${port}/index.html?wasm=${build}` + (workers === "auto" ? "" : `&workers=${workers}`) + (shuffles === null ? "" : `&shuffles=${shuffles}`));
  const chromePid = browserPid ?? Number(execFileSync("pgrep", ["-o", "chromium"], { encoding: "utf8" }).trim());
  const peak = { total: 0, largest: 0, largestType: "" };
  const sampler = setInterval(() => {
    const now = treeRss(chromePid);
    peak.total = Math.max(peak.total, now.total);
    if (now.largest > peak.largest) Object.assign(peak, { largest: now.largest, largestType: now.largestType });
  }, 200);
  const idle = treeRss(chromePid);
  const t0 = Date.now();
  await page.setInputFiles("#files", dump);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 3600_000 });
  const wall = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const wasmMemory = Number(await page.evaluate(() => document.body.dataset.wasmMemory));
  const used = Number(await page.evaluate(() => document.body.dataset.workers));
  const [download] = await Promise.all([page.waitForEvent("download"), section.getByRole("button", { name: "Export JSON" }).click()]);
  const fromPage = JSON.parse(readFileSync(await download.path(), "utf8"));
  await context.close();
  rows.push(`| page (Chromium, ${used} worker${used > 1 ? "s" : ""}${workers === "auto" ? " (its choice)" : ""}, ${build} wasm) | ${(size / 1e9).toFixed(2)} GB | 13 x ${tokens} x 2048 | ${wall.toFixed(1)} s | ${(size / 1e9 / wall).toFixed(3)} GB/s | all processes ${(peak.total / 1024).toFixed(0)} MiB (idle ${(idle.total / 1024).toFixed(0)} MiB), largest process (${peak.largestType}) ${(peak.largest / 1024).toFixed(0)} MiB, wasm memory ${(wasmMemory / 2 ** 20).toFixed(0)} MiB (all workers) |`);
  rows.push({ build: `${build}, ${used} worker(s)`, fromPage, errors });
  }
  const cliThreads = execFileSync("nproc", { encoding: "utf8" }).trim();
  const c0 = Date.now();
  const fromCli = JSON.parse(execFileSync(cli, ["analyze", dump, ...(shuffles === null ? [] : ["--shuffles", shuffles])], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const cliWall = (Date.now() - c0) / 1000;
  fromCli.input.files = fromCli.input.files.map((f) => path.basename(f));
  const copies = shuffles === null ? 5 : Number(shuffles);
  console.log(`${6 * (1 + copies)} label sets: orders 1-3 of the inputs and of the outputs, and ${copies} shuffled copies of each`);
  console.log("| where | size | layers x tokens x d | wall time | throughput | peak RSS |");
  console.log("|---|---|---|---|---|---|");
  for (const row of rows.filter((r) => typeof r === "string")) console.log(row);
  console.log(`| CLI, same file (${cliThreads} threads, its default) | ${(size / 1e9).toFixed(2)} GB | 13 x ${tokens} x 2048 | ${cliWall.toFixed(1)} s | ${(size / 1e9 / cliWall).toFixed(3)} GB/s | see large_dump.py |`);
  for (const { build, fromPage, errors } of rows.filter((r) => typeof r !== "string")) {
    const same = JSON.stringify(fromPage) === JSON.stringify(fromCli);
    if (errors.length) console.error(`page errors (${build}):`, errors);
    console.log(`page report (${build} wasm) equal to the CLI's: ${same ? "yes, every number" : "NO"}`);
    failed ||= !same || errors.length > 0;
  }
  if (failed) process.exitCode = 1;
} finally {
  await browser.close();
  server.kill();
}
