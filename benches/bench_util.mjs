// Shared pieces of benches/browser_onnx.mjs and benches/browser_page_forward.mjs (the
// forward-pass benchmark, benches/forward_harness.py) and benches/browser_ceiling.mjs: a small
// static HTTP server on 127.0.0.1 (optionally cross-origin isolated), Debian's Chromium through
// playwright-core with every request off this machine refused, onnxruntime-web's files and a tab
// on them, and the load measurement the other bench scripts print.
// Nothing here is a benchmark by itself.

import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, "target");
export const benchDir = path.join(targetDir, "forward_bench");
export const NCPU = cpus().length;
const CLK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

export function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

// playwright-core: benches/node_modules if it is there, else tests/browser's (npm ci there).
export function playwright() {
  for (const where of ["benches", "tests/browser"]) {
    const req = createRequire(path.join(root, where, "package.json"));
    try { return req("playwright-core"); } catch { /* next */ }
  }
  throw new Error("playwright-core not found: run (cd tests/browser && npm ci)");
}

export async function launchChromium() {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

// A fresh context whose requests may go to 127.0.0.1 only; anything else is refused and listed
// in `refused` (the benchmark must run offline, and says so if a page tried otherwise).
export async function offlineContext(browser, refused, options = {}) {
  const context = await browser.newContext(options);
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if ((u.protocol === "http:" || u.protocol === "https:" || u.protocol === "ws:") && u.hostname !== "127.0.0.1") {
      refused.push(u.href);
      return route.abort();
    }
    return route.continue();
  });
  return context;
}

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".css": "text/css", ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml",
};

// A static server on 127.0.0.1 and a free port. `mounts`: URL prefix -> folder (longest prefix
// wins); `pages`: URL path -> HTML text. With `isolated`, every answer carries
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, so
// the page is cross-origin isolated (SharedArrayBuffer, wasm threads).
export async function serve({ mounts = {}, pages = {}, isolated = false }) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    const headers = { "Cache-Control": "no-store" };
    if (isolated) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
      headers["Cross-Origin-Resource-Policy"] = "same-origin";
    }
    const url = new URL(req.url, "http://127.0.0.1");
    const p = decodeURIComponent(url.pathname);
    if (pages[p] !== undefined) {
      res.writeHead(200, { ...headers, "Content-Type": TYPES[".html"] });
      return res.end(pages[p]);
    }
    const prefix = prefixes.find((x) => p.startsWith(x));
    if (prefix !== undefined) {
      const dir = path.resolve(mounts[prefix]);
      const file = path.resolve(dir, "." + p.slice(prefix.length - (prefix.endsWith("/") ? 1 : 0)));
      if ((file === dir || file.startsWith(dir + path.sep)) && existsSync(file) && statSync(file).isFile()) {
        res.writeHead(200, {
          ...headers, "Content-Type": TYPES[path.extname(file)] || "application/octet-stream",
          "Content-Length": statSync(file).size,
        });
        return createReadStream(file).pipe(res);
      }
    }
    res.writeHead(404, headers);
    res.end("not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

// CPU seconds: all CPUs busy, and this process tree's own (node, Chromium, children).
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

// Runs fn; returns its value and the share of the machine other processes used meanwhile.
export async function withLoad(fn) {
  const loadavg = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  const [b0, o0, t0] = [machineBusy(), treeCpu(process.pid), performance.now()];
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const other = Math.max(0, (machineBusy() - b0) - (treeCpu(process.pid) - o0)) / (wall * NCPU);
  return { value, load: `${(100 * other).toFixed(0)} % (1-min load avg ${loadavg} at start)`, other };
}

export const fmt = (x) => Math.round(x).toLocaleString("en-US");

// onnxruntime-web's dist folder (benches/node_modules, so it is served offline) and version; exits
// saying how to install it when it is missing.
export function ortWeb() {
  const dist = path.join(root, "benches/node_modules/onnxruntime-web/dist");
  try {
    return { dist, version: JSON.parse(readFileSync(path.join(dist, "../package.json"), "utf8")).version };
  } catch {
    console.error("benches/node_modules/onnxruntime-web is missing: run (cd benches && npm ci)");
    process.exit(2);
  }
}

// `page` served at "/" twice, with `mounts`: plainly (what a static page gets), and cross-origin
// isolated (what onnxruntime-web's wasm threads need). `server(threads)` picks the one for a
// thread count; `close()` stops both.
export async function servePlainAndIsolated(mounts, page) {
  const plain = await serve({ mounts, pages: { "/": page } });
  const isolated = await serve({ mounts, pages: { "/": page }, isolated: true });
  return {
    server: (threads) => (threads > 1 ? isolated : plain),
    close: async () => { await plain.close(); await isolated.close(); },
  };
}

// A fresh offline context and tab on `server`'s page, once the page sets window.ready; its page
// errors and console errors go to `errors`, prefixed with `tag`.
export async function openBenchTab(browser, server, refused, errors, tag) {
  const context = await offlineContext(browser, refused);
  const tab = await context.newPage();
  tab.on("pageerror", (e) => errors.push(`${tag}: ${e}`));
  tab.on("console", (m) => { if (m.type() === "error") errors.push(`${tag}: ${m.text()}`); });
  await tab.goto(`http://127.0.0.1:${server.port}/`);
  await tab.waitForFunction(() => window.ready === true);
  return { context, tab };
}

// ids.json of benches/export_onnx.py.
export function benchIds() {
  const file = path.join(benchDir, "ids.json");
  if (!existsSync(file)) {
    console.error(`${file} is missing: run /tmp/torchvenv/bin/python benches/export_onnx.py first`);
    process.exit(2);
  }
  return JSON.parse(readFileSync(file, "utf8"));
}
