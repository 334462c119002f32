// The page's controller: part 1 on the page's own module instance (each update is a few
// microseconds), parts 2-4 and 7-9 through the training worker (worker.js), part 5 through a
// second one (its model needs a module instance of its own). Errors from any of them end up as one
// line in the page's error box, never as a frozen tab.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 20 << 20;  // bytes: a word list or a CSV of points, not a corpus

function showError(line) {
  $("errors").hidden = false;
  $("error-line").textContent = line;
}

// ---- Part 1 ------------------------------------------------------------------------------------
let page = null;  // the page's instance of the module

function updateNeuron() {
  const f = new FormData($("p1-inputs"));
  const v = ["x1", "x2", "w1", "w2", "b", "y"].map((k) => Number(f.get(k)));
  if (v.some((x) => !isFinite(x))) return showError("part 1: every input must be a number");
  const json = page.ccall("neuron_graph", "string", Array(6).fill("number"), v);
  drawNeuronGraph($("p1-graph"), JSON.parse(json));
}

// ---- Parts 2-3 ---------------------------------------------------------------------------------
const worker = new Worker("worker.js");
let points = [], losses = [], vals = [], log = [];
let started = false;

function knobs() {
  const f = new FormData($("p2-knobs"));
  const a = {};
  for (const [k, v] of f.entries()) a[k] = Number(v);
  return a;
}

function newRun() {
  const a = knobs();
  const bad = Object.entries(a).find(([, v]) => !isFinite(v));
  if (bad) return showError(`parts 2-3: ${bad[0]} must be a number`);
  losses = [];
  vals = [];
  log = [];
  $("p2-log").textContent = "";
  $("p2-result").textContent = "";
  worker.postMessage({ cmd: "mlp_new", args: a });
}

function setRunning(on) {
  $("p2-train").disabled = on;
  $("p2-step").disabled = on;
  $("p2-pause").disabled = !on;
}

worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "ready") {
    // the first start; a restart after an error waits for the next change of the knobs
    if (!started) {
      newRun();
      loadNames();
      newGpt();
    }
    started = true;
  } else if (m.type === "mlp_new") {
    points = m.points;
    $("errors").hidden = true;  // a run that starts clears the last error
    $("p2-result").textContent = m.desc;
    drawBoundary($("p2-boundary"), m.grid, m.res, points, m.bounds);
    drawCurves($("p2-loss"), [], "loss");
    document.body.dataset.mlpReady = "1";
  } else if (m.type === "mlp_step") {
    const s = m.step;
    losses.push(s.loss);
    vals.push(s.val !== null ? s.val : vals[vals.length - 1]);  // minibatches: measured at times
    if (s.log) {
      log.push(s.log);
      $("p2-log").textContent = log.join("\n");
      $("p2-log").scrollTop = $("p2-log").scrollHeight;
    }
  } else if (m.type === "mlp_grid" || m.type === "mlp_done") {
    drawBoundary($("p2-boundary"), m.grid, m.res, points, m.bounds);
    drawCurves($("p2-loss"), [{ name: "train", color: "#3060c0", ys: losses },
      { name: "val", color: "#d06030", ys: vals }], "loss (log scale)");
    if (m.type === "mlp_done") {
      $("p2-result").textContent = `MLP: ${m.accuracy} after ${losses.length} steps`;
      setRunning(false);
    }
  } else if (m.type === "bigram_new") {
    $("errors").hidden = true;
    $("p4-loss").textContent =
      `${m.describe}: train ${m.train.toFixed(4)}, dev ${m.dev.toFixed(4)}`;
    drawCounts($("p4-counts"), m.counts, m.vocab);
    $("p4-sample").disabled = false;
    sampleNames();
  } else if (m.type === "bigram_sample") {
    $("p4-names").textContent = m.names.trimEnd();
    document.body.dataset.namesReady = String(Number(document.body.dataset.namesReady || 0) + 1);
  } else if (m.type === "gpt_new") {
    $("errors").hidden = true;
    gptLog = [m.data, m.model];
    gptLosses = [];
    gptEvals = [];
    $("p9-log").textContent = gptLog.join("\n");
    $("p9-progress").value = 0;
    $("p9-progress").max = Math.max(1, p9knobs().iters);
    for (const id of ["p9-train", "p9-sample", "p9-attend"]) $(id).disabled = false;
    $("p9-train").disabled = Boolean(m.loaded);  // a checkpoint samples; Reset trains anew
    $("p9-pause").disabled = true;
    drawCurves($("p9-loss"), [], "loss");
    document.body.dataset.gptReady = "1";
  } else if (m.type === "gpt_steps") {
    for (const s of m.steps) {
      if (s.loss !== null && s.loss >= 0) gptLosses.push(s.loss);
      if (s.val !== null && s.val >= 0) gptEvals.push(s.val);
      if (s.line) gptLog.push(s.line);
      $("p9-progress").value = s.iter;
      gptMs = s.ms;
    }
    $("p9-log").textContent = gptLog.join("\n");
    $("p9-log").scrollTop = $("p9-log").scrollHeight;
    drawCurves($("p9-loss"), [{ name: "train (batch)", color: "#3060c0", ys: gptLosses }],
      `loss (log scale), ${gptMs.toFixed(1)} ms/iteration`);
  } else if (m.type === "gpt_done" || m.type === "gpt_paused") {
    $("p9-train").disabled = m.type === "gpt_done";
    $("p9-pause").disabled = true;
    if (m.type === "gpt_done") document.body.dataset.gptDone = String(gptLosses.length);
  } else if (m.type === "gpt_sample") {
    $("p9-sample-text").textContent = m.text;
    document.body.dataset.gptSamples = String(Number(document.body.dataset.gptSamples || 0) + 1);
  } else if (m.type === "gpt_attention") {
    drawAttention($("p9-attention"), m.tokens, m.att);
    document.body.dataset.gptAttention = "1";
  } else if (m.type === "paused") {
    setRunning(false);
  } else if (m.type === "error") {
    setRunning(false);
    showError(m.line.trimEnd());
  }
};
worker.onerror = (e) => showError(`worker: ${e.message}`);

$("p2-train").onclick = () => {
  setRunning(true);
  worker.postMessage({ cmd: "mlp_run" });
};
$("p2-step").onclick = () => worker.postMessage({ cmd: "mlp_run", steps: 1 });
$("p2-pause").onclick = () => worker.postMessage({ cmd: "pause" });
$("p2-reset").onclick = () => {
  setRunning(false);
  newRun();
};
$("p2-csv").addEventListener("change", async (ev) => {
  ev.stopPropagation();  // the form's change handler starts a run once the file is in the worker
  const file = ev.target.files[0];
  if (!file) return;
  if (file.size > MAX_UPLOAD) {
    return showError(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is too big for a ` +
      "CSV of points (hint: at most 20 MB)");
  }
  worker.postMessage({ cmd: "csv", bytes: await file.arrayBuffer() });
  const select = $("p2-knobs").elements.dataset;
  select.options[4].disabled = false;
  select.value = "4";
  setRunning(false);
  newRun();
});
$("p2-knobs").addEventListener("change", () => {
  setRunning(false);
  newRun();
});
// The two articles' settings: 02_mlp's full-batch demo, 03_learn_well's recipe.
const RECIPES = {
  "p2-recipe2": { dataset: 0, n: 100, noise: 0.1, seed: 1337, width: 16, depth: 2, loss: 0, lr: 1.0,
    lr_end: 0.1, schedule: 1, momentum: 0, alpha: 0.0001, steps: 100, batch: 0, warmup: 0,
    holdout: 0 },
  "p2-recipe3": { dataset: 1, n: 300, noise: 0.2, seed: 1337, width: 16, depth: 2, loss: 1, lr: 0.1,
    lr_end: 0.001, schedule: 2, momentum: 0.9, alpha: 0.001, steps: 1500, batch: 32, warmup: 50,
    holdout: 1 },
};
for (const [id, recipe] of Object.entries(RECIPES)) {
  $(id).onclick = () => {
    const f = $("p2-knobs").elements;
    for (const [k, v] of Object.entries(recipe)) f[k].value = String(v);
    setRunning(false);
    newRun();
  };
}

// ---- Part 4 -------------------------------------------------------------------------------------
let wordList = null;  // {name, bytes}

function p4knobs() {
  const f = new FormData($("p4-knobs"));
  return { alpha: Number(f.get("alpha")), seed: Number(f.get("seed")),
    count: Number(f.get("count")), temperature: Number(f.get("temperature")),
    top_k: Number(f.get("top_k")) };
}

function countBigrams() {
  if (!wordList) return;
  $("p4-sample").disabled = true;
  // a copy of the bytes: the worker takes its own
  worker.postMessage({ cmd: "bigram_new", name: wordList.name, bytes: wordList.bytes.slice(0),
    alpha: p4knobs().alpha });
}

function sampleNames() {
  const k = p4knobs();
  $("p4-temp").textContent = k.temperature.toFixed(2);
  worker.postMessage({ cmd: "bigram_sample", ...k });
}

async function loadNames() {
  try {
    const r = await fetch("names.txt");
    if (!r.ok) throw new Error(`names.txt: HTTP ${r.status} (hint: scripts/fetch-data, then build again)`);
    wordList = { name: "names.txt", bytes: await r.arrayBuffer() };
    names = wordList.bytes;
    countBigrams();
    newEmbed();
  } catch (e) {
    $("p4-loss").textContent = `no names.txt: ${e.message}; pick a word list instead`;
  }
}

$("p4-sample").onclick = sampleNames;
$("p4-knobs").addEventListener("change", (ev) => {
  if (ev.target.name === "alpha") countBigrams();
  else if (ev.target.id !== "p4-file" && !$("p4-sample").disabled) sampleNames();
});
$("p4-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  if (file.size > MAX_UPLOAD) {
    return showError(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is too big for a ` +
      "word list (hint: at most 20 MB, one word per line)");
  }
  wordList = { name: file.name, bytes: await file.arrayBuffer() };
  countBigrams();
});

// ---- Part 5 ------------------------------------------------------------------------------------
const embedWorker = new Worker("worker.js");
let names = null;  // names.txt's bytes: part 5 trains on them
let embedLog = [], embedLosses = [], embedDevs = [];

function p5knobs(form) {
  const a = {};
  for (const [k, v] of new FormData($(form)).entries()) a[k] = Number(v);
  return a;
}

function newEmbed() {
  if (!names) return;
  const a = p5knobs("p5-knobs");
  const bad = Object.entries(a).find(([, v]) => !isFinite(v));
  if (bad) return showError(`part 5: ${bad[0]} must be a number`);
  for (const id of ["p5-train", "p5-pause", "p5-sample"]) $(id).disabled = true;
  embedWorker.postMessage({ cmd: "embed_new", name: "names.txt", bytes: names.slice(0), args: a });
}

function embedSample() {
  const k = p5knobs("p5-sampling");
  $("p5-temp").textContent = k.temperature.toFixed(2);
  embedWorker.postMessage({ cmd: "embed_sample", ...k });
}

function drawEmbedCurves() {
  drawCurves($("p5-loss"), [{ name: "batch", color: "#3060c0", ys: embedLosses },
    { name: "dev", color: "#d06030", ys: embedDevs }], "loss (log scale)");
}

embedWorker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "embed_new") {
    $("errors").hidden = true;
    embedLog = [m.data, m.model, m.training];
    embedLosses = [];
    embedDevs = [];
    $("p5-log").textContent = embedLog.join("\n");
    $("p5-result").textContent = "";
    $("p5-progress").value = 0;
    $("p5-progress").max = Math.max(1, p5knobs("p5-knobs").steps);
    $("p5-train").disabled = false;
    $("p5-sample").disabled = false;
    $("p5-pause").disabled = true;
    drawCurves($("p5-loss"), [], "loss");
    document.body.dataset.embedReady = "1";
  } else if (m.type === "embed_steps") {
    for (const s of m.steps) {
      embedLosses.push(s.loss);
      embedDevs.push(s.dev !== null ? s.dev : embedDevs[embedDevs.length - 1]);
      if (s.line) embedLog.push(s.line);
      $("p5-progress").value = s.step + 1;
    }
    $("p5-log").textContent = embedLog.join("\n");
    $("p5-log").scrollTop = $("p5-log").scrollHeight;
    drawEmbedCurves();
  } else if (m.type === "embed_done" || m.type === "embed_paused") {
    $("p5-train").disabled = m.type === "embed_done";
    $("p5-pause").disabled = true;
    if (m.type === "embed_done") {
      $("p5-result").textContent = m.losses;
      document.body.dataset.embedDone = String(embedLosses.length);
      embedSample();
    }
  } else if (m.type === "embed_sample") {
    $("p5-names").textContent = m.names.trimEnd();
    document.body.dataset.embedSamples = String(Number(document.body.dataset.embedSamples || 0) + 1);
  } else if (m.type === "error") {
    // the worker restarted without the model: Reset (or a change of the knobs) builds a new one
    for (const id of ["p5-train", "p5-pause", "p5-sample"]) $(id).disabled = true;
    showError(m.line.trimEnd());
  }
};
embedWorker.onerror = (e) => showError(`part 5 worker: ${e.message}`);

$("p5-train").onclick = () => {
  $("p5-train").disabled = true;
  $("p5-pause").disabled = false;
  embedWorker.postMessage({ cmd: "embed_run" });
};
$("p5-pause").onclick = () => embedWorker.postMessage({ cmd: "embed_pause" });
$("p5-reset").onclick = newEmbed;
$("p5-knobs").addEventListener("change", newEmbed);
$("p5-sample").onclick = embedSample;
$("p5-sampling").addEventListener("change", () => {
  if (!$("p5-sample").disabled) embedSample();
});

// ---- Parts 7-9 ---------------------------------------------------------------------------------
let gptLog = [], gptLosses = [], gptEvals = [], gptMs = 0, shakespeare = null;

function p9knobs() {
  const a = {};
  for (const [k, v] of new FormData($("p9-knobs")).entries()) a[k] = Number(v);
  return a;
}

async function newGpt() {
  const a = p9knobs();
  const bad = Object.entries(a).find(([, v]) => !isFinite(v));
  if (bad) return showError(`part 9: ${bad[0]} must be a number`);
  for (const id of ["p9-train", "p9-pause", "p9-sample", "p9-attend"]) $(id).disabled = true;
  if (!shakespeare) {
    const r = await fetch("tinyshakespeare.txt");
    if (!r.ok) {
      return showError(`tinyshakespeare.txt: HTTP ${r.status} (hint: scripts/fetch-data, then ` +
        "build again)");
    }
    shakespeare = await r.arrayBuffer();
  }
  worker.postMessage({ cmd: "gpt_new", args: a, bytes: shakespeare.slice(0) });
}

function gptSample() {
  const f = new FormData($("p9-sampling"));
  $("p9-temp").textContent = Number(f.get("temperature")).toFixed(2);
  worker.postMessage({ cmd: "gpt_sample", n: Number(f.get("n")),
    temperature: Number(f.get("temperature")), top_k: Number(f.get("top_k")),
    seed: Number(f.get("seed")) });
}

$("p9-train").onclick = () => {
  $("p9-train").disabled = true;
  $("p9-pause").disabled = false;
  worker.postMessage({ cmd: "gpt_run" });
};
$("p9-pause").onclick = () => worker.postMessage({ cmd: "gpt_pause" });
$("p9-reset").onclick = newGpt;
$("p9-knobs").addEventListener("change", newGpt);
$("p9-sample").onclick = gptSample;
const MAX_CHECKPOINT = 256 << 20;  // bytes: the page holds the file and the model at once
$("p9-checkpoint").addEventListener("change", async (ev) => {
  ev.stopPropagation();  // not a change of the training knobs
  const file = ev.target.files[0];
  if (!file) return;
  if (file.size > MAX_CHECKPOINT) {
    return showError(`${file.name}: ${(file.size / 1048576).toFixed(0)} MB is too big for the ` +
      "page (hint: at most 256 MB; sample it with wiggle sample)");
  }
  for (const id of ["p9-train", "p9-pause", "p9-sample", "p9-attend"]) $(id).disabled = true;
  document.body.removeAttribute("data-gpt-ready");
  worker.postMessage({ cmd: "gpt_load", bytes: await file.arrayBuffer() });
});
$("p9-sampling").addEventListener("change", (ev) => {
  if (["temperature", "top_k", "n", "seed"].includes(ev.target.name)) gptSample();
});
$("p9-attend").onclick = () => {
  const f = new FormData($("p9-sampling"));
  worker.postMessage({ cmd: "gpt_attention", line: String(f.get("line")),
    layer: Number(f.get("layer")), head: Number(f.get("head")) });
};

// ---- Start -------------------------------------------------------------------------------------
createWiggle().then((mod) => {
  page = mod;
  page._web_init();
  $("p1-article").textContent = page.ccall("neuron_article", "string", [], []).trimEnd();
  $("p1-inputs").addEventListener("input", () => {
    try {
      updateNeuron();
    } catch (e) {
      showError(page.lastError || String(e));
    }
  });
  updateNeuron();
  const ms = performance.now();  // since the navigation started: the page's load to interactive
  $("status").textContent = `ready in ${ms.toFixed(0)} ms`;
  document.body.dataset.ready = ms.toFixed(1);
}, (e) => showError(`could not load wiggle.wasm: ${e}`));
