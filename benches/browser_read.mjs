// How fast a Web Worker in Debian's Chromium can read a dropped file, doing nothing else with the
// bytes than one copy into a fixed buffer (what the wasm core's FileSource does): the ceiling of
// the page's end-to-end throughput, whatever the estimator's speed. Prints a markdown table.
//
//   (cd tests/browser && npm ci)
//   node benches/browser_read.mjs FILE [--repeats 3]
//
// Ways of reading, each over the whole file, best of --repeats: FileReaderSync in slices of 4, 16
// and 64 MiB, in one worker and split over two (the page's workers read
// their own layers side by side); `await blob.arrayBuffer()` in slices of 16 MiB; and
// `blob.stream()`. The last two are asynchronous: a worker inside a synchronous wasm call cannot
// use them without the analysis being driven from JavaScript chunk by chunk.

import { createRequire } from "node:module";
import path from "node:path";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "tests/browser/package.json"));
const { chromium } = require("playwright-core");
const file = process.argv[2];
if (!file || file.startsWith("--")) throw new Error("usage: node benches/browser_read.mjs FILE [--repeats 3]");
const i = process.argv.indexOf("--repeats");
const repeats = i > 0 ? Number(process.argv[i + 1]) : 3;

// The worker: reads bytes [lo, hi) of the file the way `mode` says; posts {bytes, ms}.
const WORKER = `onmessage = async (e) => {
  const { file, how, slice, lo, hi } = e.data;
  const sink = new Uint8Array(slice);
  let bytes = 0;
  const t0 = performance.now();
  if (how === "sync") {
    const reader = new FileReaderSync();
    for (let p = lo; p < hi; p += slice) {
      const b = new Uint8Array(reader.readAsArrayBuffer(file.slice(p, Math.min(hi, p + slice))));
      sink.set(b);
      bytes += b.length;
    }
  } else if (how === "async") {
    for (let p = lo; p < hi; p += slice) {
      const b = new Uint8Array(await file.slice(p, Math.min(hi, p + slice)).arrayBuffer());
      sink.set(b);
      bytes += b.length;
    }
  } else {
    const reader = file.slice(lo, hi).stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let q = 0; q < value.length; q += slice) sink.set(value.subarray(q, Math.min(value.length, q + slice)));
      bytes += value.length;
    }
  }
  postMessage({ bytes, ms: performance.now() - t0 });
};`;

const WAYS = [
  ["FileReaderSync, 4 MiB slices, 1 worker", "sync", 4, 1],
  ["FileReaderSync, 16 MiB slices, 1 worker", "sync", 16, 1],
  ["FileReaderSync, 64 MiB slices, 1 worker", "sync", 64, 1],
  ["FileReaderSync, 4 MiB slices, 2 workers (half the file each)", "sync", 4, 2],
  ["FileReaderSync, 16 MiB slices, 2 workers (half the file each)", "sync", 16, 2],
  ["await blob.arrayBuffer(), 16 MiB slices, 1 worker", "async", 16, 1],
  ["blob.stream(), 1 worker", "stream", 16, 1],
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage();
  await page.setContent('<input type="file" id="f">');
  await page.setInputFiles("#f", file);
  const size = statSync(file).size;
  console.log(`Reading ${path.basename(file)} (${(size / 1e9).toFixed(2)} GB) in Chromium ${browser.version()}, best of ${repeats}\n`);
  console.log("| way | best (s) | all runs (s) | GB/s |");
  console.log("| --- | ---: | --- | ---: |");
  for (const [name, how, mib, workers] of WAYS) {
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const got = await page.evaluate(async ({ src, how, slice, workers }) => {
        const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
        const file = document.getElementById("f").files[0];
        const t0 = performance.now();
        const parts = await Promise.all(Array.from({ length: workers }, (_, k) => new Promise((resolve, reject) => {
          const w = new Worker(url);
          w.onmessage = (e) => { w.terminate(); resolve(e.data); };
          w.onerror = (e) => reject(new Error(e.message));
          const lo = Math.floor((file.size * k) / workers), hi = Math.floor((file.size * (k + 1)) / workers);
          w.postMessage({ file, how, slice, lo, hi });
        })));
        return { bytes: parts.reduce((n, p) => n + p.bytes, 0), ms: performance.now() - t0 };
      }, { src: WORKER, how, slice: mib << 20, workers });
      if (got.bytes !== size) throw new Error(`${name}: read ${got.bytes} of ${size} bytes`);
      times.push(got.ms / 1000);
    }
    const best = Math.min(...times);
    console.log(`| ${name} | ${best.toFixed(2)} | ${times.map((t) => t.toFixed(2)).join(", ")} | ${(size / 1e9 / best).toFixed(2)} |`);
  }
} finally {
  await browser.close();
}
