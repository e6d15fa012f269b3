// Shipped bytes: writes `.br` (Brotli quality 11) and `.gz` (gzip -9) beside every wasm, JS
// and CSS file of the site's `pkg` directory, which the server then serves precompressed, and
// prints raw, gzip and Brotli sizes per file and in total.
//
//   node end2end/bench/size.mjs [pkg-dir]        (default target/site/pkg)
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
const shipped = /\.(wasm|js|css)$/;

function files(root) {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? files(path) : shipped.test(name) ? [path] : [];
  });
}

const rows = [];
for (const path of files(dir).sort()) {
  const raw = readFileSync(path);
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      [constants.BROTLI_PARAM_MODE]: path.endsWith(".wasm") ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  });
  writeFileSync(`${path}.gz`, gz);
  writeFileSync(`${path}.br`, br);
  rows.push({ file: relative(dir, path), raw: raw.length, gzip: gz.length, brotli: br.length });
}

const pad = (value, width) => String(value).padStart(width);
const total = rows.reduce((sum, r) => ({ raw: sum.raw + r.raw, gzip: sum.gzip + r.gzip, brotli: sum.brotli + r.brotli }), {
  raw: 0,
  gzip: 0,
  brotli: 0,
});
const width = Math.max(5, ...rows.map((r) => r.file.length));
console.log(`${"file".padEnd(width)}  ${pad("raw", 10)}  ${pad("gzip -9", 10)}  ${pad("brotli 11", 10)}`);
for (const r of rows) console.log(`${r.file.padEnd(width)}  ${pad(r.raw, 10)}  ${pad(r.gzip, 10)}  ${pad(r.brotli, 10)}`);
console.log(`${"total".padEnd(width)}  ${pad(total.raw, 10)}  ${pad(total.gzip, 10)}  ${pad(total.brotli, 10)}`);
