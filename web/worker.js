// The page's training worker: its own instance of the WebAssembly module, so a long run never
// blocks the page. Messages in (by cmd): csv {bytes} (the MLP's data set 4), mlp_new {args},
// mlp_run {steps}, pause, bigram_new {name, bytes, alpha}, bigram_sample {count, seed,
// temperature, top_k}, gpt_new {args, bytes}, gpt_load {bytes}, gpt_run, gpt_pause, gpt_sample
// {n, temperature, top_k, seed}, gpt_attention {line, layer, head}, embed_new {args, bytes},
// embed_run, embed_pause, embed_sample {count, seed, temperature, top_k}. Messages out (by type):
// ready, mlp_new, mlp_step, mlp_grid, mlp_done, paused, bigram_new, bigram_sample, gpt_new,
// gpt_steps, gpt_done, gpt_paused, gpt_sample, gpt_attention, embed_new, embed_steps, embed_done,
// embed_paused, embed_sample, error {line}. Training runs in small slices with a macrotask between
// them, so a pause arriving mid-run is seen at once. The page runs part 5 (embed_*) in a second
// worker: its model and part 2's each need the bottom of their instance's tape.
// A user error inside the module (WIGGLE_CHECK) aborts that instance: the worker reports its one
// line and starts a fresh instance.
"use strict";
importScripts("wiggle.js");

let mod = null;
let running = false;
const GRID = 64, BOUNDS = { 0: [-1.6, 2.6, -1.1, 1.6], 1: [-1.2, 1.2, -1.2, 1.2],
  2: [-1.6, 1.6, -1.6, 1.6], 3: [-1.4, 1.4, -1.4, 1.4] };
let dataset = 0, stepsConfigured = 0, stepsTotal = 0, stepsDone = 0;

async function start() {
  mod = await createWiggle();
  mod._web_init();
  postMessage({ type: "ready" });
}

function call(name, ret, types, args) {
  try {
    return mod.ccall(name, ret, types, args);
  } catch (e) {
    const line = mod.lastError || String(e);
    running = false;
    embedRunning = false;
    postMessage({ type: "error", line });
    booting = start();  // a fresh instance: the aborted one is done
    throw new Error("reported");
  }
}

let csvBounds = null;  // the CSV's points' box, with a margin

function grid() {
  const b = dataset === 4 && csvBounds ? csvBounds : BOUNDS[dataset] || BOUNDS[0];
  const ptr = call("mlp_grid", "number", ["number", "number", "number", "number", "number"],
                   [GRID, b[0], b[1], b[2], b[3]]);
  return { grid: mod.HEAPF32.slice(ptr >> 2, (ptr >> 2) + GRID * GRID), res: GRID, bounds: b };
}

function runSlice() {
  if (!running) return;
  const t0 = performance.now();
  try {
    while (running && stepsDone < stepsTotal && performance.now() - t0 < 30) {
      const s = JSON.parse(call("mlp_step", "string", [], []));
      stepsDone++;
      postMessage({ type: "mlp_step", step: s });
    }
    if (stepsDone >= stepsTotal) {
      running = false;
      const accuracy = call("mlp_accuracy", "string", [], []);
      postMessage({ type: "mlp_done", accuracy, ...grid() });
      return;
    }
    postMessage({ type: "mlp_grid", ...grid() });
  } catch (e) {
    return;
  }
  setTimeout(runSlice, 0);
}

// The GPT trains in slices of ~50 ms, posting each slice's iterations.
let gptRunning = false;
function gptSlice() {
  if (!gptRunning) return;
  const t0 = performance.now(), steps = [];
  try {
    let s = null;
    do {
      s = JSON.parse(call("gpt_step", "string", [], []));
      steps.push(s);
    } while (!s.done && performance.now() - t0 < 50);
    postMessage({ type: "gpt_steps", steps });
    if (s.done) {
      gptRunning = false;
      postMessage({ type: "gpt_done" });
      return;
    }
  } catch (e) {
    return;
  }
  setTimeout(gptSlice, 0);
}

// Part 5 trains in slices of ~50 ms, posting each slice's steps; the losses on the whole splits
// when the run is done.
let embedRunning = false;
function embedSlice() {
  if (!embedRunning) return;
  const t0 = performance.now(), steps = [];
  try {
    let s = null;
    do {
      s = JSON.parse(call("embed_step", "string", [], []));
      steps.push(s);
    } while (!s.done && performance.now() - t0 < 50);
    postMessage({ type: "embed_steps", steps });
    if (s.done) {
      embedRunning = false;
      postMessage({ type: "embed_done", losses: call("embed_losses", "string", [], []) });
      return;
    }
  } catch (e) {
    return;
  }
  setTimeout(embedSlice, 0);
}

// Messages are handled in order, each once the module instance is up.
let booting = null, queue = Promise.resolve();
onmessage = (ev) => {
  queue = queue.then(() => booting).then(() => handle(ev.data));
};

function handle(m) {
  try {
    if (m.cmd === "mlp_new") {
      running = false;
      const a = m.args;
      dataset = a.dataset;
      stepsConfigured = a.steps;
      stepsDone = 0;
      const desc = call("mlp_new", "string",
        Array(16).fill("number"),
        [a.dataset, a.n, a.noise, a.seed, a.width, a.depth, a.loss, a.lr, a.lr_end, a.schedule,
         a.steps, a.momentum, a.alpha, a.batch, a.warmup, a.holdout]);
      const points = JSON.parse(call("mlp_points", "string", [], []));
      if (dataset === 4) {
        const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
        const mx = 0.1 * (Math.max(...xs) - Math.min(...xs)) || 1;
        const my = 0.1 * (Math.max(...ys) - Math.min(...ys)) || 1;
        csvBounds = [Math.min(...xs) - mx, Math.max(...xs) + mx, Math.min(...ys) - my,
          Math.max(...ys) + my];
      }
      postMessage({ type: "mlp_new", desc, points, ...grid() });
    } else if (m.cmd === "mlp_run") {
      // "Train" runs to the configured number of steps, "Step" one more
      stepsTotal = m.steps ? stepsDone + m.steps : Math.max(stepsConfigured, stepsDone);
      running = true;
      setTimeout(runSlice, 0);
    } else if (m.cmd === "csv") {
      mod.FS.writeFile("/data.csv", new Uint8Array(m.bytes));
    } else if (m.cmd === "bigram_new") {
      // the word list goes into the module's in-memory file system, where the library reads it
      const file = m.name === "names.txt" ? "/names.txt" : "/upload.txt";
      mod.FS.writeFile(file, new Uint8Array(m.bytes));
      const r = JSON.parse(call("bigram_new", "string", ["string", "number"], [file, m.alpha]));
      postMessage({ type: "bigram_new", ...r });
    } else if (m.cmd === "bigram_sample") {
      const names = call("bigram_sample", "string", ["number", "number", "number", "number"],
                         [m.count, m.seed, m.temperature, m.top_k]);
      postMessage({ type: "bigram_sample", names });
    } else if (m.cmd === "gpt_new") {
      gptRunning = false;
      const a = m.args;
      if (!mod.FS.analyzePath("/tinyshakespeare.txt").exists) {
        if (!m.bytes) throw new Error("tinyshakespeare.txt is missing (hint: scripts/fetch-data, then build again)");
        mod.FS.writeFile("/tinyshakespeare.txt", new Uint8Array(m.bytes));
      }
      const r = JSON.parse(call("gpt_new", "string", Array(13).fill("number").fill("string", 0, 1),
        ["/tinyshakespeare.txt", a.n_layer, a.n_head, a.n_embd, a.block, a.batch, a.iters, a.lr,
         a.min_lr, a.warmup, a.eval_interval, a.eval_iters, a.seed]));
      postMessage({ type: "gpt_new", ...r });
    } else if (m.cmd === "gpt_load") {
      gptRunning = false;
      mod.FS.writeFile("/checkpoint.safetensors", new Uint8Array(m.bytes));
      const r = JSON.parse(call("gpt_load", "string", ["string"], ["/checkpoint.safetensors"]));
      mod.FS.unlink("/checkpoint.safetensors");  // the model has its own copy
      postMessage({ type: "gpt_new", loaded: true, ...r });
    } else if (m.cmd === "gpt_run") {
      gptRunning = true;
      setTimeout(gptSlice, 0);
    } else if (m.cmd === "gpt_pause") {
      gptRunning = false;
      postMessage({ type: "gpt_paused" });
    } else if (m.cmd === "gpt_sample") {
      const text = call("gpt_sample", "string", ["number", "number", "number", "number"],
                        [m.n, m.temperature, m.top_k, m.seed]);
      postMessage({ type: "gpt_sample", text });
    } else if (m.cmd === "gpt_attention") {
      const r = JSON.parse(call("gpt_attention", "string", ["string", "number", "number"],
                                [m.line, m.layer, m.head]));
      postMessage({ type: "gpt_attention", ...r });
    } else if (m.cmd === "embed_new") {
      embedRunning = false;
      const a = m.args;
      const file = m.name === "names.txt" ? "/names.txt" : "/upload.txt";
      mod.FS.writeFile(file, new Uint8Array(m.bytes));
      const r = JSON.parse(call("embed_new", "string", ["string"].concat(Array(6).fill("number")),
        [file, a.steps, a.batch, a.lr, a.hidden, a.embedding, a.context]));
      postMessage({ type: "embed_new", ...r });
    } else if (m.cmd === "embed_run") {
      embedRunning = true;
      setTimeout(embedSlice, 0);
    } else if (m.cmd === "embed_pause") {
      embedRunning = false;
      postMessage({ type: "embed_paused" });
    } else if (m.cmd === "embed_sample") {
      const names = call("embed_sample", "string", ["number", "number", "number", "number"],
                         [m.count, m.seed, m.temperature, m.top_k]);
      postMessage({ type: "embed_sample", names });
    } else if (m.cmd === "pause") {
      running = false;
      postMessage({ type: "paused", steps: stepsDone });
    }
  } catch (e) {
    if (e.message !== "reported") postMessage({ type: "error", line: String(e) });
  }
}

booting = start();
