// The explainer page (explainer.html) in Debian's Chromium (playwright-core), served as static
// files from the repository root: its numbers equal `infoplane analyze` on the same points written
// as a float32 dump, with the same bins, seed and ε (fixed and calibrated); ε, m and the
// "calibrated" button; selecting a point by clicking or by number; turning the sphere; a phone's
// width; the link from index.html; no console errors, no request outside the page.
// Needs www/pkg (scripts/build_web.sh) and target/debug/infoplane (cargo build).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { crc32 } from "node:zlib";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const cli = process.env.INFOPLANE_BIN || path.join(targetDir, "debug/infoplane");
const shots = path.join(root, "tests/browser/screenshots");
mkdirSync(shots, { recursive: true });

let server, browser, base;
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
  assert.ok(existsSync(path.join(root, "www/pkg/infoplane.js")), "www/pkg is missing: run scripts/build_web.sh");
  const port = await freePort();
  // Any static file server will do; this is the one scripts/run.sh uses.
  server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: root, stdio: "ignore" });
  base = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(base + "explainer.html");
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

// The explainer opened with `query`, once its first result is drawn.
async function openPage(query = "", options = {}, page0 = "explainer.html") {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.on("request", (r) => assert.ok(r.url().startsWith(base) || r.url().startsWith("data:"), `request outside the page: ${r.url()}`));
  await page.goto(base + page0 + query);
  if (page0 === "explainer.html" && query.includes("data=digits")) await digitsSettled(page, {});
  else if (page0 === "explainer.html") await page.waitForFunction(() => window.explainerState && window.explainerState.result, null, { timeout: 30000 });
  return page;
}

// Waits until the digits view shows numbers and its classes-added curve for `expected` settings
// (a subset of the settings given to `explain`: calibration, seed, n_bins, shuffles, classes).
async function digitsSettled(page, expected) {
  await page.waitForFunction((want) => {
    const s = window.digitsState;
    if (!s || !s.result || !s.curve || !s.settings) return false;
    const curve = JSON.parse(s.curveSettings);
    return Object.entries(want).every(([k, v]) => s.settings[k] === v && (k === "classes" || curve[k] === v));
  }, expected, { timeout: 30000 });
}

// Runs `action` and waits for the frame it causes to be drawn.
async function step(page, action) {
  const frame = await page.evaluate(() => window.explainerState.frame);
  await action();
  await page.waitForFunction((f) => window.explainerState.frame > f, frame, { timeout: 10000 });
}

async function readState(page) {
  return page.evaluate(() => {
    const s = window.explainerState;
    return {
      points: Array.from(s.points), labels: Array.from(s.labels), d: s.d, n_bins: s.n_bins, seed: s.seed,
      temperature: s.temperature, calibrated: s.calibrated, selected: s.selected, result: s.result, screen: s.screen,
    };
  });
}

// Each readout: [the value it holds (in the units shown), its text].
async function readouts(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".readouts data")].map((e) => [e.id, [Number(e.value), e.textContent]])));
}

// The bars of one panel ("aggregate" or "selected"): reference point → the value its height shows.
async function barValues(page, panel) {
  return page.locator(`#bars g.${panel}`).evaluate((g) => {
    const max = Number(g.dataset.max);
    const h = Number(g.dataset.height);
    return [...g.querySelectorAll("rect")].map((r) => [Number(r.dataset.ref), (Number(r.getAttribute("height")) * max) / h]);
  });
}

function calibrated(d, bins) {
  return Number(execFileSync(cli, ["calibrate", "--dim", String(d), "--bins", String(bins), "--calibration", "exact"], { encoding: "utf8" }).trim());
}

// ---- a .npz of the page's points: hidden_states float32 [1, n, d], labels int64 [n] ----
function npy(descr, shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`.padEnd(118, " ") + "\n";
  return Buffer.concat([Buffer.from("\x93NUMPY\x01\x00", "latin1"), Buffer.from([header.length, 0]), Buffer.from(header), Buffer.from(data.buffer)]);
}

// A zip of stored (uncompressed) members, as numpy's savez writes them.
function zipStored(members) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x21, 12); // 1 Jan 1980
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

function writeCloud(state) {
  const n = state.labels.length;
  const dir = mkdtempSync(path.join(tmpdir(), "infoplane-explainer-"));
  const file = path.join(dir, "cloud.npz");
  writeFileSync(file, zipStored([
    ["hidden_states.npy", npy("<f4", [1, n, state.d], Float32Array.from(state.points))],
    ["labels.npy", npy("<i8", [n], BigInt64Array.from(state.labels, (l) => BigInt(l)))],
  ]));
  return file;
}

function close(actual, expected, what, tol = 1e-12) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

test("the explainer's numbers are the CLI's on the same points, at a fixed and at the calibrated ε", async () => {
  for (const eps of ["0.15", null]) {
    const query = "?d=3&m=20&n=150&classes=3&kappa=2&points_seed=7&seed=3&units=efficiency" + (eps ? `&eps=${eps}` : "");
    const page = await openPage(query);
    const s = await readState(page);
    assert.deepEqual([s.d, s.n_bins, s.seed, s.labels.length, s.points.length], [3, 20, 3, 150, 450]);
    assert.deepEqual([...new Set(s.labels)].sort(), [0, 1, 2]);
    // The points given to the estimator are float32 values, so the dump holds exactly them.
    assert.ok(s.points.every((v) => Math.fround(v) === v), "a point is not float32");
    if (eps) {
      assert.equal(s.temperature, Number(eps));
      assert.equal(s.calibrated, false);
    } else {
      assert.equal(s.temperature, calibrated(3, 20));
      assert.equal(s.calibrated, true);
    }
    const file = writeCloud(s);
    const report = JSON.parse(execFileSync(cli, ["analyze", file, "--ids", "none", "--bins", "20", "--seed", "3",
      "--eps", String(s.temperature), "--shuffles", "0"], { encoding: "utf8" }));
    const layer = report.layers[0];
    const set = layer.label_sets[0];
    const r = s.result;
    close(r.entropy, layer.entropy, "H(Z)");
    close(r.mutual_information, set.mutual_information, "I(X;Z)");
    close(r.regularity, set.regularity, "regularity");
    close(r.ceiling, layer.ceiling, "ceiling");
    assert.ok(r.mutual_information > 0.05, `the classes carry little information: ${r.mutual_information}`);
    // The readouts show these numbers: efficiency, then bits.
    let shown = await readouts(page);
    close(shown["r-entropy"][0], layer.entropy, "H(Z) readout");
    close(shown["r-mi"][0], set.mutual_information, "I readout");
    close(shown["r-regularity"][0], set.regularity, "regularity readout");
    close(shown["r-ceiling"][0], layer.ceiling, "ceiling readout");
    close(shown["r-conditional"][0], layer.entropy - set.mutual_information, "H(Z|X) readout");
    assert.equal(shown["r-entropy"][1], layer.entropy.toFixed(4));
    assert.equal(shown["r-mi"][1], set.mutual_information.toFixed(4));
    assert.equal(shown["r-regularity"][1], set.regularity.toFixed(4));
    await step(page, () => page.locator("#controls").getByLabel("bits", { exact: true }).check());
    shown = await readouts(page);
    const bits = Math.log2(20);
    close(shown["r-entropy"][0], layer.entropy * bits, "H(Z) in bits");
    close(shown["r-mi"][0], set.mutual_information * bits, "I in bits");
    close(shown["r-regularity"][0], set.regularity, "regularity (a ratio) in bits mode");
    assert.equal(shown["r-entropy"][1], `${(layer.entropy * bits).toFixed(3)} bits`);
    await page.waitForFunction(() => !location.search.includes("units="));
    if (!eps) await page.screenshot({ path: path.join(shots, "explainer.png"), fullPage: true });
    await page.context().close();
  }
});

test("the ε slider, the ε box and m change the numbers; the calibrated button gives the exact calibration", async () => {
  const page = await openPage("?d=3&m=20&n=150&classes=3&eps=0.15&seed=3");
  let s = await readState(page);
  const calibrate = page.getByRole("button", { name: "Calibrated ε" });
  assert.equal(await calibrate.getAttribute("aria-pressed"), "false");
  const before = await readouts(page);
  // The slider, from the keyboard: one step up in log ε.
  await page.locator("#eps-range").focus();
  await step(page, () => page.keyboard.press("ArrowRight"));
  s = await readState(page);
  assert.ok(s.temperature > 0.15 && s.temperature < 0.16, `ε = ${s.temperature}`);
  const moved = await readouts(page);
  assert.notEqual(moved["r-entropy"][0], before["r-entropy"][0]);
  assert.notEqual(moved["r-entropy"][1], before["r-entropy"][1]);
  assert.notEqual(moved["r-mi"][0], before["r-mi"][0]);
  assert.equal(await page.locator("#eps").inputValue(), String(s.temperature));
  await page.waitForFunction((e) => new URLSearchParams(location.search).get("eps") === e, String(s.temperature));
  // The calibrated button: exactly `infoplane calibrate --calibration exact`.
  await step(page, () => calibrate.click());
  s = await readState(page);
  assert.equal(s.temperature, calibrated(3, 20));
  assert.equal(s.calibrated, true);
  assert.equal(await calibrate.getAttribute("aria-pressed"), "true");
  await page.waitForFunction(() => !new URLSearchParams(location.search).has("eps"));
  // m, as a drag of its slider would set it: ε stays the calibration, now for m = 40.
  await step(page, () => page.locator("#m").evaluate((e) => {
    e.value = "40";
    e.dispatchEvent(new Event("input", { bubbles: true }));
  }));
  s = await readState(page);
  assert.equal(s.n_bins, 40);
  assert.equal(s.temperature, calibrated(3, 40));
  assert.equal(s.result.distribution.length, 40);
  assert.equal(await page.locator("#bars g.aggregate rect").count(), 40);
  assert.equal(await page.locator("#bars g.selected rect").count(), 40);
  assert.equal(await page.locator("#m-out").innerText(), "40");
  assert.notEqual((await readouts(page))["r-entropy"][0], moved["r-entropy"][0]);
  await page.waitForFunction(() => new URLSearchParams(location.search).get("m") === "40");
  // A typed ε.
  await step(page, () => page.locator("#eps").fill("0.05"));
  s = await readState(page);
  assert.equal(s.temperature, 0.05);
  assert.equal(s.calibrated, false);
  assert.equal(await calibrate.getAttribute("aria-pressed"), "false");
  // The URL gives the same view back.
  await page.waitForFunction(() => new URLSearchParams(location.search).get("eps") === "0.05");
  const again = await openPage(new URL(page.url()).search);
  const t = await readState(again);
  assert.deepEqual([t.temperature, t.n_bins, t.d, t.result.entropy], [0.05, 40, 3, s.result.entropy]);
  await again.context().close();
  await page.context().close();
  // Bad values in the address are named, and the rest of it is still used.
  const bad = await openPage("?d=5&m=1000&n=60&eps=-1");
  const problem = await bad.locator("#problem").innerText();
  assert.match(problem, /d=5: the dimension is 2 or 3, ignored\./);
  assert.match(problem, /m=1000: 200 used/);
  assert.match(problem, /eps=-1: the temperature is a number above 0, ignored\./);
  const b = await readState(bad);
  assert.deepEqual([b.d, b.n_bins, b.labels.length, b.calibrated], [2, 200, 60, true]);
  await step(bad, () => bad.locator("#seed").fill("1"));
  assert.equal(await bad.locator("#problem").innerText(), "");
  await bad.context().close();
});

test("clicking a point selects it and shows its soft assignment; dragging turns the sphere", async () => {
  for (const d of [3, 2]) {
    const page = await openPage(`?d=${d}&m=20&n=150&classes=3&eps=0.15&seed=3&point=0`);
    let s = await readState(page);
    assert.equal(s.selected, 0);
    // A point on the near side that no other point hides.
    const pick = s.screen.findIndex(([x, y, z], i) => i > 0 && z > 0.2
      && s.screen.every(([u, v], k) => k === i || Math.hypot(u - x, v - y) > 12));
    assert.ok(pick > 0, "no point stands alone");
    await page.locator("#cloud").scrollIntoViewIfNeeded();
    const box = await page.locator("#cloud").boundingBox();
    await step(page, () => page.mouse.click(box.x + s.screen[pick][0], box.y + s.screen[pick][1]));
    s = await readState(page);
    assert.equal(s.selected, pick);
    assert.equal(await page.locator("#point").inputValue(), String(pick));
    const shown = await readouts(page);
    assert.equal(shown["r-point"][0], s.result.point_entropies[pick] * s.result.bits_per_unit);
    assert.equal(await page.locator("#r-point-name").innerText(), `point #${pick}`);
    // Its bars are its soft assignment; the aggregate's are P(Z).
    const m = s.n_bins;
    const row = s.result.assignments.slice(pick * m, (pick + 1) * m);
    const selected = await barValues(page, "selected");
    assert.equal(selected.length, m);
    for (const [j, v] of selected) close(v, row[j], `bar of reference point ${j}`, 1e-9);
    for (const [j, v] of await barValues(page, "aggregate")) close(v, s.result.distribution[j], `P(Z) bar ${j}`, 1e-9);
    assert.match(await page.locator("#bars-summary").innerText(), new RegExp(`point #${pick} \\(class ${s.labels[pick]}\\)`));
    // By number, from the keyboard.
    const other = pick === 1 ? 2 : 1;
    await step(page, () => page.locator("#point").fill(String(other)));
    assert.equal((await readState(page)).selected, other);
    await page.waitForFunction((p) => new URLSearchParams(location.search).get("point") === p, String(other));
    if (d === 3) {
      // A drag turns the sphere: points move on screen, the numbers and the selection stay.
      const x0 = box.x + box.width / 2;
      const y0 = box.y + box.height / 2;
      await step(page, async () => {
        await page.mouse.move(x0, y0);
        await page.mouse.down();
        await page.mouse.move(x0 + 80, y0 + 30, { steps: 8 });
        await page.mouse.up();
      });
      const t = await readState(page);
      assert.equal(t.selected, other);
      assert.equal(t.result.entropy, s.result.entropy);
      assert.ok(Math.hypot(t.screen[0][0] - s.screen[0][0], t.screen[0][1] - s.screen[0][1]) > 5, "the sphere did not turn");
      // And so do the arrow keys on the focused canvas.
      await page.locator("#cloud").focus();
      await step(page, () => page.keyboard.press("ArrowLeft"));
      const u = await readState(page);
      assert.ok(Math.hypot(u.screen[0][0] - t.screen[0][0], u.screen[0][1] - t.screen[0][1]) > 1, "the arrow key did not turn it");
    }
    await page.context().close();
  }
});

test("the explainer fits a phone's width, and index.html links to it", async () => {
  const page = await openPage("?d=3&m=100&n=600&classes=5&kappa=4", { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  for (const sel of ["#cloud", "#bars"]) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(box.width > 250 && box.x >= 0 && box.x + box.width <= 390, `${sel}: ${JSON.stringify(box)}`);
  }
  await page.screenshot({ path: path.join(shots, "explainer_phone.png"), fullPage: true });
  await page.context().close();
  const index = await openPage("", {}, "index.html");
  await index.getByRole("link", { name: "How it works: the explainer" }).click();
  await index.waitForFunction(() => window.explainerState && window.explainerState.result, null, { timeout: 30000 });
  assert.match(index.url(), /\/explainer\.html$/);
  await index.getByRole("link", { name: "What each number means, in more depth" }).click();
  await index.waitForURL(/\/www\/meaning\.html$/);
  assert.equal(await index.locator("h1").innerText(), "What the numbers mean");
  await index.context().close();
});

test("?embed shows the explainer without the page's header and footer, with the URL's view", async () => {
  const page = await openPage("?embed&d=2&m=12&n=80&classes=2&eps=0.2");
  assert.equal(await page.locator("body > header").isVisible(), false);
  assert.equal(await page.locator("body > footer").isVisible(), false);
  const state = await page.evaluate(() => ({ d: window.explainerState.d, m: window.explainerState.n_bins, n: window.explainerState.labels.length }));
  assert.deepEqual(state, { d: 2, m: 12, n: 80 });
  assert.ok(await page.locator("canvas").first().isVisible());
  await page.context().close();
});

// ---- the digits view, against the reference package's numbers (tests/reference/make_digits.py) ----
const DIGITS = JSON.parse(readFileSync(path.join(root, "tests/fixtures/explainer/digits_reference.json"), "utf8"));

async function digitsNumbers(page) {
  return page.evaluate(() => {
    const s = window.digitsState;
    const text = (id) => document.querySelector(id).textContent;
    return {
      result: { ...s.result, assignments: null, reference_points: null, point_entropies: null },
      curve: s.curve, selected: s.selected, projection: Array.from(s.projection.variance_ratio),
      shown: { entropy: text("#d-entropy"), mi: text("#d-mi"), baseline: text("#d-baseline"), corrected: text("#d-corrected"), regularity: text("#d-regularity") },
      table: [...document.querySelectorAll("#digits-class-table tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent)),
    };
  });
}

function sameAsRun(got, run, what) {
  const r = got.result;
  close(r.temperature, run.temperature, `${what}: ε`, 1e-6);
  close(r.entropy, run.entropy, `${what}: H(Z)`, 1e-6);
  close(r.mutual_information, run.mutual_information, `${what}: I(X;Z)`, 1e-6);
  close(r.regularity, run.regularity, `${what}: regularity`, 1e-6);
  close(r.baseline.mean, run.baseline.mean, `${what}: baseline`, 1e-6);
  close(r.baseline.sd, run.baseline.sd, `${what}: baseline sd`, 1e-6);
  close(r.baseline.corrected, run.corrected, `${what}: I − baseline`, 1e-6);
  run.shuffled.forEach((v, k) => close(r.baseline.values[k], v, `${what}: shuffled copy ${k}`, 1e-6));
  // What the reader sees: efficiency to four decimals, as the reference's numbers round.
  assert.deepEqual(got.shown, {
    entropy: run.entropy.toFixed(4), mi: run.mutual_information.toFixed(4), baseline: run.baseline.mean.toFixed(4),
    corrected: run.corrected.toFixed(4), regularity: run.regularity.toFixed(4),
  }, what);
}

test("the digits view shows the reference package's numbers for both calibrations, seeds 0 and 1", async () => {
  const page = await openPage("?data=digits");
  assert.ok(await page.locator("#digits-view").isVisible());
  assert.equal(await page.locator("#cloud-view").isVisible(), false);
  assert.equal(await page.locator("#tab-digits").getAttribute("aria-current"), "page");
  const runs = Object.fromEntries(DIGITS.runs.map((r) => [`${r.calibration}/${r.seed}`, r]));
  let got = await digitsNumbers(page);
  sameAsRun(got, runs["find-eps/0"], "find-eps, seed 0 (the defaults)");
  // Per-digit regularity and H(Z | X = digit), in the state and the table.
  const perClass = DIGITS.per_class_regularity.per_class;
  assert.equal(got.result.classes.length, perClass.length);
  perClass.forEach((c, k) => {
    const ours = got.result.classes[k];
    assert.equal(ours.label, c.digit);
    assert.equal(ours.points, c.rows);
    close(ours.entropy, c.conditional_entropy, `H(Z | X = ${c.digit})`, 1e-6);
    close(ours.regularity, c.regularity, `regularity of ${c.digit}`, 1e-6);
    assert.deepEqual(got.table[k], [String(c.digit), String(c.rows), c.conditional_entropy.toFixed(4), c.regularity.toFixed(4)]);
  });
  // H and I as digits are added.
  const added = DIGITS.classes_added.per_count;
  assert.deepEqual(got.curve.map((p) => [p.classes, p.rows]), added.map((p) => [p.classes, p.rows]));
  added.forEach((p, k) => {
    close(got.curve[k].entropy, p.entropy, `H with ${p.classes} digits`, 1e-6);
    close(got.curve[k].mutual_information, p.mutual_information, `I with ${p.classes} digits`, 1e-6);
  });
  DIGITS.projection.variance_ratio.forEach((v, k) => close(got.projection[k], v, `variance ratio ${k}`, 1e-9));
  // The other runs, through the controls.
  await page.getByLabel("leading order").check();
  await digitsSettled(page, { calibration: "leading-order", seed: 0 });
  sameAsRun(await digitsNumbers(page), runs["leading-order/0"], "leading-order, seed 0");
  await page.locator("#d-seed").fill("1");
  await digitsSettled(page, { calibration: "leading-order", seed: 1 });
  sameAsRun(await digitsNumbers(page), runs["leading-order/1"], "leading-order, seed 1");
  await page.getByLabel("find-eps (the reference's default)").check();
  await digitsSettled(page, { calibration: "find-eps", seed: 1 });
  sameAsRun(await digitsNumbers(page), runs["find-eps/1"], "find-eps, seed 1");
  assert.match(page.url(), /[?&]data=digits/);
  assert.match(page.url(), /[?&]seed=1/);
  assert.doesNotMatch(page.url(), /calibration=/, "the default calibration stays out of the URL");
  await page.screenshot({ path: path.join(shots, "explainer_digits.png"), fullPage: true });
  await page.context().close();
});

test("the digits view: fewer digits, clicking an image, bits, the URL and ?embed", async () => {
  const page = await openPage("?data=digits&classes=3&units=bits&point=5");
  let got = await digitsNumbers(page);
  const three = DIGITS.classes_added.per_count.find((p) => p.classes === 3);
  close(got.result.entropy, three.entropy, "H with digits 0-2", 1e-6);
  close(got.result.mutual_information, three.mutual_information, "I with digits 0-2", 1e-6);
  assert.equal(got.result.classes.length, 3);
  const bits = Math.log2(100);
  assert.equal(got.shown.mi, `${(three.mutual_information * bits).toFixed(4)} bits`);
  assert.equal(got.selected, 5);
  // The slider: all ten digits give the whole set's numbers.
  await page.locator("#d-classes").fill("10");
  await digitsSettled(page, { classes: 10 });
  got = await digitsNumbers(page);
  close(got.result.mutual_information, DIGITS.runs[0].mutual_information, "I with all digits", 1e-6);
  assert.doesNotMatch(page.url(), /classes=/);
  // Clicking an image selects it: its picture, its soft assignment (a distribution) and entropy.
  const dot = page.locator('#digits-scatter circle[data-i="100"]');
  await dot.dispatchEvent("click");
  await page.waitForFunction(() => window.digitsState.selected === 100);
  const picked = await page.evaluate(() => {
    const s = window.digitsState;
    const m = s.result.n_bins;
    const row = Array.from(s.result.assignments.subarray(100 * m, 101 * m));
    return { sum: row.reduce((a, b) => a + b, 0), label: s.labels[100], caption: document.querySelector("#digits-image-caption").textContent,
      pixels: document.querySelectorAll("#digits-image rect").length, url: location.search };
  });
  close(picked.sum, 1, "the soft assignment sums to 1", 1e-12);
  assert.equal(picked.caption, `Image #100: a ${picked.label}.`);
  assert.equal(picked.pixels, 64);
  assert.match(picked.url, /point=100/);
  await page.context().close();
  // Bad settings in the address are named and replaced.
  const bad = await openPage("?data=digits&calibration=magic&m=5000");
  assert.match(await bad.locator("#digits-problem").innerText(), /calibration=magic: not one of find-eps, leading-order, exact, ignored\. m=5000: 200 used/);
  await bad.context().close();
  // A phone's width: nothing wider than the screen.
  const phone = await openPage("?data=digits", { viewport: { width: 390, height: 844 } });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the digits view is ${overflow} px wider than the phone`);
  await phone.screenshot({ path: path.join(shots, "explainer_digits_phone.png"), fullPage: true });
  await phone.context().close();
  // ?embed: no header, tabs or footer; the digits view with the URL's settings.
  const embedded = await openPage("?embed&data=digits&m=40");
  for (const sel of ["body > header", "body > footer", "nav.tabs"]) assert.equal(await embedded.locator(sel).isVisible(), false, sel);
  assert.ok(await embedded.locator("#digits-scatter").isVisible());
  assert.equal(await embedded.evaluate(() => window.digitsState.result.n_bins), 40);
  await embedded.context().close();
});

test("the simd128 and plain wasm builds give the same bits, with rows of 771 values (a ragged last chunk)", async () => {
  const page = await openPage("?d=2&n=10");
  const result = await page.evaluate(async () => {
    const builds = {};
    for (const [name, file] of [["plain", "infoplane_bg.wasm"], ["simd", "infoplane_simd_bg.wasm"]]) {
      // The bindings imported twice under two addresses: two module instances, one per build.
      const bindings = await import(new URL(`www/pkg/infoplane.js?${name}`, location.href).href);
      await bindings.default({ module_or_path: new URL(`www/pkg/${file}`, location.href) });
      builds[name] = bindings;
    }
    const d = 771;
    const n = 40;
    let x = 12345;
    const points = Float64Array.from({ length: n * d }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32 - 0.5;
    });
    const labels = Uint32Array.from({ length: n }, (_, i) => i % 3);
    const settings = { n_bins: 37, seed: 3, calibration: "leading-order", shuffles: 2 };
    const [a, b] = ["plain", "simd"].map((k) => builds[k].explain(points, d, labels, settings));
    const differ = [];
    for (let i = 0; i < a.assignments.length; i++) if (!Object.is(a.assignments[i], b.assignments[i])) differ.push(i);
    return {
      differ: differ.length, length: a.assignments.length,
      numbers: [a.entropy, a.mutual_information, a.baseline.mean].map((v, i) => [v, [b.entropy, b.mutual_information, b.baseline.mean][i]]),
    };
  });
  assert.equal(result.length, 40 * 37);
  assert.equal(result.differ, 0, "soft assignments differ between the builds");
  for (const [plain, simd] of result.numbers) assert.ok(Object.is(plain, simd), `${plain} vs ${simd}`);
  await page.context().close();
});

test("frame cost at 600 points, m = 100, d = 3 (printed, not asserted)", async () => {
  const page = await openPage("?d=3&m=100&n=600&classes=5&kappa=4");
  await page.locator("#eps-range").focus();
  const frames = [];
  for (let i = 0; i < 40; i++) {
    await step(page, () => page.keyboard.press(i % 2 ? "ArrowLeft" : "ArrowRight"));
    frames.push(await page.evaluate(() => window.explainerState.timing));
  }
  const warm = frames.slice(10);
  const mean = (k) => warm.reduce((a, t) => a + t[k], 0) / warm.length;
  const median = (k) => warm.map((t) => t[k]).sort((a, b) => a - b)[Math.floor(warm.length / 2)];
  console.log(`# explainer frame at n = 600, m = 100, d = 3: explain ${mean("explain").toFixed(1)} ms (median ${median("explain").toFixed(1)}), `
    + `drawing ${mean("draw").toFixed(1)} ms, whole frame ${mean("frame").toFixed(1)} ms (median ${median("frame").toFixed(1)}), over ${warm.length} slider steps`);
  await page.context().close();
});
