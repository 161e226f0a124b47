// Runs the wasm core off the main thread, so the page never freezes: one dataset per "analyze"
// message, or one trajectory chart per "trajectory" message. Each message carries the wasm to
// load: the URL of the build the page chose (www/wasm.js), or the compiled module (the
// single-file build, which has no wasm file to fetch).
import init, { analyze, analyze_model, trajectory_chart } from "./pkg/infoplane.js";

let ready = null;

self.onmessage = async (event) => {
  const { id, kind, wasm } = event.data;
  try {
    ready ??= init(wasm ? { module_or_path: wasm } : undefined);
    await ready;
    if (kind === "trajectory") {
      const svgs = event.data.orders.map((o) => [o.name, trajectory_chart(o.points, o.name)]);
      self.postMessage({ id, type: "result", json: JSON.stringify(svgs) });
      return;
    }
    const { files, settings } = event.data;
    const report = (bytes, totalBytes, layersDone, layersTotal) =>
      self.postMessage({ id, type: "progress", bytes, totalBytes, layersDone, layersTotal });
    // A model folder: its progress counts sequences of text, not layers.
    const json = kind === "model" ? analyze_model(files, event.data.name, settings, report) : analyze(files, settings, report);
    // The wasm instance's memory at the end (it only grows), for benches/browser_large_dump.mjs.
    self.postMessage({ id, type: "result", json, wasmMemory: (await ready).memory.buffer.byteLength });
  } catch (error) {
    self.postMessage({ id, type: "error", message: String((error && error.message) || error) });
  }
};
