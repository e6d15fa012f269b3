// What a browser actually downloads on a first visit (make size): the release server, Chromium
// with its cache disabled, every byte on the wire (headers and bodies, as DevTools counts them
// in `encodedDataLength`) until the network is idle: the sign-in page, then the workspace of a
// signed-in user.
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";

const { base, stop } = await startServer({ port: 3401, data: ".transfer-data" });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});

/** Loads `path` in a fresh page with the cache off; answers the bytes and requests seen. */
async function firstLoad(context, path) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const requests = new Map();
  cdp.on("Network.responseReceived", (e) => {
    const entry = requests.get(e.requestId) ?? {};
    requests.set(e.requestId, { ...entry, url: e.response.url, encoding: e.response.headers["content-encoding"] });
  });
  cdp.on("Network.loadingFinished", (e) => {
    const entry = requests.get(e.requestId) ?? {};
    requests.set(e.requestId, { ...entry, bytes: e.encodedDataLength });
  });
  await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
  await page.close();
  const done = [...requests.values()].filter((r) => r.bytes !== undefined);
  return { bytes: done.reduce((sum, r) => sum + r.bytes, 0), requests: done };
}

const show = (label, { bytes, requests }) => {
  console.log(`${label}: ${bytes} bytes transferred in ${requests.length} requests`);
  for (const r of requests.sort((a, b) => b.bytes - a.bytes)) {
    console.log(`  ${String(r.bytes).padStart(9)}  ${r.encoding ?? "identity"}  ${r.url.replace(base, "")}`);
  }
};

const visitor = await browser.newContext();
show("first load of /login", await firstLoad(visitor, "/login"));
await visitor.close();

const user = await browser.newContext();
const page = await user.newPage();
await page.goto(`${base}/login`);
await page.getByRole("button", { name: "Sign in" }).isEnabled();
await page.getByLabel("Username").fill("ada");
await page.getByLabel("Password").fill("correct horse battery");
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText("Signed in as").waitFor();
await page.close();
show("first load of the workspace (signed in)", await firstLoad(user, "/"));
await user.close();
await browser.close();
stop();
