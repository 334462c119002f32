// The page's figures (bench/web-bench runs it): the baby GPT's training speed in the page
// (Chromium, one worker, WebAssembly SIMD128) beside the native build at 1 thread, both measured
// here, interleaved, medians of the runs; the page's load to its first interactive section; the
// .wasm's size, gzip-compressed. Prints one line per figure and its target; asserts nothing.
// 100 iterations by default: the page's first few run before V8 has optimized the module, which
// 30 iterations weigh at ~10% and a learner's run of thousands does not. The portable native
// build (a reference line, ~1 s an iteration) runs 20. The ratio is also given per round (a page
// and the native run just before it), whose median a slow minute of the machine moves less.
//
//   node bench/web_bench.js BUILD_WEB_DIR NATIVE_BIN_DIR [ITERS] [ROUNDS]
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const puppeteer = require("puppeteer-core");
const { serve } = require(path.join(__dirname, "..", "web", "test", "serve.js"));

const [webDir, binDir] = process.argv.slice(2, 4).map((p) => path.resolve(p));
const iters = Number(process.argv[4] || 100), rounds = Number(process.argv[5] || 3);
const genericIters = Math.min(iters, 20);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];


function nativeMs(env, n) {
  const out = execFileSync(path.join(binDir, "09_gpt"), ["--data",
    path.join(webDir, "tinyshakespeare.txt"), "--iters", String(n), "--eval-interval",
    "100000", "--eval-iters", "1", "--final-eval-iters", "1", "--sample-chars", "1"],
  { encoding: "utf8", env: { ...process.env, WIGGLE_NUM_THREADS: "1", ...env } });
  return Number(out.match(/: ([0-9.]+) ms\/iteration/)[1]);
}

async function pageMs(browser, url) {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-gpt-ready]", { timeout: 60000 });
  await page.evaluate((n) => {
    const f = document.getElementById("p9-knobs");
    f.iters.value = n;
    f.eval_interval.value = 100000;
    f.eval_iters.value = 1;
    document.body.removeAttribute("data-gpt-ready");
    f.dispatchEvent(new Event("change"));
  }, iters);
  await page.waitForSelector("body[data-gpt-ready]", { timeout: 60000 });
  await page.click("#p9-train");
  await page.waitForSelector("body[data-gpt-done]", { timeout: 1800000 });
  const log = await page.$eval("#p9-log", (e) => e.textContent);
  await page.close();
  return Number(log.trim().split("\n").pop().match(/ms\/iter ([0-9.]+)/)[1]);
}

async function loadMs(browser, url) {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 60000 });
  const ms = await page.$eval("body", (b) => Number(b.dataset.ready));
  await page.close();
  return ms;
}

(async () => {
  const server = await serve(webDir);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new", "--disable-gpu"], protocolTimeout: 1800000 });
  const loads = [];
  for (let i = 0; i < 5; i++) loads.push(await loadMs(browser, url));
  const page = [], native = [], generic = [];
  for (let r = 0; r < rounds; r++) {
    generic.push(nativeMs({ WIGGLE_ISA: "generic" }, genericIters));
    native.push(nativeMs({}, iters));
    page.push(await pageMs(browser, url));
  }
  await browser.close();
  server.close();
  const wasm = fs.readFileSync(path.join(webDir, "wiggle.wasm"));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  const p = median(page), n = median(native), g = median(generic);
  console.log(`baby GPT training, ${iters} iterations, median of ${rounds} interleaved runs:`);
  console.log(`  page (Chromium, 1 worker, wasm SIMD128)  ${p.toFixed(1)} ms/iteration  [${page.map((x) => x.toFixed(1)).join(", ")}]`);
  console.log(`  native, 1 thread, best ISA               ${n.toFixed(1)} ms/iteration  [${native.map((x) => x.toFixed(1)).join(", ")}]`);
  console.log(`  native, 1 thread, portable (generic)     ${g.toFixed(1)} ms/iteration  [${generic.map((x) => x.toFixed(1)).join(", ")}] (${genericIters} iterations)`);
  const perRound = page.map((x, i) => native[i] / x);
  console.log(`  page speed / native: ${(n / p).toFixed(3)}x (target >= 0.35x); per round ${median(perRound).toFixed(3)}x median [${perRound.map((x) => x.toFixed(3)).join(", ")}]; / native generic: ${(g / p).toFixed(2)}x`);
  console.log(`page load to first interactive section: ${median(loads).toFixed(0)} ms median of 5 [${loads.map((x) => x.toFixed(0)).join(", ")}] (target < 2000 ms)`);
  console.log(`wiggle.wasm: ${wasm.length} bytes, ${gz} gzip -9 (${(gz / 1048576).toFixed(2)} MB; target < 2 MB)`);
})().catch((e) => {
  console.error(`web_bench: error: ${e.message}`);
  process.exit(1);
});
