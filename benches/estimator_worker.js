// The page's estimator with its rows already in memory: what benches/browser_estimator.mjs
// --rows-in-memory times, beside the reference package's accumulator, which is timed on rows in
// memory too. The same wasm build and the same calls as www/worker.js (DatasetRun: open and plan,
// then feed the chunks it names, then the share's numbers), except that the chunks' bytes are read
// from the File before the clock starts, not by a reader worker as the page does; file reading is
// what benches/browser_large_dump.mjs measures.
//
// Messages: {kind: "load", wasm, files, settings, part, parts, warm} reads the share's chunks into
// memory (first warming the instance up when `warm`, as the page warms its spare workers) and
// answers {bytes}; {kind: "run"} then plans the share afresh (the headers and token ids are
// read from the File again: a few hundred kB), feeds the chunks, and answers {numbers, files, ms};
// {kind: "combine", shares, files} joins shares as the page's first worker does ({json, ms}).
import init, { combine_layers, warm_up, DatasetRun } from "../www/pkg/infoplane.js";

let loaded = null;

self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.kind === "load") {
      await init({ module_or_path: m.wasm });
      // As the page's spare workers do before a drop (www/worker.js "warm").
      if (m.warm) warm_up();
      const probe = new DatasetRun(m.files, m.settings, m.part, m.parts, () => {});
      const chunks = probe.chunks();
      probe.free();
      if (!chunks) throw new Error("the dump's rows are not stored as plain bytes");
      const reader = new FileReaderSync();
      const bytes = [];
      for (let k = 0; 3 * k < chunks.length; k++) {
        const [file, start, end] = chunks.subarray(3 * k, 3 * k + 3);
        bytes.push(new Uint8Array(reader.readAsArrayBuffer(m.files[file].slice(start, end))));
      }
      loaded = { ...m, bytes };
      self.postMessage({ bytes: bytes.reduce((n, b) => n + b.length, 0) });
    } else if (m.kind === "run") {
      const t0 = performance.now();
      const run = new DatasetRun(loaded.files, loaded.settings, loaded.part, loaded.parts, () => {});
      if (!run.chunks()) throw new Error("no chunks");
      for (const b of loaded.bytes) run.feed(b);
      const { numbers, files } = run.numbers();
      self.postMessage({ numbers, files, ms: performance.now() - t0 });
    } else if (m.kind === "combine") {
      const t0 = performance.now();
      const json = combine_layers(m.shares, m.files);
      self.postMessage({ json, ms: performance.now() - t0 });
    }
  } catch (error) {
    self.postMessage({ error: String((error && error.message) || error) });
  }
};
