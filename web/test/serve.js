// A static server for build-web/ on a free local port, shared by the page's test
// (web/test/page_test.js) and its benchmark (bench/web_bench.js): files under the folder only,
// with the MIME types the page needs (application/wasm for streaming compilation).
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".txt": "text/plain", ".json": "application/json" };

// Resolves to the listening http.Server (its port: server.address().port).
function serve(webDir) {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, "http://x").pathname).replace(/^\/+/, "");
    const file = path.join(webDir, rel || "index.html");
    if (!file.startsWith(webDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

module.exports = { serve };
