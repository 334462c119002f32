// The page's test (scripts/test-web): serves build-web/ on a free local port, loads it in Debian's
// Chromium (headless, through puppeteer-core) and compares what the page shows with the native
// ladder programs' output, run here as the oracle:
//   - part 1: the article's lines exactly as build/bin/01_neuron prints them; the graph's output
//     equal to the article's first line, every gradient equal to the chain rule written out in
//     JavaScript, and a live edit flowing forward and back;
//   - parts 2-3: 100 steps on two moons in the worker give build/bin/02_mlp's log lines and final
//     accuracies exactly; "Part 3's recipe" (1500 minibatch steps on three spirals) gives
//     build/bin/03_learn_well --no-table's log lines and final accuracies exactly;
//   - part 4: the counted bigram's train/dev losses and its 10 names for seed 1337 are
//     build/bin/04_bigram's (on the names.txt the build copied into build-web/);
//   - part 5: 200 steps of the character MLP (05_embeddings --steps 200 and the page's steps knob
//     set to 200; the default 20000 take minutes), paused and resumed, give 05_embeddings' settings
//     and log lines (but its ms), its losses on the whole splits and its 10 names for seed 1337;
//   - parts 7-9: 6 iterations of the baby GPT, paused and resumed in between, give 09_gpt's loss
//     lines (the portable kernels, one thread: WIGGLE_ISA=generic) and its 100 sampled characters;
//     the attention heatmap draws; web/test/tiny.safetensors (a wiggle train checkpoint) loads
//     through the file picker and samples the characters `wiggle sample` prints for the same seed;
//   - bad input: a file that is not a checkpoint, a CSV of points with a bad row, an out-of-range knob, a word list that is not text and one too big each show
//     one clear line in the page, and the page keeps working;
//   - no console errors or uncaught exceptions;
// and writes a screenshot of each section into build-web/screenshots/. No timing is asserted;
// the load time is written to build-web/screenshots/load_ms.txt for bench/web-bench.
//
//   node web/test/page_test.js BUILD_WEB_DIR NATIVE_BIN_DIR
"use strict";
const assert = require("assert");
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");
const { serve } = require("./serve.js");

const [webDir, binDir] = process.argv.slice(2).map((p) => path.resolve(p));
const shots = path.join(webDir, "screenshots");


function native(program, args = []) {
  return execFileSync(path.join(binDir, program), args, { encoding: "utf8" });
}

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(e.message).split("\n").join("\n     ")}`);
  }
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const server = await serve(webDir);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new", "--disable-gpu"],
    protocolTimeout: 600000,
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.message}`));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 60000 });
  const loadMs = await page.$eval("body", (b) => Number(b.dataset.ready));
  fs.writeFileSync(path.join(shots, "load_ms.txt"), `${loadMs}\n`);

  await check("part 1: the article's lines are 01_neuron's", async () => {
    const expected = native("01_neuron").split("\n").slice(0, 7).join("\n");
    const shown = await page.$eval("#p1-article", (e) => e.textContent);
    assert.strictEqual(shown, expected);
  });

  const graph = () => page.$$eval("#p1-graph g.node", (gs) => Object.fromEntries(
    gs.map((g) => [g.dataset.node, [Number(g.dataset.value), Number(g.dataset.grad)]])));
  // The chain rule by hand, in double: the oracle for every gradient the page shows.
  function chainRule(x1, x2, w1, w2, b, y) {
    const o = Math.tanh(x1 * w1 + x2 * w2 + b);
    const dl_do = 2 * (o - y), dl_dact = dl_do * (1 - o * o);
    return { o, loss: (o - y) * (o - y), w1: dl_dact * x1, w2: dl_dact * x2, b: dl_dact,
      x1: dl_dact * w1, x2: dl_dact * w2, y: -dl_do };
  }
  function compareGraph(g, inputs) {
    const want = chainRule(...inputs);
    const close = (a, b) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
    for (const k of ["w1", "w2", "b", "x1", "x2", "y"]) {
      assert.ok(close(g[k][1], want[k]), `grad ${k}: page ${g[k][1]}, chain rule ${want[k]}`);
    }
    assert.ok(close(g.o[0], want.o), `o: page ${g.o[0]}, tanh ${want.o}`);
    assert.ok(close(g.loss[0], want.loss), `loss: page ${g.loss[0]}, expected ${want.loss}`);
  }

  await check("part 1: the graph's output and gradients", async () => {
    const g = await graph();
    const first = Number(native("01_neuron").split("\n")[0]);
    assert.strictEqual(g.o[0], first, "o is the article's neuron(2, 1, -0.6, 0.8, 0.1)");
    compareGraph(g, [2, 1, -0.6, 0.8, 0.1, 1]);
  });

  await check("part 1: an edit flows forward and back", async () => {
    await page.$eval("#p1-inputs input[name=w1]", (e) => {
      e.value = "0.35";
      e.dispatchEvent(new Event("input", { bubbles: true }));
    });
    compareGraph(await graph(), [2, 1, 0.35, 0.8, 0.1, 1]);
    await page.$eval("#p1-inputs input[name=w1]", (e) => {
      e.value = "-0.6";
      e.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  await (await page.$("#part1")).screenshot({ path: path.join(shots, "part1.png") });

  await check("parts 2-3: 100 steps on moons give 02_mlp's log and accuracy", async () => {
    await page.waitForSelector("body[data-mlp-ready]", { timeout: 60000 });
    await page.click("#p2-train");
    await page.waitForFunction(
      () => /accuracy/.test(document.getElementById("p2-result").textContent), { timeout: 300000 });
    const out = native("02_mlp").split("\n");
    const start = out.findIndex((l) => l.startsWith("MLP 2 -> 16 -> 16 -> 1"));
    const expectedLog = out.slice(start + 1).filter((l) => l.startsWith("step")).join("\n");
    const acc = out.find((l) => l.startsWith("MLP: train accuracy")).match(/train accuracy [^(]*/)[0]
      .trim();
    assert.strictEqual(await page.$eval("#p2-log", (e) => e.textContent), expectedLog);
    const result = await page.$eval("#p2-result", (e) => e.textContent);
    assert.ok(result.includes(acc + " after 100 steps"), `page: ${result}\nnative: ${acc}`);
  });
  await (await page.$("#part2")).screenshot({ path: path.join(shots, "part2.png") });

  await check("bad input: an out-of-range knob is one line in the page, and the page recovers",
    async () => {
      await page.$eval("#p2-knobs input[name=n]", (e) => {
        e.value = "1";
        e.dispatchEvent(new Event("change", { bubbles: true }));
      });
      await page.waitForFunction(() => !document.getElementById("errors").hidden,
        { timeout: 30000 });
      const line = await page.$eval("#error-line", (e) => e.textContent);
      assert.match(line, /^error: points: 1 is out of range \(hint: use 4 to 2000 points\)/);
      await page.$eval("#p2-knobs input[name=n]", (e) => {
        e.value = "100";
        e.dispatchEvent(new Event("change", { bubbles: true }));
      });
      await page.click("#p2-step");
      await page.waitForFunction(
        () => /step +0 loss/.test(document.getElementById("p2-log").textContent), { timeout: 30000 });
      assert.ok(await page.$eval("#errors", (e) => e.hidden), "the error line is cleared");
    });

  await check("bad input: a CSV with a bad row is one line; a good one trains", async () => {
    const good = path.join(shots, "points.csv"), bad = path.join(shots, "bad.csv");
    const rows = ["x1,x2,label"];
    for (let i = 0; i < 40; i++) rows.push(`${(i % 2 ? 1 : -1) + 0.01 * i},${0.02 * i},${i % 2}`);
    fs.writeFileSync(good, rows.join("\n") + "\n");
    fs.writeFileSync(bad, "x1,x2,label\n0.5,1,1\n0.1,abc,0\n");
    const input = await page.$("#p2-csv");
    await page.evaluate(() => { document.getElementById("p2-result").textContent = ""; });
    await input.uploadFile(good);
    await page.waitForFunction(
      () => /^MLP 2 -> 16 -> 16 -> 1/.test(document.getElementById("p2-result").textContent),
      { timeout: 30000 });
    assert.ok(await page.$eval("#errors", (e) => e.hidden), "no error for a good CSV");
    await input.uploadFile(bad);
    await page.waitForFunction(() => !document.getElementById("errors").hidden,
      { timeout: 30000 });
    assert.match(await page.$eval("#error-line", (e) => e.textContent),
      /^error: \/data\.csv:3: .*'abc' is not a number/);
    fs.rmSync(good);
    fs.rmSync(bad);
  });

  await check("part 3: the recipe's minibatch run gives 03_learn_well's log and accuracy",
    async () => {
      const out = native("03_learn_well", ["--no-table"]).split("\n");
      const expectedLog = out.filter((l) => l.startsWith("step")).join("\n");
      const acc = out.find((l) => l.startsWith("full recipe: train accuracy"))
        .match(/train accuracy [^,]*, val accuracy [0-9.]+%/)[0];
      await page.evaluate(() => document.body.removeAttribute("data-mlp-ready"));
      await page.click("#p2-recipe3");
      await page.waitForSelector("body[data-mlp-ready]", { timeout: 60000 });
      assert.match(await page.$eval("#p2-result", (e) => e.textContent),
        /^MLP 2 -> 16 -> 16 -> 3 \(ReLU, ReLU, linear\), 371 parameters/);
      await page.click("#p2-train");
      await page.waitForFunction(
        () => /accuracy/.test(document.getElementById("p2-result").textContent),
        { timeout: 300000 });
      assert.strictEqual(await page.$eval("#p2-log", (e) => e.textContent), expectedLog);
      const result = await page.$eval("#p2-result", (e) => e.textContent);
      assert.ok(result.includes(acc + " after 1500 steps"), `page: ${result}\nnative: ${acc}`);
    });
  await (await page.$("#part2")).screenshot({ path: path.join(shots, "part3.png") });

  await check("part 4: the counted bigram's losses and names are 04_bigram's", async () => {
    await page.waitForSelector("body[data-names-ready]", { timeout: 60000 });
    const out = execFileSync(path.join(binDir, "04_bigram"),
      ["--data", path.join(webDir, "names.txt"), "--steps", "0"], { encoding: "utf8" }).split("\n");
    const counted = out.find((l) => l.startsWith("counting bigram (add-1 smoothing)"))
      .match(/train ([0-9.]+) dev ([0-9.]+)/);
    const shown = await page.$eval("#p4-loss", (e) => e.textContent);
    assert.ok(shown.includes(`train ${counted[1]}, dev ${counted[2]}`),
      `page: ${shown}\nnative: ${counted[0]}`);
    const first = out.findIndex((l) => /sampled words \(seed 1337\)/.test(l));
    const names = out.slice(first + 1, first + 11).map((l) => l.split("|")[0].trim());
    assert.strictEqual(await page.$eval("#p4-names", (e) => e.textContent), names.join("\n"));
  });
  await (await page.$("#part4")).screenshot({ path: path.join(shots, "part4.png") });

  await check("bad input: a word list that is not text, and one too big, are one line each",
    async () => {
      const junk = path.join(shots, "not-text.bin"), big = path.join(shots, "too-big.txt");
      fs.writeFileSync(junk, Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a, 0xc3, 0x28, 0x0a]));
      fs.writeFileSync(big, Buffer.alloc(21 << 20, 0x61));
      const input = await page.$("#p4-file");
      await input.uploadFile(junk);
      await page.waitForFunction(() => !document.getElementById("errors").hidden,
        { timeout: 30000 });
      const line = await page.$eval("#error-line", (e) => e.textContent);
      assert.match(line, /^error: .*upload\.txt/);
      assert.ok(!line.includes("\n"), line);
      await page.$eval("#errors", (e) => { e.hidden = true; });
      await input.uploadFile(big);
      await page.waitForFunction(() => !document.getElementById("errors").hidden,
        { timeout: 30000 });
      assert.match(await page.$eval("#error-line", (e) => e.textContent),
        /too-big\.txt: 21\.0 MB is too big for a word list/);
      fs.rmSync(junk);
      fs.rmSync(big);
      // still responsive: part 1 answers an edit
      await page.$eval("#p1-inputs input[name=b]", (e) => {
        e.value = "0.2";
        e.dispatchEvent(new Event("input", { bubbles: true }));
      });
      compareGraph(await graph(), [2, 1, -0.6, 0.8, 0.2, 1]);
    });

  await check("part 5: the character MLP's losses and names are 05_embeddings'", async () => {
    const steps = 200;  // both sides: the default 20000 take minutes
    const out = native("05_embeddings", ["--data", path.join(webDir, "names.txt"), "--steps",
      String(steps)]).split("\n");
    const noTime = (l) => l.replace(/ ms [0-9.]+$/, "");
    const expectedLog = out.filter((l) => l.startsWith("step")).map(noTime);
    const losses = out.find((l) => l.startsWith("train loss"));
    const first = out.findIndex((l) => l.startsWith("samples (seed 1337):"));
    const names = out.slice(first + 1, first + 11).map((l) => l.trim());
    await page.waitForSelector("body[data-embed-ready]", { timeout: 60000 });
    await page.evaluate((n) => {
      const f = document.getElementById("p5-knobs");
      f.steps.value = n;
      document.body.removeAttribute("data-embed-ready");
      f.dispatchEvent(new Event("change"));
    }, steps);
    await page.waitForSelector("body[data-embed-ready]", { timeout: 60000 });
    const settings = (lines) => lines.filter((l) => /^(model|training): /.test(l));
    assert.deepStrictEqual(settings((await page.$eval("#p5-log", (e) => e.textContent))
      .split("\n")), settings(out));
    await page.click("#p5-train");  // paused and resumed: the same numbers
    await page.waitForFunction(() => document.getElementById("p5-progress").value > 0,
      { timeout: 120000 });
    await page.click("#p5-pause");
    await page.waitForFunction(() => !document.getElementById("p5-train").disabled,
      { timeout: 120000 });
    const pausedAt = await page.$eval("#p5-progress", (e) => e.value);
    await page.click("#p5-train");
    await page.waitForSelector("body[data-embed-done]", { timeout: 600000 });
    await page.waitForSelector("body[data-embed-samples]", { timeout: 120000 });
    const log = (await page.$eval("#p5-log", (e) => e.textContent)).split("\n")
      .filter((l) => l.startsWith("step")).map(noTime);
    assert.deepStrictEqual(log, expectedLog, `paused at step ${pausedAt}`);
    assert.strictEqual(await page.$eval("#p5-result", (e) => e.textContent), losses);
    assert.strictEqual(await page.$eval("#p5-names", (e) => e.textContent), names.join("\n"));
  });
  await (await page.$("#part5")).screenshot({ path: path.join(shots, "part5.png") });

  await check("parts 7-9: the GPT, paused and resumed, trains and samples as 09_gpt does", async () => {
    // 09_gpt on the portable kernels, one thread: the arithmetic the page runs
    const out = execFileSync(path.join(binDir, "09_gpt"), ["--data",
      path.join(webDir, "tinyshakespeare.txt"), "--iters", "6", "--eval-interval", "3",
      "--eval-iters", "1", "--final-eval-iters", "1", "--sample-chars", "100"],
    { encoding: "utf8", env: { ...process.env, WIGGLE_ISA: "generic", WIGGLE_NUM_THREADS: "1" } });
    const noTime = (l) => l.replace(/ ms\/iter [0-9.]+$/, "");
    const expected = out.split("\n").filter((l) => l.startsWith("step")).map(noTime);
    const sample = out.slice(out.indexOf("\nsample:\n") + 9).replace(/\n$/, "");
    await page.waitForSelector("body[data-gpt-ready]", { timeout: 60000 });
    await page.evaluate(() => {
      const f = document.getElementById("p9-knobs");
      f.iters.value = 6;
      f.eval_interval.value = 3;
      f.eval_iters.value = 1;
      document.body.removeAttribute("data-gpt-ready");
      f.dispatchEvent(new Event("change"));
    });
    await page.waitForSelector("body[data-gpt-ready]", { timeout: 60000 });
    await page.click("#p9-train");
    await page.waitForFunction(() => document.getElementById("p9-progress").value > 0,
      { timeout: 120000 });
    await page.click("#p9-pause");
    await page.waitForFunction(() => !document.getElementById("p9-train").disabled,
      { timeout: 120000 });
    const pausedAt = await page.$eval("#p9-progress", (e) => e.value);
    await page.click("#p9-train");
    await page.waitForSelector("body[data-gpt-done]", { timeout: 300000 });
    const log = (await page.$eval("#p9-log", (e) => e.textContent)).split("\n")
      .filter((l) => l.startsWith("step")).map(noTime);
    assert.deepStrictEqual(log, expected, `paused at iteration ${pausedAt}`);
    await page.click("#p9-sample");
    await page.waitForSelector("body[data-gpt-samples]", { timeout: 120000 });
    await page.evaluate(() => {
      document.getElementById("p9-sampling").n.value = 100;
      document.body.removeAttribute("data-gpt-samples");
    });
    await page.click("#p9-sample");
    await page.waitForSelector("body[data-gpt-samples]", { timeout: 120000 });
    assert.strictEqual(await page.$eval("#p9-sample-text", (e) => e.textContent), sample);
    await page.click("#p9-attend");
    await page.waitForSelector("body[data-gpt-attention]", { timeout: 60000 });
  });
  await (await page.$("#part9")).screenshot({ path: path.join(shots, "part9.png") });

  // Loads a checkpoint through the file picker and checks that it samples `wiggle sample`'s text.
  async function sampleCheckpoint(file, model) {
    const expected = execFileSync(path.join(binDir, "wiggle"), ["sample", "-c", file, "-n", "200",
      "-t", "0.8", "--top-k", "200", "--seed", "1337"],
    { encoding: "utf8", env: { ...process.env, WIGGLE_ISA: "generic", WIGGLE_NUM_THREADS: "1" } })
      .replace(/\n$/, "");
    await (await page.$("#p9-checkpoint")).uploadFile(file);
    await page.waitForSelector("body[data-gpt-ready]", { timeout: 60000 });
    assert.match(await page.$eval("#p9-log", (e) => e.textContent), model);
    assert.ok(await page.$eval("#p9-train", (e) => e.disabled), "a checkpoint does not train");
    await page.evaluate(() => {
      const f = document.getElementById("p9-sampling");
      f.n.value = 200;
      f.temperature.value = 0.8;
      f.top_k.value = 200;
      f.seed.value = 1337;
      document.body.removeAttribute("data-gpt-samples");
    });
    await page.click("#p9-sample");
    await page.waitForSelector("body[data-gpt-samples]", { timeout: 120000 });
    assert.strictEqual(await page.$eval("#p9-sample-text", (e) => e.textContent), expected);
  }

  await check("parts 7-9: a wiggle train checkpoint samples what wiggle sample prints", () =>
    sampleCheckpoint(path.join(__dirname, "tiny.safetensors"), /model: 2 layers, 2 heads/));

  // A BPE split by GPT-4's pattern (web/test/make-tiny-bpe-checkpoint): the worker's module
  // splits the prompt on the browser's RegExp (web/split_web.cpp).
  await check("parts 7-9: a BPE checkpoint with a split pattern samples what wiggle sample prints",
    () => sampleCheckpoint(path.join(__dirname, "tiny-bpe.safetensors"),
      /vocabulary of 320[^]*model: 1 layers, 2 heads/));

  // The split itself, the page's module (main.js's instance, `page` in the page) against the
  // native one (PCRE2, `wiggle tokenizer split`), on text with accents, CJK, astral characters,
  // digits, contractions, runs of whitespace, newlines and invalid UTF-8, by GPT-2's and GPT-4's
  // patterns and by patterns with the other items the page translates.
  await check("parts 7-9: split patterns cut text into PCRE2's pieces", async () => {
    const text = Buffer.concat([
      Buffer.from("Hello world's café, naïve ÉCOLE 北京市 😀👍🏽 x😀y I'M WE'LL ſ'S K 12345678 ١٢٣ "),
      Buffer.from("a  b\t\tc   \n\n\r\n  end\u00a0nbsp\u0085nel\ufeffbom\u180emvs\u2028ls  "),
      Buffer.from([0xff, 0x61, 0xc3, 0x28, 0x20, 0xe2, 0x82, 0x20, 0xed, 0xa0, 0x80, 0x78]),
      Buffer.from([0xf0, 0x9f, 0x98, 0x41, 0xc0, 0xaf, 0xf4, 0x90, 0x80, 0x80, 0x31, 0x32, 0x0a]),
      Buffer.from(" it's\ttrailing   \n"),
    ]);
    const file = path.join(shots, "split.txt");
    fs.writeFileSync(file, text);
    const patterns = ["gpt2", "gpt4",
      String.raw`(?i)'(?:s|t)\b|\d{2}+|\w++|[^\s\w]+|\h+|\R|\s`,
      String.raw`(?>\p{Lu}\p{Ll}*)|\p{N}{1,2}+|\x{4EAC}|[\x{1F600}-\x{1F64F}]|(?-i:[a-z])+?|.$|.`,
      String.raw`^\S+|(?m)^\s|\S+$|[^\P{L}a-z]+|\P{L}{2}|(?s:.)`];
    const pieces = (offsets) => offsets.split(" ").map((end, i, all) =>
      JSON.stringify(text.subarray(i ? Number(all[i - 1]) : 0, Number(end)).toString()));
    for (const pattern of patterns) {
      const native = execFileSync(path.join(binDir, "wiggle"), ["tokenizer", "split", "--offsets",
        "--pattern", pattern, "--file", file], { encoding: "utf8" }).trim();
      const web = await page.evaluate((p, bytes) => page.ccall("split_offsets", "string",
        ["string", "array", "number"], [p, new Uint8Array(bytes), bytes.length]), pattern, [...text]);
      assert.deepStrictEqual(pieces(web), pieces(native), `pattern ${pattern}`);
    }
    fs.rmSync(file);
  });

  await check("parts 7-9: a split pattern the page cannot translate is one line", async () => {
    const line = await page.evaluate(async () => {
      const m = await createWiggle({ printErr: () => {} });  // a fresh instance: this one aborts
      m._web_init();
      try {
        m.ccall("split_offsets", "string", ["string", "array", "number"],
          ["(a)\\1|\\s+", new Uint8Array(1), 1]);
      } catch (e) {
        return m.lastError;
      }
      return "no error";
    });
    assert.match(line, /^error: --pattern '\(a\)\\1\|\\s\+': a backreference at offset 3 /);
    assert.ok(!line.trimEnd().includes("\n"), line);  // the line ends in its newline
  });

  await check("bad input: a file that is not a checkpoint is one line", async () => {
    const junk = path.join(shots, "not-a-checkpoint.safetensors");
    fs.writeFileSync(junk, "x1,x2,label\n0.5,1,1\n");
    await page.$eval("#errors", (e) => { e.hidden = true; });
    await (await page.$("#p9-checkpoint")).uploadFile(junk);
    await page.waitForFunction(() => !document.getElementById("errors").hidden,
      { timeout: 30000 });
    const line = await page.$eval("#error-line", (e) => e.textContent);
    assert.match(line, /^error: .*checkpoint\.safetensors/);
    assert.ok(!line.includes("\n"), line);
    fs.rmSync(junk);
  });

  await check("no console errors", async () => {
    assert.deepStrictEqual(consoleErrors, []);
  });
  await page.screenshot({ path: path.join(shots, "page.png"), fullPage: true });
  await browser.close();
  server.close();
  console.log(failures ? `${failures} check(s) failed` : "all checks passed");
  console.log(`screenshots in ${shots}`);
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.error(`page_test: error: ${e.message}`);
  process.exit(1);
});
