// End-to-end tests of the page in Debian's Chromium (playwright-core), served on 127.0.0.1 by the
// README's run command (scripts/run.sh), and of the single-file build opened from file://: drop
// fixture files, compare the exported JSON with the CLI's output for the same file, the sample, bad
// files, several files, settings, overrides, PNG export, progress, cancel, responsiveness, and no
// console errors.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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
  // The page as the README's run command serves it (it builds first; the build is cached by now).
  server = spawn("bash", ["scripts/run.sh"], { cwd: root, stdio: "ignore", env: { ...process.env, PORT: String(port), DISPLAY: "" } });
  url = `http://127.0.0.1:${port}/index.html`;
  for (let i = 0; i < 6000; i++) {
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

async function openPage(query = "", pageUrl = url) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  // The page must work offline: every request goes to its own files.
  const own = pageUrl.replace(/[^/]*$/, "");
  page.on("request", (r) => assert.ok(r.url().startsWith(own) || r.url().startsWith("blob:") || r.url().startsWith("data:"), `request outside the page: ${r.url()}`));
  await page.goto(pageUrl + query);
  return page;
}

const singleFile = path.join(root, "dist/infoplane.html");

function cliReport(file, args = []) {
  return JSON.parse(execFileSync(cli, ["analyze", file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
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

// Every fixture dump that is a dataset on its own, with the settings its golden case was made for.
function fixtureDumps() {
  const list = [];
  for (const f of readdirSync(path.join(fixtures, "golden")).filter((f) => f.endsWith(".npz")).sort()) {
    const spec = JSON.parse(readFileSync(path.join(fixtures, "golden", f.replace(/\.npz$/, ".json")), "utf8"));
    list.push([`golden/${f}`, ["--bins", String(spec.n_bins), "--seed", String(spec.seed), "--orders", spec.orders.join(",")]]);
  }
  for (const dir of ["formats", "safetensors", "torch"]) {
    for (const f of readdirSync(path.join(fixtures, dir)).sort()) {
      if (/\.(npz|pt|safetensors)$/.test(f)) list.push([`${dir}/${f}`, []]);
    }
  }
  return list;
}

test("a dropped dump gives the CLI's numbers (or its message), for every fixture dump", async () => {
  let page = null, lastQuery = null, compared = 0, refused = 0;
  const readers = {};
  for (const [rel, args] of fixtureDumps()) {
    const file = path.join(fixtures, rel);
    const query = args.length ? `?bins=${args[1]}&seed=${args[3]}&orders=${args[5]}` : "";
    if (query !== lastQuery) {
      await page?.context().close();
      page = await openPage(query);
      lastQuery = query;
    }
    await page.locator("#status").evaluate((e) => { e.textContent = ""; });
    await page.setInputFiles("#files", file);
    await page.locator("#status", { hasText: /analysed in/ }).waitFor({ timeout: 60000 });
    let expected = null, message = null;
    try {
      expected = cliReport(file, args);
    } catch (e) {
      message = String(e.stderr).trim().replace(/^infoplane: /, "").replaceAll(file, path.basename(file));
    }
    if (expected) {
      const section = page.locator("section.dataset", { hasText: path.basename(file) });
      assertSameReport(await exportJson(page, section), expected, rel);
      assert.ok(await section.locator("figure.chart svg").count() >= 1, `${rel}: no chart`);
      compared++;
      // Rows stored as plain bytes are read ahead by a reader worker; deflated npz members and
      // torch storages by the analysing worker itself. Both give the CLI's numbers.
      const reading = await page.evaluate(() => document.body.dataset.reading);
      readers[reading] = (readers[reading] || 0) + 1;
      if (/\.safetensors$/.test(rel) || rel === "formats/dump.npz") assert.equal(reading, "ahead", rel);
      if (/\.pt$/.test(rel) || rel === "formats/dump_compressed.npz") assert.equal(reading, "here", rel);
    } else {
      assert.equal(await page.locator("#errors").innerText(), message, `${rel}: the page's message`);
      refused++;
    }
  }
  assert.ok(compared >= 30, `only ${compared} dumps compared (${refused} refused)`);
  console.log(`# ${compared} fixture dumps equal to the CLI's report, ${refused} refused with the CLI's message; rows read ${JSON.stringify(readers)}`);
  assert.ok(readers.ahead >= 10 && readers.here >= 5, JSON.stringify(readers));
  await page.screenshot({ path: path.join(shots, "results.png"), fullPage: true });
  await page.context().close();
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
  const title = await traj.locator("figure.chart svg .point title", { hasText: "run-step2000.npz" }).first().textContent();
  assert.ok(title.includes(report.mean.orders[0].complexity.toFixed(4)), `${title} vs ${report.mean.orders[0].complexity}`);
  // Each checkpoint's shuffled-label baseline (its layer mean) is a hollow point beside it.
  const ghost = await traj.locator("figure.chart svg .baseline-point title", { hasText: "run-step2000.npz" }).first().textContent();
  const m = report.mean.orders[0];
  assert.ok(ghost.includes(`I(X;Z) = ${m.complexity_baseline.toFixed(4)}, I(Y;Z) = ${m.expressivity_baseline.toFixed(4)}`), ghost);
  await page.screenshot({ path: path.join(shots, "trajectory.png"), fullPage: true });
});

test("the main thread stays responsive during a large analysis", async () => {
  const files = bigDump();
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
  assert.equal(await page.evaluate(() => document.body.dataset.reading), "ahead");
  const status = await page.locator("#status").innerText();
  assert.match(status, /1 dataset analysed/);
});

// A version 1.0 .npy of `data` (a typed array) with numpy dtype `descr` and `shape`.
function npyFile(descr, shape, data) {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`.padEnd(118, " ") + "\n";
  return Buffer.concat([Buffer.from("\x93NUMPY\x01\x00", "latin1"), Buffer.from([header.length, 0]), Buffer.from(header), Buffer.from(data.buffer)]);
}

// 6 layers × 12 000 tokens × d = 768 float32 (221 MB), written once as one .npy per layer plus ids.
let bigFiles = null;
function bigDump() {
  if (bigFiles) return bigFiles;
  const dir = mkdtempSync(path.join(tmpdir(), "infoplane-big-"));
  const layers = 6, T = 12000, d = 768;
  bigFiles = [];
  for (let l = 0; l < layers; l++) {
    const data = new Float32Array(T * d);
    let x = 12345 + l;
    for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) % 2147483648; data[i] = x / 2147483648 - 0.5; }
    const f = path.join(dir, `layer_${l}.npy`);
    writeFileSync(f, npyFile("<f4", [T, d], data));
    bigFiles.push(f);
  }
  const idsFile = path.join(dir, "input_ids.npy");
  writeFileSync(idsFile, npyFile("<i8", [T], new BigInt64Array(T).map((_, i) => BigInt((i * 7919) % 5000))));
  bigFiles.push(idsFile);
  return bigFiles;
}

test("the run command's page shows the built-in sample (?sample), with the CLI's numbers", async () => {
  const page = await openPage("?sample");
  const section = page.locator("section.dataset", { hasText: "minilm_sample.npz" });
  await section.waitFor({ timeout: 60000 });
  const report = await exportJson(page, section);
  assertSameReport(report, cliReport(path.join(root, "www/sample/minilm_sample.npz")), "sample");
  // Most trigrams of a 560-token sample are unique: the page shows the report's notes, which say
  // how much of each I shuffled labels of the same counts give.
  const warning = await section.locator(".warning").innerText();
  assert.ok(report.notes.length >= 6, JSON.stringify(report.notes));
  for (const note of report.notes) assert.ok(warning.includes(note.replace(/_/g, " ")), `${note} not in ${warning}`);
  assert.match(warning, /input trigram: labels with the same counts but shuffled give .* most of this I is the rare-label bias/);
  await page.screenshot({ path: path.join(shots, "sample.png"), fullPage: true });
  // The top of the page (the README's docs/screenshot.png is taken from this one).
  await page.screenshot({ path: path.join(shots, "sample_top.png"), clip: { x: 0, y: 0, width: 1280, height: 1500 }, fullPage: true });
});

test("the simd128 and the plain wasm builds give the same report, bit for bit; Chromium gets simd128", async () => {
  const reports = {};
  for (const build of ["", "plain", "simd"]) {
    const page = await openPage(build ? `?sample&wasm=${build}` : "?sample");
    const section = page.locator("section.dataset", { hasText: "minilm_sample.npz" });
    await section.waitFor({ timeout: 60000 });
    const chosen = await page.evaluate(() => document.body.dataset.wasmBuild);
    assert.equal(chosen, build || "simd", `?wasm=${build}`);
    reports[build || "default"] = await exportJson(page, section);
    await page.context().close();
  }
  assert.deepEqual(reports.plain, reports.simd, "plain vs simd128");
  assert.deepEqual(reports.default, reports.simd);
  assertSameReport(reports.plain, cliReport(path.join(root, "www/sample/minilm_sample.npz")), "plain build vs CLI");
});

test("several workers per dataset give one worker's report bit for bit, and the CLI's", async () => {
  // 221 MB: large enough that the page shares its layers out over the cores by itself.
  const files = bigDump();
  const runs = {};
  for (const workers of ["", "1"]) {
    const page = await openPage(workers ? `?workers=${workers}` : "");
    await page.setInputFiles("#files", files);
    const section = page.locator("section.dataset");
    await section.waitFor({ timeout: 300000 });
    runs[workers || "default"] = {
      report: await exportJson(page, section),
      workers: await page.evaluate(() => document.body.dataset.workers),
      cores: await page.evaluate(() => navigator.hardwareConcurrency),
    };
    await page.context().close();
  }
  assert.equal(runs.default.workers, String(runs.default.cores), "one worker per core by default");
  assert.equal(runs["1"].workers, "1");
  assert.deepEqual(runs.default.report, runs["1"].report, `${runs.default.workers} workers vs 1`);
  const whole = JSON.parse(execFileSync(cli, ["analyze", ...files], { encoding: "utf8", maxBuffer: 1 << 26 }));
  assertSameReport(runs.default.report, whole, "workers vs CLI");

  // Small dumps with the workers forced: more workers than layers (those beyond get empty shares,
  // and the page counts the workers that had layers), centring,
  // seeds and shuffled baselines, and a layer of NaN rows only (its numbers are NaN, which must
  // survive the trip between workers).
  const dir = mkdtempSync(path.join(tmpdir(), "infoplane-nan-"));
  const T = 40, d = 16;
  const nanFiles = [0, 1, 2].map((l) => {
    const data = new Float32Array(T * d).map((_, i) => (l === 1 ? NaN : Math.sin(i * (l + 1.7))));
    const f = path.join(dir, `layer_${l}.npy`);
    writeFileSync(f, npyFile("<f4", [T, d], data));
    return f;
  });
  const ids = path.join(dir, "input_ids.npy");
  writeFileSync(ids, npyFile("<i8", [T], new BigInt64Array(T).map((_, i) => BigInt(i % 7))));
  nanFiles.push(ids);
  const dump = path.join(fixtures, "formats/dump.npz");
  for (const [query, input, args] of [
    ["?workers=3&shuffles=2&seeds=2&centre=1", [dump], ["--shuffles", "2", "--seeds", "2", "--centre"]],
    ["?workers=7", [dump], []],
    ["?workers=2", nanFiles, []],
  ]) {
    const page = await openPage(query);
    await page.setInputFiles("#files", input);
    const section = page.locator("section.dataset");
    await section.waitFor({ timeout: 60000 });
    const fromPage = await exportJson(page, section);
    const asked = Number(query.match(/workers=(\d+)/)[1]);
    assert.equal(Number(await page.evaluate(() => document.body.dataset.workers)), Math.min(asked, fromPage.layers.length), `${query}: workers with layers`);
    const expected = JSON.parse(execFileSync(cli, ["analyze", ...input, ...args], { encoding: "utf8" }));
    assertSameReport(fromPage, expected, query);
    await page.context().close();
  }
  rmSync(dir, { recursive: true });
});

test("the single-file build works from file://: a dropped file, the sample, PNG export", async () => {
  assert.ok(existsSync(singleFile), "dist/infoplane.html is missing: run scripts/build_web.sh");
  const page = await openPage("", pathToFileURL(singleFile).href);
  const file = path.join(fixtures, "golden/d8_bins100_seed1.npz");
  await page.setInputFiles("#files", file);
  let section = page.locator("section.dataset", { hasText: "d8_bins100_seed1.npz" });
  await section.waitFor({ timeout: 60000 });
  assertSameReport(await exportJson(page, section), cliReport(file), "single file, dropped dump");
  await page.getByRole("button", { name: "Try the sample" }).click();
  section = page.locator("section.dataset", { hasText: "minilm_sample.npz" });
  await section.waitFor({ timeout: 60000 });
  assertSameReport(await exportJson(page, section), cliReport(path.join(root, "www/sample/minilm_sample.npz")), "single file, sample");
  // The sample's rows are stored as plain bytes: the reader worker starts from the blob: worker of
  // a file:// page too.
  assert.equal(await page.evaluate(() => document.body.dataset.reading), "ahead");
  // PNG export: a real PNG at twice the chart's size.
  const fig = section.locator("figure.chart").first();
  const width = Number(await fig.locator("svg").getAttribute("width"));
  const [download] = await Promise.all([page.waitForEvent("download"), fig.getByRole("button", { name: /\.png$/ }).click()]);
  const png = readFileSync(await download.path());
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
  assert.equal(png.readUInt32BE(16), 2 * width, "PNG width");
  await page.screenshot({ path: path.join(shots, "single_file.png"), fullPage: true });
  // "What the numbers mean" is inlined too: the link opens it (a blob) at the section named.
  const link = section.locator("th a").first();
  const fragment = new URL(await link.getAttribute("href")).hash;
  assert.match(await link.getAttribute("href"), /^blob:/);
  const [meaning] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
  await meaning.waitForLoadState();
  assert.equal(await meaning.locator("h1").innerText(), "What the numbers mean");
  assert.equal(await meaning.locator(`section${fragment} h2`).count(), 1, fragment);
  await meaning.close();
});

test("excluding the first position and choosing the ids by hand give the CLI's numbers", async () => {
  const file = path.join(fixtures, "golden/d3_bins10_seed0.npz");
  // exclude_first=1 is what the old checkbox wrote: N = 1.
  const page = await openPage("?orders=1&exclude_first=1");
  assert.equal(await page.locator("input[name=exclude_first]").inputValue(), "1");
  await page.setInputFiles("#files", file);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  const excluded = await exportJson(page, section);
  assert.equal(excluded.settings.exclude_first_positions, 1);
  assertSameReport(excluded, cliReport(file, ["--orders", "1", "--exclude-first"]), "exclude first");
  // Override the detected token ids: plain rows, as the CLI's `--ids none`.
  const plain = await openPage("?orders=1");
  await plain.setInputFiles("#files", file);
  const again = plain.locator("section.dataset");
  await again.waitFor({ timeout: 60000 });
  await again.locator("details.detected summary").click();
  await again.locator("select[name=ids]").selectOption("none");
  await plain.locator("#status", { hasText: "Analysed again" }).waitFor({ timeout: 60000 });
  const rows = await exportJson(plain, plain.locator("section.dataset"));
  assert.equal(rows.input.sequences, 0);
  assertSameReport(rows, cliReport(file, ["--orders", "1", "--ids", "none"]), "ids overridden");
});

test("baselines, seeds, minimum count, back-off, centring and excluded positions from the URL give the CLI's numbers", async () => {
  const file = path.join(fixtures, "formats/dump.npz");
  const page = await openPage("?shuffles=3&seeds=2&min_count=2&backoff=2&centre=1&exclude_first=2");
  const value = (name) => page.locator(`input[name=${name}]`).inputValue();
  assert.deepEqual([await value("shuffles"), await value("seeds"), await value("min_count"), await value("backoff"), await value("exclude_first")], ["3", "2", "2", "2", "2"]);
  assert.equal(await page.locator("input[name=centre]").isChecked(), true);
  await page.setInputFiles("#files", file);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  const fromPage = await exportJson(page, section);
  assertSameReport(fromPage, cliReport(file, ["--shuffles", "3", "--seeds", "2", "--min-count", "2", "--backoff", "2", "--centre", "--exclude-first", "2"]), "numbers you can trust");
  assert.equal(fromPage.schema, 3);
  assert.ok(fromPage.layers[0].backoff, "no back-off in the report");
  // The table: mean ± sd over the seeds, the corrected values with their baseline, the back-off.
  const table = section.locator("table").first();
  const text = await table.innerText();
  const l = fromPage.layers[1], o = l.orders[0];
  assert.ok(text.includes(`${o.complexity.toFixed(4)} ± ${o.complexity_sd.toFixed(4)}`), "no complexity ± sd in the table");
  assert.ok(text.includes(`${l.ceiling.toFixed(4)} ± ${l.ceiling_sd.toFixed(4)}`), "no ceiling ± sd in the table");
  assert.match(text, /I\(in\) − b/);
  assert.match(text, /back-off/);
  const baseline = `b = ${o.input.baseline.mean.toFixed(4)} ± ${o.input.baseline.sd.toFixed(4)}`;
  const cell = table.locator("td.corrected", { hasText: o.complexity_corrected.toFixed(4) }).first();
  assert.ok((await cell.getAttribute("title")).startsWith(baseline), `no baseline "${baseline}" on the corrected cell`);
  // The baseline is also in the cell's text for screen readers (visually hidden, not a title).
  assert.ok((await cell.locator(".visually-hidden").textContent()).includes(baseline), "no hidden baseline text");
  assert.equal(await cell.locator(".visually-hidden").evaluate((e) => e.getBoundingClientRect().width <= 1), true);
  const notes = await section.locator(".table-notes").innerText();
  assert.match(notes, /± is the standard deviation over 2 sets of reference points/);
  assert.match(notes, /Minimum count 2: .*input bigram \d+ of \d+/);
  const bo = fromPage.input.backoff[0].positions, total = bo.reduce((a, n) => a + n, 0);
  assert.ok(notes.includes(`Back-off input: ${Math.round((100 * bo[0]) / total)}% unigram, ${Math.round((100 * bo[1]) / total)}% bigram`), notes);
  // "What the numbers mean", and every header's section of it, exist where the page is served.
  const meaning = page.locator("#results").getByRole("link", { name: "What the numbers mean" });
  const href = await meaning.getAttribute("href");
  assert.equal(await meaning.getAttribute("target"), "_blank");
  const r = await fetch(href.replace(/#.*$/, ""));
  assert.ok(r.ok, `${href}: HTTP ${r.status}`);
  const html = await r.text();
  const links = await section.locator("th a, .table-notes a, .warning a").evaluateAll((as) => as.map((a) => a.href));
  links.push(...await page.locator("a[data-meaning]").evaluateAll((as) => as.map((a) => a.href)));
  for (const id of new Set(links.map((h) => new URL(h).hash.slice(1)).filter(Boolean))) {
    assert.ok(html.includes(`id="${id}"`), `www/meaning.html has no section #${id}`);
  }
  assert.ok(links.every((h) => h.replace(/#.*$/, "") === href.replace(/#.*$/, "")), "a meaning link points elsewhere");
  // The CSV carries the new numbers.
  const [download] = await Promise.all([page.waitForEvent("download"), section.getByRole("button", { name: "Export CSV" }).click()]);
  const [comment, header, ...rows] = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.match(comment, /seeds 0–1 \(mean ± sd\).*baseline of 3 shuffled copies .*minimum count 2, back-off threshold 2, rows centred, first 2 positions excluded; files dump\.npz; back-off input: /);
  const col = header.split(",");
  const cells = Object.fromEntries(rows[1].split(",").map((v, k) => [col[k], v === "" ? null : Number(v)]));
  assert.equal(cells.ceiling, l.ceiling);
  assert.equal(cells.entropy_sd, l.entropy_sd);
  assert.equal(cells.complexity_sd_unigram, o.complexity_sd);
  assert.equal(cells.complexity_corrected_unigram, o.complexity_corrected);
  assert.equal(cells.baseline_input_unigram, o.input.baseline.mean);
  assert.equal(cells.baseline_output_sd_unigram, o.output.baseline.sd);
  assert.equal(cells.complexity_backoff, l.backoff.complexity);
  assert.equal(cells.dropped_rows_input_bigram, l.orders[1].input.dropped_rows);
  assert.equal(cells[`corrected_${l.label_sets[0].name}`], l.label_sets[0].corrected);
  await page.screenshot({ path: path.join(shots, "baselines.png"), fullPage: true });
});

test("excluded token ids: a bad list is refused by name, a good one gives the CLI's numbers", async () => {
  const file = path.join(fixtures, "formats/dump.npz");
  const page = await openPage("?orders=1,2&shuffles=0&exclude_tokens=3,x7");
  assert.match(await page.locator("#errors").innerText(), /Exclude token ids: "x7" is not a token id/);
  await page.setInputFiles("#files", file);
  await page.locator("#status", { hasText: "Nothing was analysed" }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator("section.dataset").count(), 0);
  await page.locator("#settings-box summary").click();
  await page.locator("input[name=exclude_tokens]").fill("3, 7");
  await page.locator("input[name=exclude_tokens]").dispatchEvent("change");
  assert.equal(await page.locator("#errors").innerText(), "");
  assert.match(page.url(), /exclude_tokens=3%2C7/);
  await page.setInputFiles("#files", file);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  const fromPage = await exportJson(page, section);
  assert.deepEqual(fromPage.settings.exclude_tokens, [3, 7]);
  assert.equal(fromPage.layers[0].orders[0].complexity_corrected, null);
  assertSameReport(fromPage, cliReport(file, ["--orders", "1,2", "--shuffles", "0", "--exclude-tokens", "3,7"]), "excluded token ids");
});

test("a large analysis shows progress and can be cancelled, and clicks are handled within 100 ms", async () => {
  const page = await openPage();
  await page.evaluate(() => {
    window.clickDelays = [];
    document.addEventListener("click", (e) => window.clickDelays.push(performance.now() - e.timeStamp), true);
  });
  await page.setInputFiles("#files", bigDump());
  await page.locator("#progress-text", { hasText: "MB of" }).waitFor({ timeout: 60000 });
  for (let i = 0; i < 5; i++) {
    await page.locator("#settings-box summary").click();
    await page.waitForTimeout(200);
  }
  const delays = await page.evaluate(() => window.clickDelays);
  assert.equal(delays.length, 5);
  assert.ok(Math.max(...delays) < 100, `a click waited ${Math.max(...delays)} ms`);
  const text = await page.locator("#progress-text").innerText();
  assert.match(text, /layer_0\.npy \+ .*: [\d.]+ MB of 221\.\d MB read/);
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.locator("#status", { hasText: "Cancelled" }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator("#progress").isHidden(), true);
  assert.equal(await page.locator("section.dataset").count(), 0);
});

test("a picked folder of checkpoint folders gives one dataset per checkpoint and their trajectory", async () => {
  const run = mkdtempSync(path.join(tmpdir(), "infoplane-run-"));
  for (const [step, src] of [["checkpoint-2000", "formats/dump.npz"], ["checkpoint-100", "formats/dump_f16.npz"]]) {
    mkdirSync(path.join(run, step));
    writeFileSync(path.join(run, step, "hidden.npz"), readFileSync(path.join(fixtures, src)));
  }
  const page = await openPage("?bins=20&orders=1");
  await page.setInputFiles("#folder", run);
  const traj = page.locator("section.trajectory");
  await traj.waitFor({ timeout: 60000 });
  const rows = await traj.locator("tbody tr").allInnerTexts();
  assert.deepEqual(rows.map((r) => r.split("\t").slice(0, 2)), [["checkpoint-100/", "100"], ["checkpoint-2000/", "2000"]]);
  // Each row links to its checkpoint's own per-layer section, with the CLI's numbers.
  await traj.getByRole("link", { name: "checkpoint-2000/" }).click();
  const section = page.locator("section.dataset:focus, section.dataset:target");
  assert.equal(await section.locator("h2").innerText(), "checkpoint-2000/");
  assertSameReport(await exportJson(page, section), cliReport(path.join(run, "checkpoint-2000/hidden.npz"), ["--bins", "20", "--orders", "1"]), "checkpoint folder");
});

test("the page fits a phone's width and follows the dark colour scheme", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  const page = await context.newPage();
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url + "?sample");
  await page.locator("section.dataset").waitFor({ timeout: 60000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 150, `dark mode background is ${bg}`);
  // Keyboard: Tab reaches the header's link to the explainer, then the file picker and the sample
  // button, with a visible focus outline.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("href")), "explainer.html");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => [document.activeElement.id, getComputedStyle(document.activeElement.nextElementSibling || document.activeElement).outlineStyle]);
  assert.equal(focused[0], "files");
  assert.notEqual(focused[1], "none", "no visible focus on the file button");
  await page.screenshot({ path: path.join(shots, "phone_dark.png"), fullPage: true });
  await context.close();
});

test("the CSV export holds the CLI's numbers and the settings", async () => {
  const file = path.join(fixtures, "golden/d64_bins100_seed42.npz");
  const page = await openPage("?orders=1,2");
  await page.setInputFiles("#files", file);
  const section = page.locator("section.dataset");
  await section.waitFor({ timeout: 60000 });
  const [download] = await Promise.all([page.waitForEvent("download"), section.getByRole("button", { name: "Export CSV" }).click()]);
  const [comment, header, ...rows] = readFileSync(await download.path(), "utf8").trim().split("\n");
  assert.match(comment, /^# infoplane .*m = 100, seed 0, find-eps ε = .*orders 1,2/);
  const cli = cliReport(file, ["--orders", "1,2"]);
  const col = header.split(",");
  assert.equal(rows.length, cli.layers.length);
  rows.forEach((line, i) => {
    const cells = Object.fromEntries(line.split(",").map((v, k) => [col[k], v === "" ? null : Number(v)]));
    const l = cli.layers[i];
    assert.equal(cells.layer, l.layer);
    assert.equal(cells.entropy, l.entropy);
    for (const o of l.orders) {
      assert.equal(cells[`complexity_${o.name}`], o.complexity);
      assert.equal(cells[`expressivity_${o.name}`], o.expressivity);
      assert.equal(cells[`optimality_${o.name}`], o.optimality);
      assert.equal(cells[`regularity_input_${o.name}`], o.input.regularity);
      assert.equal(cells[`regularity_output_${o.name}`], o.output.regularity);
    }
  });
});

function cliModel(dirs, args = []) {
  return JSON.parse(execFileSync(cli, ["model", ...dirs, ...args], { encoding: "utf8" }));
}

test("a dropped model folder is run on the probe corpus in the page, with the CLI's numbers", async () => {
  const dir = path.join(fixtures, "models/llama");
  const page = await openPage("?bins=20&max_sequences=25");
  await page.setInputFiles("#folder", dir);
  const section = page.locator("section.dataset", { hasText: "llama/" });
  await section.waitFor({ timeout: 120000 });
  const fromPage = await exportJson(page, section);
  const fromCli = cliModel([dir], ["--bins", "20", "--max-sequences", "25"]);
  const strip = (r) => ({ ...r, input: { ...r.input, files: [], layout: "" } });
  assert.deepEqual(strip(fromPage), strip(fromCli), "model run in the page");
  assert.match(await section.innerText(), /Model \(llama\) run on the probe corpus: 25 sequences/);
});

test("a model run without its special tokens gives the CLI's numbers", async () => {
  const dir = path.join(fixtures, "models/llama");
  const page = await openPage("?bins=20&orders=1,2&max_sequences=10&exclude_special=1");
  assert.equal(await page.locator("input[name=exclude_special]").isChecked(), true);
  await page.setInputFiles("#folder", dir);
  const section = page.locator("section.dataset", { hasText: "llama/" });
  await section.waitFor({ timeout: 120000 });
  const fromPage = await exportJson(page, section);
  const fromCli = cliModel([dir], ["--bins", "20", "--orders", "1,2", "--max-sequences", "10", "--exclude-special"]);
  assert.ok(fromPage.settings.exclude_tokens.length > 0, "no special token excluded");
  const strip = (r) => ({ ...r, input: { ...r.input, files: [], layout: "" } });
  assert.deepEqual(strip(fromPage), strip(fromCli), "special tokens excluded");
});

test("two checkpoint folders of a model give their trajectory", async () => {
  const run = mkdtempSync(path.join(tmpdir(), "infoplane-models-"));
  for (const [step, src] of [["step-300", "models/llama"], ["step-100", "models/llama_bf16"]]) {
    mkdirSync(path.join(run, step));
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) writeFileSync(path.join(run, step, f), readFileSync(path.join(fixtures, src, f)));
    // BERT folders carry a vocab.txt: it is the tokenizer's, not a text to run on.
    writeFileSync(path.join(run, step, "vocab.txt"), "[PAD]\n[UNK]\nthe\n");
  }
  const page = await openPage("?bins=20&orders=1,2&max_sequences=15");
  await page.setInputFiles("#folder", run);
  const traj = page.locator("section.trajectory");
  await traj.waitFor({ timeout: 120000 });
  const rows = await traj.locator("tbody tr").allInnerTexts();
  assert.deepEqual(rows.map((r) => r.split("\t").slice(0, 2)), [["step-100/", "100"], ["step-300/", "300"]]);
  const section = page.locator("section.dataset", { hasText: "step-300/" }).last();
  const fromCli = cliModel([path.join(run, "step-300")], ["--bins", "20", "--orders", "1,2", "--max-sequences", "15"]);
  assert.match(await section.innerText(), /run on the probe corpus: 15 sequences/);
  const fromPage = await exportJson(page, section);
  assert.deepEqual(fromPage.layers, fromCli.layers, "checkpoint step-300");
});

test("a model's forward passes shared by several workers give one worker's report bit for bit, and the CLI's", async () => {
  // Centring runs the text twice (the means first), and 3 workers on 9 sequences hand their
  // passes over out of order: the report must not notice.
  const dir = path.join(fixtures, "models/gpt_neox");
  const query = "bins=20&orders=1,2&max_sequences=9&centre=1&shuffles=2&seeds=2";
  const reports = [];
  for (const workers of [1, 3]) {
    const page = await openPage(`?${query}&workers=${workers}`);
    await page.setInputFiles("#folder", dir);
    const section = page.locator("section.dataset", { hasText: "gpt_neox/" });
    await section.waitFor({ timeout: 120000 });
    assert.equal(Number(await page.evaluate(() => document.body.dataset.workers)), workers, "workers started");
    reports.push(await exportJson(page, section));
  }
  const fromCli = cliModel([dir], ["--bins", "20", "--orders", "1,2", "--max-sequences", "9", "--centre", "--shuffles", "2", "--seeds", "2"]);
  const strip = (r) => ({ ...r, input: { ...r.input, files: [], layout: "" } });
  assert.deepEqual(strip(reports[1]), strip(reports[0]), "3 workers against 1");
  assert.deepEqual(strip(reports[0]), strip(fromCli), "the page against the CLI");
  assert.equal(reports[0].input.sequences, 9);
});

test("a model run on windows of the text gives the CLI's numbers", async () => {
  const dir = path.join(fixtures, "models/gpt_neox");
  const page = await openPage("?bins=20&orders=1,2&window=16&max_sequences=12");
  await page.setInputFiles("#folder", dir);
  const section = page.locator("section.dataset", { hasText: "gpt_neox/" });
  await section.waitFor({ timeout: 120000 });
  const fromPage = await exportJson(page, section);
  const fromCli = cliModel([dir], ["--bins", "20", "--orders", "1,2", "--window", "16", "--max-sequences", "12"]);
  assert.equal(fromPage.input.sequences, 12);
  assert.equal(fromPage.input.tokens, 12 * 16);
  assert.deepEqual(fromPage.layers, fromCli.layers, "windows");
});

test("embedded in an iframe (?embed&src=...&view=plane): results alone, from a URL, with the CLI's numbers", async () => {
  // A host page beside index.html, as a teacher's course page would be, with one <iframe> line.
  const host = path.join(root, "embed-host.test.html");
  writeFileSync(host, `<!doctype html><title>host</title><link rel="icon" href="data:,">
<iframe id="view" title="infoplane" width="900" height="700"
  src="index.html?embed&src=tests/fixtures/formats/dump.npz&view=plane&orders=1,2&bins=20"></iframe>`);
  try {
    const page = await openPage("", url.replace(/index\.html$/, "embed-host.test.html"));
    const frame = page.frameLocator("#view");
    const section = frame.locator("section.dataset", { hasText: "dump.npz" });
    await section.waitFor({ timeout: 60000 });
    // The chrome is hidden, the planes show, the profile and the table do not.
    assert.equal(await frame.locator("body > header").isVisible(), false);
    assert.equal(await frame.locator("#input").isVisible(), false);
    assert.ok(await frame.locator('figure.chart[data-chart^="information_plane"]').first().isVisible());
    assert.equal(await frame.locator('figure.chart[data-chart="layer_profile.svg"]').isVisible(), false);
    assert.equal(await frame.locator(".table-wrap").first().isVisible(), false);
    // The numbers are the CLI's for the file the URL named, with the URL's settings.
    const report = await exportJson(page, section);
    assertSameReport(report, cliReport(path.join(fixtures, "formats/dump.npz"), ["--orders", "1,2", "--bins", "20"]), "embedded");
  } finally {
    rmSync(host, { force: true });
  }
});

test("www/embed-example.html: the custom elements and the iframe render in a host page with one script tag", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  const origin = url.replace(/index\.html$/, "");
  page.on("request", (r) => assert.ok(r.url().startsWith(origin) || r.url().startsWith("blob:") || r.url().startsWith("data:"), `request outside the site: ${r.url()}`));
  await page.goto(origin + "www/embed-example.html");
  // <infoplane-view src=...>: its result event carries the report the page shows a line of.
  await page.locator("#view-result", { hasText: "Mean over layers" }).waitFor({ timeout: 90000 });
  const cli = cliReport(path.join(root, "www/sample/minilm_sample.npz"), ["--orders", "1,2"]);
  assert.ok((await page.locator("#view-result").textContent()).includes(cli.mean.entropy.toFixed(4)));
  // element.analyze(files): a file handed over from the host page, result as an event.
  const detail = await page.evaluate(async () => {
    const bytes = await (await fetch("../tests/fixtures/formats/dump.npz")).arrayBuffer();
    const view = document.getElementById("view");
    const result = new Promise((resolve) => view.addEventListener("result", (e) => resolve(e.detail), { once: true }));
    view.analyze([new File([bytes], "dump.npz")]);
    return result;
  });
  assertSameReport(detail.reports[0], cliReport(path.join(fixtures, "formats/dump.npz"), ["--orders", "1,2"]), "element.analyze");
  // <infoplane-explainer>: the explainer runs inside, with the attributes' settings.
  const explainer = page.frames().find((f) => f.url().includes("explainer.html") && !f.url().includes("data=digits"));
  assert.ok(explainer, "no explainer frame");
  await explainer.waitForFunction(() => window.explainerState && window.explainerState.result, null, { timeout: 30000 });
  assert.deepEqual(await explainer.evaluate(() => [window.explainerState.d, window.explainerState.n_bins]), [3, 20]);
  // <infoplane-explainer data="digits" calibration="leading-order">: the reference's numbers.
  const digits = page.frames().find((f) => f.url().includes("data=digits"));
  assert.ok(digits, "no digits frame");
  await digits.waitForFunction(() => window.digitsState && window.digitsState.result, null, { timeout: 30000 });
  const run = JSON.parse(readFileSync(path.join(root, "tests/fixtures/explainer/digits_reference.json"), "utf8"))
    .runs.find((r) => r.calibration === "leading-order" && r.seed === 0);
  const shown = await digits.evaluate(() => window.digitsState.result.mutual_information);
  assert.ok(Math.abs(shown - run.mutual_information) <= 1e-6, `digits element: I ${shown} vs ${run.mutual_information}`);
  // The plain iframe shows the profile only.
  const frame = page.frameLocator("#frame");
  await frame.locator('figure.chart[data-chart="layer_profile.svg"]').waitFor({ timeout: 90000 });
  assert.equal(await frame.locator('figure.chart[data-chart^="information_plane"]').first().isVisible(), false);
  await page.screenshot({ path: path.join(shots, "embed_example.png"), fullPage: true });
  await context.close();
});
