// Runs the wasm analysis off the main thread, one dataset per message, so the page never freezes.
import init, { analyze } from "./pkg/infoplane.js";

const ready = init();

self.onmessage = async (event) => {
  const { id, files, settings } = event.data;
  try {
    await ready;
    const json = analyze(files, settings, (done, total) =>
      self.postMessage({ id, type: "progress", done, total }));
    self.postMessage({ id, type: "result", json });
  } catch (error) {
    self.postMessage({ id, type: "error", message: String(error && error.message || error) });
  }
};
