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

// The pieces the reader worker hands over, and how many it may have out at once (those not yet
// handed back): Chromium's stream of a file read into reused 1 MiB buffers costs its
// processes 4.0-5.4 CPU-seconds for a 4.26 GB file, against 6.6-8.0 for FileReaderSync's reads
// of 64 MiB (each a new buffer) and 4.8-6.2 for stream reads into 16 MiB buffers (BENCHMARKS.md,
// *Issue 8, ninth pass*).
const PIECE_BYTES = 1 << 20;
const PIECES_OUT = 32;

// A reader worker: streams the byte ranges `reads` names ([file, start, end, ...]) of `files` one
// after another, all of them as one run of bytes, in pieces of `piece` bytes (the last may be
// shorter): each filled buffer is posted (transferred) as {bytes, length}, and the reader waits
// for buffers to come back once `out` are out. Posts {error, file} and stops if a read fails or
// a file gives fewer bytes than asked.
const READER = `onmessage = async (e) => {
  const { files, reads, piece, out } = e.data;
  const free = [];
  let made = 0, wake = null;
  onmessage = (m) => {
    free.push(m.data);
    if (wake) wake();
  };
  const buffer = async () => {
    while (!free.length && made === out) await new Promise((resolve) => (wake = resolve));
    wake = null;
    if (free.length) return free.pop();
    made++;
    return new ArrayBuffer(piece);
  };
  let file = 0, buf = null, at = 0;
  const send = () => {
    postMessage({ bytes: buf, length: at }, [buf]);
    buf = null;
    at = 0;
  };
  try {
    for (let k = 0; 3 * k < reads.length; k++) {
      const [f, start, end] = reads.subarray(3 * k, 3 * k + 3);
      file = f;
      const stream = files[f].slice(start, end).stream();
      // A byte stream fills our buffers itself; elsewhere its chunks are copied into them.
      let byob = null;
      try {
        byob = stream.getReader({ mode: "byob" });
      } catch {}
      const plain = byob ? null : stream.getReader();
      let left = end - start;
      while (left > 0) {
        buf ??= await buffer();
        if (byob) {
          const { done, value } = await byob.read(new Uint8Array(buf, at, Math.min(piece - at, left)));
          if (value) buf = value.buffer;
          if (done) break;
          at += value.byteLength;
          left -= value.byteLength;
        } else {
          const { done, value } = await plain.read();
          if (done) break;
          if (value.length > left) throw new Error("the file gave more bytes than were asked for");
          for (let q = 0; q < value.length; ) {
            buf ??= await buffer();
            const n = Math.min(value.length - q, piece - at);
            new Uint8Array(buf, at, n).set(value.subarray(q, q + n));
            at += n;
            q += n;
            if (at === piece) send();
          }
          left -= value.length;
        }
        if (at === piece) send();
      }
      if (left !== 0) {
        throw new Error("the file gave " + (end - start - left) + " bytes where " + (end - start) + " were expected (was it changed or removed while it was read?)");
      }
    }
    if (at > 0) send();
  } catch (error) {
    postMessage({ error: String((error && error.message) || error), file });
    close();
  }
};`;
let readerUrl = null;

// The chunks [file, start, end, ...] joined into reads where they follow each other in one
// file: the reads ([file, start, end, ...]) and the bytes of all of them.
function joinedReads(chunks) {
  const reads = [];
  let total = 0;
  for (let k = 0; 3 * k < chunks.length; k++) {
    const [file, start, end] = chunks.subarray(3 * k, 3 * k + 3);
    const last = reads.length - 3;
    if (reads.length && reads[last] === file && reads[last + 2] === start) reads[last + 2] = end;
    else reads.push(file, start, end);
    total += end - start;
  }
  return { reads: Float64Array.from(reads), total };
}

// Hands `run` its rows; says who read them ("ahead" or "here"). Where they are stored as plain
// bytes (DatasetRun.chunks), another worker reads them ahead while this one computes, and hands
// them over in pieces (DatasetRun.feed_part): the run's own reads (FileReaderSync) block the
// worker, and half of a large dump's time had been spent waiting in them (BENCHMARKS.md, *Issue
// 8, sixth pass*). Otherwise, or where a worker cannot start one of its own, the run reads them
// itself.
async function readAhead(run, files) {
  const here = () => {
    run.read_rows();
    return "here";
  };
  const chunks = run.chunks();
  if (!chunks) return here();
  const { reads, total } = joinedReads(chunks);
  if (total === 0) return "ahead";
  let reader;
  try {
    readerUrl ??= URL.createObjectURL(new Blob([READER], { type: "text/javascript" }));
    reader = new Worker(readerUrl);
  } catch {
    return here();
  }
  let received = 0, heard = false, broken = false, failed = false;
  try {
    await new Promise((resolve, reject) => {
      reader.onmessage = (m) => {
        heard = true;
        if (m.data.error !== undefined) {
          failed = true;
          reject(new Error(`${files[m.data.file].name}: cannot be read (${m.data.error})`));
          return;
        }
        try {
          run.feed_part(new Uint8Array(m.data.bytes, 0, m.data.length));
        } catch (error) {
          reject(error);
          return;
        }
        received += m.data.length;
        if (received === total) resolve();
        // The buffer goes back to be filled again.
        else reader.postMessage(m.data.bytes, [m.data.bytes]);
      };
      reader.onerror = (event) => {
        event.preventDefault();
        broken = true;
        reject(new Error(event.message || "the reader worker stopped"));
      };
      reader.postMessage({ files, reads, piece: PIECE_BYTES, out: PIECES_OUT });
    });
    return "ahead";
  } catch (error) {
    // A reader that could not start at all, or could not read a byte (a browser without file
    // streams), leaves the reading to the run, which names what is wrong with the file if
    // anything is.
    if ((broken && !heard) || (failed && received === 0)) return here();
    throw error;
  } finally {
    reader.terminate();
  }
}
