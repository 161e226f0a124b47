// Runs the wasm core off the main thread, so the page never freezes. Messages (`kind`):
// "analyze" (one dataset); "layers" (one share of a dataset's layers, `part` of `parts`, empty
// beyond the layers; its numbers come back as a JS object): both read the rows through a reader
// worker of their own, ahead of the analysis (see `readAhead`); "combine" (the numbers of every
// share, joined into the dataset's result); "model-open", "model-forward", "model-take" and
// "model-finish" (a model folder run on text: the worker keeps its one open ModelRun between
// messages; www/app.js `runModel` shares the batches of forward passes out over workers and hands
// their states to one, in order); "trajectory" (one trajectory chart); and "warm" (instantiate the
// wasm now and run the estimator once on made-up rows, reply nothing: www/app.js starts workers
// ahead). Each message carries the wasm module, compiled once by the page (www/app.js
// `wasmModule`), to instantiate; replies carry the message's `id`.
import init, { combine_layers, trajectory_chart, warm_up, DatasetRun, ModelRun } from "./pkg/infoplane.js";

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
    // Started ahead by the page (www/app.js warmWorkers): instantiate, and run the estimator's
    // per-row code once on made-up rows, so that the first chunk of a run does not wait for V8 to
    // optimise it in this worker (see estimator::accumulator::warm_up).
    if (kind === "warm") {
      warm_up();
      return;
    }
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
    if (kind === "model-open") {
      modelRun?.free();
      modelRun = null;
      modelRun = new ModelRun(files, event.data.name, settings, report);
      self.postMessage({ id, type: "result", batches: Array.from(modelRun.batches()), wasmMemory: await memory() });
      return;
    }
    const share = kind === "layers" ? [event.data.part, event.data.parts] : [0, 1];
    const run = new DatasetRun(files, settings, ...share, report);
    let reading;
    try {
      reading = await readAhead(run, files);
    } catch (error) {
      run.free();
      throw error;
    }
    if (kind === "layers") {
      const { numbers, files: described } = run.numbers();
      self.postMessage({ id, type: "result", numbers, files: described, reading, wasmMemory: await memory() });
      return;
    }
    self.postMessage({ id, type: "result", json: run.report(), reading, wasmMemory: await memory() });
  } catch (error) {
    self.postMessage({ id, type: "error", message: String((error && error.message) || error) });
  }
};

// Bytes read at a time: Chromium spends less of the machine on a file read in 64 MiB slices than
// in 16 MiB ones (BENCHMARKS.md, *Issue 8, sixth pass*); a read holds several of the run's chunks.
const READ_BYTES = 64 << 20;
// Reads done ahead of the analysis: at most this many wait to be handed over.
const AHEAD = 1;

// A reader worker: reads the byte ranges `reads` names ([file, start, end, ...]) of `files` one
// after another through FileReaderSync and posts each (transferred), staying at most `ahead`
// reads ahead of the acknowledgements it gets; posts {error} and stops if a read fails.
const READER = `onmessage = (e) => {
  const { files, reads, ahead } = e.data;
  const reader = new FileReaderSync();
  let next = 0, credit = ahead;
  const pump = () => {
    for (; credit > 0 && 3 * next < reads.length; next++, credit--) {
      const [file, start, end] = reads.subarray(3 * next, 3 * next + 3);
      let bytes;
      try {
        bytes = reader.readAsArrayBuffer(files[file].slice(start, end));
      } catch (error) {
        postMessage({ error: String((error && error.message) || error), file });
        close();
        return;
      }
      postMessage({ bytes }, [bytes]);
    }
  };
  onmessage = () => {
    credit++;
    pump();
  };
  pump();
};`;
let readerUrl = null;

// The chunks [file, start, end, ...] joined into reads of at most READ_BYTES where they follow
// each other in one file: the reads ([file, start, end, ...]) and the chunks each holds.
function joinedReads(chunks) {
  const reads = [], held = [];
  for (let k = 0; 3 * k < chunks.length; k++) {
    const [file, start, end] = chunks.subarray(3 * k, 3 * k + 3);
    const last = reads.length - 3;
    if (held.length && reads[last] === file && reads[last + 2] === start && end - reads[last + 1] <= READ_BYTES) {
      reads[last + 2] = end;
      held[held.length - 1]++;
    } else {
      reads.push(file, start, end);
      held.push(1);
    }
  }
  return { reads: Float64Array.from(reads), held };
}

// Hands `run` its rows; says who read them ("ahead" or "here"). Where they are stored as plain
// bytes (DatasetRun.chunks), another worker reads them ahead while this one computes:
// FileReaderSync blocks the worker that calls it, and half of a large dump's time had been spent
// waiting in it (BENCHMARKS.md, *Issue 8, sixth pass*). Otherwise, or where a worker cannot start
// one of its own, the run reads them itself.
async function readAhead(run, files) {
  const here = () => {
    run.read_rows();
    return "here";
  };
  const chunks = run.chunks();
  if (!chunks) return here();
  const { reads, held } = joinedReads(chunks);
  if (held.length === 0) return "ahead";
  let reader;
  try {
    readerUrl ??= URL.createObjectURL(new Blob([READER], { type: "text/javascript" }));
    reader = new Worker(readerUrl);
  } catch {
    return here();
  }
  let done = 0, chunk = 0, heard = false, broken = false;
  try {
    await new Promise((resolve, reject) => {
      reader.onmessage = (m) => {
        heard = true;
        if (m.data.error !== undefined) {
          reject(new Error(`${files[m.data.file].name}: cannot be read (${m.data.error})`));
          return;
        }
        // The reader goes on with the next read while this one is computed.
        if (done + AHEAD < held.length) reader.postMessage(0);
        try {
          let at = 0;
          for (let k = 0; k < held[done]; k++, chunk++) {
            const length = chunks[3 * chunk + 2] - chunks[3 * chunk + 1];
            run.feed(new Uint8Array(m.data.bytes, at, length));
            at += length;
          }
        } catch (error) {
          reject(error);
          return;
        }
        if (++done === held.length) resolve();
      };
      reader.onerror = (event) => {
        event.preventDefault();
        broken = true;
        reject(new Error(event.message || "the reader worker stopped"));
      };
      reader.postMessage({ files, reads, ahead: AHEAD });
    });
    return "ahead";
  } catch (error) {
    // A reader that could not start at all leaves the reading to the run.
    if (broken && !heard) return here();
    throw error;
  } finally {
    reader.terminate();
  }
}
