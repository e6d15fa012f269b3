// Browser benchmark (make bench-browser): what Vigil costs a page nobody is looking at.
// Starts the real server with the default policy, signs in, and measures with the Chrome
// DevTools Protocol:
//   1. main-thread script time for 10,000 synthetic mouse moves (target <= 20 ms);
//   2. timer callbacks during one idle minute with no countdown showing
//      (target <= 1 per heartbeat interval).
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";

const port = 3400;
const base = `http://127.0.0.1:${port}`;
const server = spawn("./start-server.sh", {
  cwd: new URL("..", import.meta.url).pathname,
  env: {
    ...process.env,
    VIGIL_SERVER_BIN: process.env.VIGIL_SERVER_BIN ?? "target/release/server",
    VIGIL_E2E_PORT: String(port),
    VIGIL_E2E_DATA: ".bench-data",
    VIGIL_IDLE_TIMEOUT: "30m",
    VIGIL_WARNING_BEFORE: "5m",
    VIGIL_HEARTBEAT_INTERVAL: "60s",
  },
  stdio: "ignore",
  detached: true,
});
const stop = () => {
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {}
};
process.on("exit", stop);

for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/login`)).ok) break;
  } catch {}
  if (i > 200) throw new Error("the server did not start");
  await sleep(100);
}

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
  await page.getByText("Signed in as").waitFor();
  await page.waitForTimeout(500);
};

// 1. Script time for mouse moves, on the real clock (Playwright's fake clock would add its
//    own script time to every Date.now()), in a page Playwright never clicked or typed in:
//    its actions leave listeners of its own that would be counted too.
const signInPage = await context.newPage();
await signIn(signInPage);
await signInPage.close();
const page = await context.newPage();
await page.goto(`${base}/`);
// Plain waiting only: Playwright's own waiting and actions install listeners of their own.
await page.waitForTimeout(2000);
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
await idle.getByText("Signed in as").waitFor();
await idle.waitForTimeout(500);
const heartbeatSecs = 60;
await idle.evaluate(() => (window.__timerCallbacks = 0));
await idle.clock.runFor(60_000);
const wakeUps = await idle.evaluate(() => window.__timerCallbacks);

console.log("Vigil browser benchmark (Chromium, CDP Performance.getMetrics)");
console.log(`  script time for ${moves} mouse moves   ${scriptMs.toFixed(1)} ms   (target <= 20 ms)`);
console.log(`  timer callbacks in one idle minute    ${wakeUps}   (heartbeat ${heartbeatSecs}s; target <= 1 per interval)`);
await browser.close();
stop();
const ok = scriptMs <= 20 && wakeUps <= Math.ceil(60 / heartbeatSecs);
process.exit(ok ? 0 : 1);
