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
  for (const workers of workerCounts) {
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
} finally {
  await browser.close();
  server.kill();
}
console.log(JSON.stringify({ runs }));
