// Browser benchmark (make bench-browser): what Vigil costs a page nobody is looking at.
// Starts the real server with the default policy, signs in, and measures with the Chrome
// DevTools Protocol:
//   1. main-thread script time for 10,000 synthetic mouse moves (target <= 20 ms);
//   2. timer callbacks during one idle minute with no countdown showing
//      (target <= 1 per heartbeat interval).
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

console.log("Vigil browser benchmark (Chromium, CDP Performance.getMetrics)");
console.log(`  script time for ${moves} mouse moves   ${scriptMs.toFixed(1)} ms   (target <= 20 ms)`);
console.log(`  timer callbacks in one idle minute    ${wakeUps}   (heartbeat ${heartbeatSecs}s; target <= 1 per interval)`);
await browser.close();
stop();
const ok = scriptMs <= 20 && wakeUps <= Math.ceil(60 / heartbeatSecs);
process.exit(ok ? 0 : 1);
