// Browser benchmark (make bench-browser): what Vigil costs a page nobody is looking at, a
// page used for days, and a slow phone opening the sign-in page. Starts the real server with
// the default policy, signs in, and measures with the Chrome DevTools Protocol:
//   1. main-thread script time for 10,000 synthetic mouse moves (target <= 20 ms);
//   2. timer callbacks during one idle minute with no countdown showing
//      (target <= 1 per heartbeat interval);
//   3. memory growth after 500 warning -> "Stay signed in" cycles and 500 autosaves: the JS
//      heap after garbage collection (target <= 1 MB) and the wasm linear memory;
//   4. time to interactive of /login with the CPU throttled 4x: from navigation start until
//      the hydrated sign-in button accepts a click, and the main thread's busy time.
import { chromium } from "playwright-core";
import { startServer, until, workLoaded } from "./server.mjs";

const { base, stop } = await startServer({
  port: 3400,
  data: ".bench-data",
  // The default policy (the suite's shorter administrator timeout would not fit inside it).
  env: {
    VIGIL_IDLE_TIMEOUT: "30m",
    VIGIL_WARNING_BEFORE: "5m",
    VIGIL_HEARTBEAT_INTERVAL: "60s",
    VIGIL_ADMIN_IDLE_TIMEOUT: "30m",
    // 500 warning cycles move the clocks 25 minutes each.
    VIGIL_ABSOLUTE_TIMEOUT: "30d",
  },
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const context = await browser.newContext();
const signIn = async (page) => {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill("ada");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await until(page, workLoaded, "the signed-in workspace");
};

// 1. Script time for mouse moves, on the real clock (Playwright's fake clock would add its
//    own script time to every Date.now()), in a page Playwright never clicked or typed in:
//    its actions leave listeners of its own that would be counted too.
const signInPage = await context.newPage();
await signIn(signInPage);
await signInPage.close();
const page = await context.newPage();
await page.goto(`${base}/`);
// Plain polling only: Playwright's own waiting and actions install listeners of their own.
await until(page, workLoaded, "the signed-in workspace");
const cdp = await context.newCDPSession(page);
await cdp.send("Performance.enable");
const scriptSeconds = async () =>
  (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "ScriptDuration").value;
const signedIn = await page.evaluate(() => document.body.innerText.includes("Signed in as"));
if (!signedIn) throw new Error("the measured page is not signed in");
const moves = 10_000;
const before = await scriptSeconds();
for (let i = 0; i < moves; i++) {
  await cdp.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: 100 + (i % 500), y: 100 + (i % 300) });
}
const scriptMs = ((await scriptSeconds()) - before) * 1000;
await page.close();

// 2. Timer callbacks in one idle minute, on a fake clock with every timer callback counted.
const idle = await context.newPage();
// The fake clock first, so the counter wraps the timers the page will really use.
await idle.clock.install();
await idle.addInitScript(() => {
  window.__timerCallbacks = 0;
  const wrap = (original) =>
    function (callback, ...rest) {
      const counted = typeof callback === "function" ? (...args) => { window.__timerCallbacks++; return callback(...args); } : callback;
      return original.call(this, counted, ...rest);
    };
  window.setTimeout = wrap(window.setTimeout);
  window.setInterval = wrap(window.setInterval);
});
await idle.goto(`${base}/`);
await until(idle, workLoaded, "the signed-in workspace");
const heartbeatSecs = 60;
await idle.evaluate(() => (window.__timerCallbacks = 0));
await idle.clock.runFor(60_000);
const wakeUps = await idle.evaluate(() => window.__timerCallbacks);

await idle.close();

// 3. Memory after long use: 500 warnings answered with "Stay signed in", 500 autosaves. The
//    server's test clock and the page's fake clock move together, as in the end-to-end suite.
const long = await context.newPage();
await long.clock.install();
await long.goto(`${base}/`);
await until(long, workLoaded, "the signed-in workspace");
const longCdp = await context.newCDPSession(long);
const advance = async (seconds) => {
  const moved = await long.request.post(`${base}/__test__/clock/advance`, { data: { seconds } });
  if (!moved.ok()) throw new Error(`the server clock did not move: ${moved.status()}`);
  await long.clock.fastForward(seconds * 1000);
};
// The JS heap after a full collection, and the wasm module's linear memory (which never
// shrinks: growth there is memory the Rust side kept). wasm-bindgen's init returns the
// running instance's exports when called again.
const memory = async () => {
  await longCdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await longCdp.send("Runtime.getHeapUsage");
  const wasmBytes = await long.evaluate(async () => {
    const script = document.querySelector('link[rel="modulepreload"][href*="/pkg/"]');
    const exports = await (await import(script.href)).default();
    return exports.memory.buffer.byteLength;
  });
  return { js: usedSize, wasm: wasmBytes };
};
const toastShown = () => document.querySelector("#session-warning") !== null;
const toastGone = () => document.querySelector("#session-warning") === null;
const cycle = async () => {
  await advance(25 * 60 + 1);
  await until(long, toastShown, "the warning");
  await long.getByRole("button", { name: "Stay signed in" }).click();
  await until(long, toastGone, "the warning to go");
};
await long.locator("#new-draft").click();
await long.getByLabel("Title").fill("Long use");
const body = long.getByLabel("Text", { exact: true });
let typed = 0;
const autosave = async () => {
  typed += 1;
  const saved = long.waitForResponse((r) => r.request().method() === "PUT" && r.url().includes("/api/drafts/"));
  await body.fill(`Autosave number ${typed}.`);
  await long.clock.runFor(2_000);
  if (!(await saved).ok()) throw new Error("an autosave was refused");
  await until(long, workLoaded, "the autosave");
};
// Warm up first (caches, lazily created state), then measure the next 500 of each.
for (let i = 0; i < 20; i++) {
  await cycle();
  await autosave();
}
const start = await memory();
const cycles = 500;
for (let i = 0; i < cycles; i++) {
  await cycle();
  await autosave();
}
const end = await memory();
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(2);
const jsGrowth = end.js - start.js;
await long.close();

// 4. Time to interactive of /login on a CPU four times slower, first visit (new context,
//    empty cache), three loads, the median.
const loads = [];
for (let i = 0; i < 3; i++) {
  const fresh = await browser.newContext();
  const login = await fresh.newPage();
  const loginCdp = await fresh.newCDPSession(login);
  await loginCdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await loginCdp.send("Performance.enable");
  await login.addInitScript(() => {
    window.__interactiveAt = null;
    const check = () => {
      const button = [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === "Sign in");
      if (button && !button.disabled && window.__interactiveAt === null) {
        window.__interactiveAt = performance.now();
        observer.disconnect();
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { subtree: true, childList: true, attributes: true });
  });
  await login.goto(`${base}/login`);
  await until(login, () => window.__interactiveAt !== null, "the hydrated sign-in page", 60_000);
  const interactiveMs = await login.evaluate(() => window.__interactiveAt);
  const busyMs =
    (await loginCdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value * 1000;
  loads.push({ interactiveMs, busyMs });
  await fresh.close();
}
loads.sort((a, b) => a.interactiveMs - b.interactiveMs);
const tti = loads[1];

console.log("Vigil browser benchmark (Chromium, CDP)");
console.log(`  script time for ${moves} mouse moves   ${scriptMs.toFixed(1)} ms   (target <= 20 ms)`);
console.log(`  timer callbacks in one idle minute    ${wakeUps}   (heartbeat ${heartbeatSecs}s; target <= 1 per interval)`);
console.log(`  after ${cycles} warning -> extend cycles and ${cycles} autosaves:`);
console.log(`    JS heap           ${mb(start.js)} MB -> ${mb(end.js)} MB, growth ${mb(jsGrowth)} MB   (target <= 1 MB)`);
console.log(`    wasm memory       ${mb(start.wasm)} MB -> ${mb(end.wasm)} MB, growth ${mb(end.wasm - start.wasm)} MB`);
console.log(
  `  /login with 4x CPU throttling, first visit: interactive after ${tti.interactiveMs.toFixed(0)} ms, ` +
    `main thread busy ${tti.busyMs.toFixed(0)} ms (median of 3: ${loads.map((l) => l.interactiveMs.toFixed(0)).join(", ")} ms)`,
);
await browser.close();
stop();
const ok = scriptMs <= 20 && wakeUps <= Math.ceil(60 / heartbeatSecs) && jsGrowth <= 1024 * 1024;
process.exit(ok ? 0 : 1);
