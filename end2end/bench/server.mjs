// The release server the browser figures are taken from: start-server.sh on its own port and
// data directory (the suite's accounts), stopped when the script exits.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** Starts the server and waits until it answers; returns its base URL. */
export async function startServer({ port, data, env = {} }) {
  const base = `http://127.0.0.1:${port}`;
  const server = spawn("./start-server.sh", {
    cwd: new URL("..", import.meta.url).pathname,
    env: {
      ...process.env,
      VIGIL_SERVER_BIN: process.env.VIGIL_SERVER_BIN ?? "target/release/server",
      VIGIL_E2E_PORT: String(port),
      VIGIL_E2E_DATA: data,
      ...env,
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
  return { base, stop };
}

/**
 * Polls `check` in the page (plain evaluation: unlike Playwright's own waiting it leaves no
 * listeners behind that the measurements would count) until it holds.
 */
export async function until(page, check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(check))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The workspace has the user's work from the account: signed in, loaded, nothing pending. */
export const workLoaded = () =>
  document.querySelector("#save-status")?.textContent?.startsWith("Saved to your account") ?? false;
