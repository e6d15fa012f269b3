import { defineConfig, devices, type PlaywrightTestConfig } from "@playwright/test";

import { clusterPort, distPort, serverPort as port } from "./ports";

/** One server the suite starts (Playwright's type for it is not exported by name). */
type WebServer = Exclude<NonNullable<PlaywrightTestConfig["webServer"]>, unknown[]>;
const only = process.env.VIGIL_E2E_ONLY;

/**
 * One worker: the tests share one server (and one cluster) whose clock they move forward.
 * Chromium is Debian's; Playwright never downloads a browser here.
 */
export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 7_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    {
      name: "chromium",
      testIgnore: /(cluster|dist)\.spec\.ts/,
      use: { ...devices["Desktop Chrome"] },
    },
    {
      name: "cluster",
      testMatch: /cluster\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], baseURL: `http://127.0.0.1:${clusterPort}` },
    },
    {
      name: "dist",
      testMatch: /dist\.spec\.ts/,
      use: { ...devices["Desktop Chrome"], baseURL: `http://127.0.0.1:${distPort}` },
    },
  ],
  // VIGIL_E2E_ONLY=dist starts only the packed release (`make test-dist`, after `make bench`).
  webServer: (<WebServer[]>[
    {
      command: "./start-server.sh",
      url: `http://127.0.0.1:${port}/login`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: "./start-cluster.sh",
      url: `http://127.0.0.1:${clusterPort}/login`,
      reuseExistingServer: false,
      timeout: 180_000,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    },
    {
      // The packed release, unpacked elsewhere (deploy/dist.sh).
      command: "./start-dist.sh",
      url: `http://127.0.0.1:${distPort}/login`,
      reuseExistingServer: false,
      timeout: 180_000,
      // The example settings log every request (RUST_LOG=info) to standard output.
      stdout: "ignore",
      stderr: "pipe",
    },
  ]).filter((server) => !only || server.command === `./start-${only}.sh`),
});
