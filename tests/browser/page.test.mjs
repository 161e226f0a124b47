// End-to-end tests of index.html in Debian's Chromium (playwright-core), the page served on
// 127.0.0.1 by python's http.server: drop fixture files, compare the exported JSON with the CLI's
// output for the same file, bad files, several files, responsiveness, and no console errors.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = path.join(root, "tests/fixtures");
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const cli = process.env.INFOPLANE_BIN || path.join(targetDir, "debug/infoplane");
const shots = path.join(root, "tests/browser/screenshots");
mkdirSync(shots, { recursive: true });

let server, browser, url;
const consoleErrors = [];

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: root, stdio: "ignore" });
  url = `http://127.0.0.1:${port}/index.html`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  assert.deepEqual(consoleErrors, [], "the page logged errors");
});

async function openPage(query = "") {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  // The page must work offline: every request goes to our own server.
  page.on("request", (r) => assert.ok(r.url().startsWith(url.replace(/index\.html$/, "")) || r.url().startsWith("blob:") || r.url().startsWith("data:"), `request outside the page: ${r.url()}`));
  await page.goto(url + query);
  return page;
}

function cliReport(file, args = []) {
  return JSON.parse(execFileSync(cli, ["analyze", file, ...args], { encoding: "utf8" }));
}

/// Every value equal, except the file names (the CLI sees paths, the page sees names).
function assertSameReport(pageReport, cliReportValue, what) {
  const strip = (r) => ({ ...r, input: { ...r.input, files: r.input.files.map((f) => path.basename(f)) } });
  assert.deepEqual(strip(pageReport), strip(cliReportValue), what);
}

async function exportJson(page, section) {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    section.getByRole("button", { name: "Export JSON" }).click(),
  ]);
  return JSON.parse(readFileSync(await download.path(), "utf8"));
}

test("a dropped dump gives the CLI's numbers, for every fixture dump", async () => {
  const page = await openPage();
  const dumps = ["golden/d8_bins100_seed1.npz", "golden/d768_bins100_seed0.npz", "formats/dump.safetensors",
    "formats/dump.pt", "formats/rows.npz", "golden/d64_bins100_seed42.npz"];
  for (const rel of dumps) {
    const file = path.join(fixtures, rel);
    await page.setInputFiles("#files", file);
    const section = page.locator("section.dataset", { hasText: path.basename(file) });
    await section.waitFor({ timeout: 60000 });
    const fromPage = await exportJson(page, section);
    assertSameReport(fromPage, cliReport(file), rel);
    assert.ok(await section.locator("figure.chart svg").count() >= 1, `${rel}: no chart`);
  }
  await page.screenshot({ path: path.join(shots, "results.png"), fullPage: true });
});

test("settings from the URL are used and shown", async () => {
  const page = await openPage("?bins=20&seed=3&orders=1,2&calibration=exact");
  const file = path.join(fixtures, "formats/dump.npz");
  await page.setInputFiles("#files", file);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  const fromPage = await exportJson(page, section);
  assertSameReport(fromPage, cliReport(file, ["--bins", "20", "--seed", "3", "--orders", "1,2", "--calibration", "exact"]), "URL settings");
  assert.equal(fromPage.settings.n_bins, 20);
});

test("a malformed file gets its one-line message and the other files are still analysed", async () => {
  const page = await openPage();
  const bad = path.join(fixtures, "malformed/torch_os_system.pt");
  const good = path.join(fixtures, "golden/d3_bins10_seed0.npz");
  await page.setInputFiles("#files", [bad, good]);
  await page.locator("section.dataset").waitFor({ timeout: 60000 });
  const message = await page.locator("#errors").innerText();
  assert.match(message, /torch_os_system\.pt: .*refused pickle global 'os\.system'/);
  assert.equal(await page.locator("section.dataset").count(), 1);
  await page.screenshot({ path: path.join(shots, "error.png"), fullPage: true });
});

test("per-layer files dropped together form one dataset", async () => {
  const page = await openPage();
  const dir = path.join(fixtures, "formats/per_layer");
  const files = ["layer_0.npy", "layer_1.npy", "layer_2.npy", "input_ids.npy", "seq_lens.npy"].map((f) => path.join(dir, f));
  await page.setInputFiles("#files", files);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  assert.equal(await section.count(), 1);
  const fromPage = await exportJson(page, section);
  assertSameReport(fromPage, JSON.parse(execFileSync(cli, ["analyze", ...files], { encoding: "utf8" })), "per-layer files");
});

test("several checkpoints give their trajectory on the information plane, ordered by step", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "infoplane-ckpt-"));
  const late = path.join(dir, "run-step2000.npz");
  const early = path.join(dir, "run-step100.npz");
  writeFileSync(late, readFileSync(path.join(fixtures, "formats/dump.npz")));
  writeFileSync(early, readFileSync(path.join(fixtures, "formats/dump_f16.npz")));
  const page = await openPage("?bins=20&orders=1,2");
  await page.setInputFiles("#files", [late, early]);
  const traj = page.locator("section.trajectory");
  await traj.waitFor({ timeout: 60000 });
  assert.equal(await page.locator("section.dataset:not(.trajectory)").count(), 2);
  assert.equal(await traj.locator("figure.chart svg").count(), 2);
  const desc = await traj.locator("figure.chart svg desc").first().textContent();
  assert.ok(desc.indexOf("run-step100.npz") < desc.indexOf("run-step2000.npz"), `not ordered by step: ${desc}`);
  // The plotted point is each checkpoint's layer mean, as its own export says.
  const section = page.locator("section.dataset", { hasText: "run-step2000.npz" }).last();
  const report = await exportJson(page, section);
  const title = await traj.locator("figure.chart svg title", { hasText: "run-step2000.npz" }).first().textContent();
  assert.ok(title.includes(report.mean.orders[0].complexity.toFixed(4)), `${title} vs ${report.mean.orders[0].complexity}`);
  await page.screenshot({ path: path.join(shots, "trajectory.png"), fullPage: true });
});

test("the main thread stays responsive during a large analysis", async () => {
  // 6 layers × 12 000 tokens × d = 768 float32 (221 MB), written here as one .npy per layer plus ids.
  const dir = mkdtempSync(path.join(tmpdir(), "infoplane-big-"));
  const layers = 6, T = 12000, d = 768;
  const files = [];
  for (let l = 0; l < layers; l++) {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${T}, ${d}), }`;
    const padded = header.padEnd(118, " ") + "\n";
    const data = new Float32Array(T * d);
    let x = 12345 + l;
    for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) % 2147483648; data[i] = x / 2147483648 - 0.5; }
    const buf = Buffer.concat([Buffer.from("\x93NUMPY\x01\x00", "latin1"), Buffer.from([padded.length, 0]), Buffer.from(padded), Buffer.from(data.buffer)]);
    const f = path.join(dir, `layer_${l}.npy`);
    writeFileSync(f, buf);
    files.push(f);
  }
  const ids = new BigInt64Array(T).map((_, i) => BigInt((i * 7919) % 5000));
  const idsHeader = `{'descr': '<i8', 'fortran_order': False, 'shape': (${T},), }`.padEnd(118, " ") + "\n";
  const idsFile = path.join(dir, "input_ids.npy");
  writeFileSync(idsFile, Buffer.concat([Buffer.from("\x93NUMPY\x01\x00", "latin1"), Buffer.from([idsHeader.length, 0]), Buffer.from(idsHeader), Buffer.from(ids.buffer)]));
  files.push(idsFile);

  const page = await openPage();
  await page.setInputFiles("#files", files);
  // While the workers compute, timers on the main thread must still fire on time.
  const worst = await page.evaluate(async () => {
    let worst = 0;
    const until = performance.now() + 3000;
    while (performance.now() < until && !document.querySelector("section.dataset")) {
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 0));
      worst = Math.max(worst, performance.now() - t0);
    }
    return worst;
  });
  assert.ok(worst < 100, `the main thread was blocked for ${worst} ms`);
  await page.locator("section.dataset").waitFor({ timeout: 300000 });
  const status = await page.locator("#status").innerText();
  assert.match(status, /1 dataset analysed/);
});
