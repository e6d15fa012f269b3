// Lighthouse's scores for the sign-in page and the signed-in workspace (make size): the mobile
// preset (simulated slow 4G, a 4x slower CPU) against the release server, in Debian's
// Chromium, each page RUNS times (default 3) with the median of each figure shown, since one
// run moves with the machine's load. Lighthouse is installed for this alone
// (end2end/lighthouse, `make lighthouse`): 12.8, the last release that runs on this machine's
// Node 20 (13 needs Node 22).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startServer } from "./server.mjs";

const runs = Number(process.env.RUNS ?? 3);
const bin = new URL("../lighthouse/node_modules/.bin/lighthouse", import.meta.url).pathname;
const { base, stop } = await startServer({ port: 3402, data: ".lighthouse-data" });

const login = await fetch(`${base}/api/auth/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username: "ada", password: "correct horse battery" }),
});
const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
if (!login.ok || !cookie) throw new Error(`signing in failed: ${login.status}`);

/** One Lighthouse run of `path`: its category scores and timings. */
async function audit(path, headers) {
  const args = [
    `${base}${path}`,
    "--quiet",
    "--output=json",
    "--output-path=stdout",
    "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
  ];
  if (headers) args.push(`--extra-headers=${JSON.stringify(headers)}`);
  const { stdout } = await promisify(execFile)(bin, args, {
    env: { ...process.env, CHROME_PATH: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    maxBuffer: 64 << 20,
  });
  const report = JSON.parse(stdout);
  const figure = (id) => report.audits[id]?.numericValue;
  return {
    ...Object.fromEntries(Object.entries(report.categories).map(([id, c]) => [id, Math.round(c.score * 100)])),
    lcp: figure("largest-contentful-paint"),
    fcp: figure("first-contentful-paint"),
    tbt: figure("total-blocking-time"),
    cls: figure("cumulative-layout-shift"),
    lcpElement: report.audits["largest-contentful-paint-element"]?.details?.items?.[0]?.items?.[0]?.node?.selector,
  };
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (const [label, path, headers] of [
  ["sign-in page", "/login", null],
  ["workspace (signed in, empty account)", "/", { Cookie: cookie }],
]) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await audit(path, headers));
  const of = (key) => median(results.map((r) => r[key]));
  const categories = ["performance", "accessibility", "best-practices", "seo"];
  console.log(`${label}, median of ${runs} (target >= 95 each; LCP <= 2.5 s)`);
  console.log(`  ${categories.map((c) => `${c} ${of(c)}`).join("  ")}`);
  console.log(
    `  LCP ${(of("lcp") / 1000).toFixed(2)} s  FCP ${(of("fcp") / 1000).toFixed(2)} s  ` +
      `TBT ${Math.round(of("tbt"))} ms  CLS ${of("cls").toFixed(3)}  (runs: ${results
        .map((r) => r.performance)
        .join(", ")})`,
  );
  console.log(`  largest paint: ${results[0].lcpElement ?? "?"}`);
}
stop();
