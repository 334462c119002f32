// Drawing for the page: the neuron's graph (SVG), decision regions and loss curves (canvas).
// Pictures only; every number drawn comes from the WebAssembly module.
"use strict";

const CLASS_COLORS = [[70, 110, 200], [220, 90, 60], [60, 160, 90], [150, 90, 180]];

// The neuron's graph: nodes placed by hand, edges from inputs to outputs.
const NEURON_LAYOUT = {
  x1: [20, 20, "x1"], w1: [20, 80, "w1"], x2: [20, 150, "x2"], w2: [20, 210, "w2"],
  b: [20, 270, "b"], x1w1: [200, 50, "x1·w1"], x2w2: [200, 180, "x2·w2"],
  sum: [370, 115, "+"], act: [520, 190, "+ b"], o: [660, 190, "tanh"],
  y: [520, 270, "y"], diff: [660, 270, "o − y"], loss: [790, 230, "(·)²"],
};
const NEURON_EDGES = [["x1", "x1w1"], ["w1", "x1w1"], ["x2", "x2w2"], ["w2", "x2w2"],
  ["x1w1", "sum"], ["x2w2", "sum"], ["sum", "act"], ["b", "act"], ["act", "o"], ["o", "diff"],
  ["y", "diff"], ["diff", "loss"]];
const NODE_W = 100, NODE_H = 46;

function fmt4(x) {
  return x === null ? "nan" : (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3))
    ? x.toExponential(3) : x.toFixed(4);
}

function drawNeuronGraph(svg, values) {
  const ns = "http://www.w3.org/2000/svg";
  svg.textContent = "";
  const defs = document.createElementNS(ns, "defs");
  defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" ' +
    'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#9aa3b5"/></marker>';
  svg.appendChild(defs);
  for (const [a, b] of NEURON_EDGES) {
    const [ax, ay] = NEURON_LAYOUT[a], [bx, by] = NEURON_LAYOUT[b];
    const path = document.createElementNS(ns, "path");
    const x0 = ax + NODE_W, y0 = ay + NODE_H / 2, x1 = bx, y1 = by + NODE_H / 2;
    path.setAttribute("d", `M${x0},${y0} C${(x0 + x1) / 2},${y0} ${(x0 + x1) / 2},${y1} ${x1},${y1}`);
    path.setAttribute("class", "edge");
    svg.appendChild(path);
  }
  for (const [name, [x, y, label]] of Object.entries(NEURON_LAYOUT)) {
    const [data, grad] = values[name];
    const g = document.createElementNS(ns, "g");
    const leaf = ["x1", "x2", "w1", "w2", "b", "y"].includes(name);
    g.setAttribute("class", "node" + (leaf ? " leaf" : "") + (name === "loss" ? " loss" : ""));
    g.setAttribute("data-node", name);
    g.setAttribute("data-value", String(data));  // full precision, for the page's test
    g.setAttribute("data-grad", String(grad));
    g.innerHTML = `<rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="6"/>` +
      `<text x="${x + 6}" y="${y + 14}" font-weight="600">${label}</text>` +
      `<text x="${x + 6}" y="${y + 28}" class="data">${fmt4(data)}</text>` +
      `<text x="${x + 6}" y="${y + 42}" class="grad">grad ${fmt4(grad)}</text>`;
    svg.appendChild(g);
  }
}

// Decision regions: grid[i*res + j] = class + 0.5·confidence (row 0 at the top), then the points.
function drawBoundary(canvas, grid, res, points, bounds) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const img = ctx.createImageData(res, res);
  for (let k = 0; k < res * res; k++) {
    const cls = Math.floor(grid[k]), conf = (grid[k] - cls) * 2;
    const c = CLASS_COLORS[cls % CLASS_COLORS.length], a = 0.18 + 0.35 * conf;
    img.data[4 * k] = Math.round(255 - (255 - c[0]) * a);
    img.data[4 * k + 1] = Math.round(255 - (255 - c[1]) * a);
    img.data[4 * k + 2] = Math.round(255 - (255 - c[2]) * a);
    img.data[4 * k + 3] = 255;
  }
  const off = new OffscreenCanvas(res, res);
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, H);
  const [x0, x1, y0, y1] = bounds;
  for (const [px, py, label] of points) {
    const c = CLASS_COLORS[label % CLASS_COLORS.length];
    ctx.beginPath();
    ctx.arc((px - x0) / (x1 - x0) * W, (y1 - py) / (y1 - y0) * H, 4, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
}

// Loss curves on a log scale: series = [{name, color, ys}], x = the index.
function drawCurves(canvas, series, title) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 36;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = "#333";
  ctx.font = "13px system-ui";
  ctx.fillText(title, pad, 16);
  const all = series.flatMap(s => s.ys).filter(v => v > 0 && isFinite(v));
  if (all.length < 2) return;
  const lo = Math.log10(Math.min(...all)), hi = Math.log10(Math.max(...all));
  const n = Math.max(...series.map(s => s.ys.length));
  const X = i => pad + (W - pad - 8) * i / Math.max(1, n - 1);
  const Y = v => H - pad + 10 - (H - pad - 20) * (Math.log10(v) - lo) / Math.max(1e-9, hi - lo);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad, 22, W - pad - 8, H - pad - 12);
  ctx.fillStyle = "#666";
  ctx.fillText(Math.pow(10, hi).toPrecision(3), 2, 34);
  ctx.fillText(Math.pow(10, lo).toPrecision(3), 2, H - pad + 8);
  ctx.fillText(`step ${n - 1}`, W - 70, H - 6);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    s.ys.forEach((v, i) => (i ? ctx.lineTo(X(i), Y(v)) : ctx.moveTo(X(i), Y(v))));
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillText(s.name, pad + 8 + 60 * k, H - 6);
  });
}

// The bigram counts as a V x V heatmap (row: this character, column: the next), log-scaled.
function drawCounts(canvas, counts, vocab) {
  const ctx = canvas.getContext("2d");
  const V = vocab.length, W = canvas.width, pad = 14, cell = (W - pad) / V;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, W);
  const top = Math.log1p(Math.max(...counts));
  for (let x = 0; x < V; x++) {
    for (let y = 0; y < V; y++) {
      const a = Math.log1p(counts[x * V + y]) / top;
      ctx.fillStyle = `rgba(48, 96, 192, ${a.toFixed(3)})`;
      ctx.fillRect(pad + y * cell, pad + x * cell, cell, cell);
    }
  }
  if (V <= 64) {
    ctx.fillStyle = "#333";
    ctx.font = `${Math.min(11, cell)}px ui-monospace, monospace`;
    vocab.forEach((c, i) => {
      ctx.fillText(c, pad + i * cell + cell / 4, 10);
      ctx.fillText(c, 2, pad + i * cell + cell * 0.8);
    });
  }
}

// Attention weights of one head: row t (a query position) over columns s <= t, darker = more.
function drawAttention(canvas, tokens, att) {
  const ctx = canvas.getContext("2d");
  const T = tokens.length, W = canvas.width, pad = 16, cell = (W - pad) / T;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, W);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s <= t; s++) {
      ctx.fillStyle = `rgba(192, 57, 43, ${Math.sqrt(att[t * T + s]).toFixed(3)})`;
      ctx.fillRect(pad + s * cell, pad + t * cell, cell, cell);
    }
  }
  if (cell >= 6) {
    ctx.fillStyle = "#333";
    ctx.font = `${Math.min(11, cell)}px ui-monospace, monospace`;
    tokens.forEach((c, i) => {
      ctx.fillText(c, pad + i * cell + cell / 4, 11);
      ctx.fillText(c, 2, pad + i * cell + cell * 0.8);
    });
  }
}
