// Runs the wasm core off the main thread, so the page never freezes: one dataset per "analyze"
// message, or one trajectory chart per "trajectory" message.
import init, { analyze, trajectory_chart } from "./pkg/infoplane.js";

const ready = init();

self.onmessage = async (event) => {
  const { id, kind } = event.data;
  try {
    await ready;
    if (kind === "trajectory") {
      const svgs = event.data.orders.map((o) => [o.name, trajectory_chart(o.points, o.name)]);
      self.postMessage({ id, type: "result", json: JSON.stringify(svgs) });
      return;
    }
    const { files, settings } = event.data;
    const json = analyze(files, settings, (done, total) =>
      self.postMessage({ id, type: "progress", done, total }));
    self.postMessage({ id, type: "result", json });
  } catch (error) {
    self.postMessage({ id, type: "error", message: String(error && error.message || error) });
  }
};
