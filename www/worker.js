// Runs the wasm core off the main thread, so the page never freezes. Messages (`kind`):
// "analyze" (one dataset); "layers" (one share of a dataset's layers, `part` of `parts`, empty
// beyond the layers; its numbers come back as a JS object); "combine" (the numbers of every
// share, joined into the dataset's result); "model-open", "model-forward", "model-take" and
// "model-finish" (a model folder run on text: the worker keeps its one open ModelRun between
// messages; www/app.js `runModel` shares the batches of forward passes out over workers and hands
// their states to one, in order); "trajectory" (one trajectory chart); and "warm" (instantiate the
// wasm now, reply nothing: www/app.js starts workers ahead). Each message carries the wasm module,
// compiled once by the page (www/app.js `wasmModule`), to instantiate; replies carry the
// message's `id`.
import init, { analyze, analyze_layers, combine_layers, trajectory_chart, ModelRun } from "./pkg/infoplane.js";

let ready = null;
// This worker's model run, between its messages.
let modelRun = null;

self.onmessage = async (event) => {
  const { id, kind, wasm } = event.data;
  try {
    ready ??= init(wasm ? { module_or_path: wasm } : undefined);
    // The instance's memory (it only grows), for benches/browser_large_dump.mjs.
    const memory = async () => (await ready).memory.buffer.byteLength;
    await ready;
    // Started ahead by the page (www/app.js warmWorkers): the instance is all it wanted.
    if (kind === "warm") return;
    if (kind === "trajectory") {
      const svgs = event.data.orders.map((o) => [o.name, trajectory_chart(o.points, o.name)]);
      self.postMessage({ id, type: "result", json: JSON.stringify(svgs) });
      return;
    }
    if (kind === "combine") {
      self.postMessage({ id, type: "result", json: combine_layers(event.data.shares, event.data.files) });
      return;
    }
    if (kind === "model-forward") {
      const states = modelRun.forward(event.data.first, event.data.end);
      self.postMessage({ id, type: "result", states }, [states.buffer]);
      return;
    }
    if (kind === "model-take") {
      modelRun.take(event.data.first, event.data.end, event.data.states);
      self.postMessage({ id, type: "result" });
      return;
    }
    if (kind === "model-finish") {
      const json = modelRun.finish();
      modelRun.free();
      modelRun = null;
      self.postMessage({ id, type: "result", json, wasmMemory: await memory() });
      return;
    }
    const { files, settings } = event.data;
    const report = (bytes, totalBytes, layersDone, layersTotal) =>
      self.postMessage({ id, type: "progress", bytes, totalBytes, layersDone, layersTotal });
    if (kind === "layers") {
      const share = analyze_layers(files, settings, event.data.part, event.data.parts, report);
      self.postMessage({ id, type: "result", numbers: share.numbers, files: share.files, wasmMemory: await memory() });
      return;
    }
    if (kind === "model-open") {
      modelRun?.free();
      modelRun = null;
      modelRun = new ModelRun(files, event.data.name, settings, report);
      self.postMessage({ id, type: "result", batches: Array.from(modelRun.batches()), wasmMemory: await memory() });
      return;
    }
    const json = analyze(files, settings, report);
    self.postMessage({ id, type: "result", json, wasmMemory: await memory() });
  } catch (error) {
    self.postMessage({ id, type: "error", message: String((error && error.message) || error) });
  }
};
