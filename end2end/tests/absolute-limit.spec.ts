import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { expect } from "@playwright/test";
import { absolutePort } from "../ports";
import { ADA, advance, expectNoViolations, modal, sessionInfo, signIn, test, toast, writeDraft } from "./helpers";

/**
 * SPEC §9.3: the absolute limit is announced at the warning's lead, says it cannot be
 * extended and that the work is saved, and the inactivity warning does not appear when the
 * absolute deadline comes first. The suite's server allows an hour; this file starts one of
 * its own (same build, same settings) whose sessions last three minutes at most.
 */
let server: ChildProcess | undefined;
const site = `http://127.0.0.1:${absolutePort}`;

async function answers(): Promise<number> {
  try {
    return (await fetch(`${site}/login`)).status;
  } catch {
    return 0;
  }
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  // Never a server left from an earlier run: start-server.sh would empty its data under it.
  expect(await answers(), `port ${absolutePort} is taken`).toBe(0);
  // start-server.sh execs the server: this child is the server itself (and in the
  // terminal's process group, so an interrupted run stops it too).
  server = spawn("./start-server.sh", [], {
    cwd: join(__dirname, ".."),
    env: {
      ...process.env,
      VIGIL_E2E_PORT: String(absolutePort),
      VIGIL_E2E_DATA: ".absolute-data",
      VIGIL_IDLE_TIMEOUT: "2m",
      VIGIL_ABSOLUTE_TIMEOUT: "3m",
      VIGIL_WARNING_BEFORE: "1m",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await expect.poll(answers, { timeout: 90_000 }).toBe(200);
});

test.afterAll(() => {
  server?.kill("SIGTERM");
});

test.use({ baseURL: `http://127.0.0.1:${absolutePort}` });

test("the absolute limit is announced instead of inactivity, cannot be extended, and keeps the work", async ({
  page,
}) => {
  await signIn(page);
  // Saving is activity: each save moves the idle deadline (2 min on), never past the
  // absolute one (3 min from signing in).
  await advance(page, 30);
  await writeDraft(page, "Before the limit", "Saved in time.");
  await advance(page, 40);
  await writeDraft(page, "Still before it", "Saved in time too.");
  // 1:10 in: the idle deadline is capped at the absolute one, which is now the one named.
  await expect
    .poll(async () => {
      const { body } = await sessionInfo(page);
      return body.idle_expires_at === body.absolute_expires_at;
    })
    .toBe(true);

  // 2:05 in: inside the absolute limit's warning, where the first save's inactivity
  // warning (due at 1:30) would have been showing had that deadline stood.
  await advance(page, 55);
  await expect(toast(page)).toBeVisible();
  await expect(toast(page)).toContainText("Session time limit");
  await expect(page.locator("#absolute-note")).toHaveText(
    "This limit cannot be extended. Your work is saved; sign in again to go on.",
  );
  await expect(page.locator("#stay-signed-in")).toHaveCount(0);
  await expect(page.getByText("Still there?")).toHaveCount(0);
  await expect(page).toHaveTitle(/^\(0:\d\d\) Drafts · Vigil$/);
  await expectNoViolations(page, "the absolute limit's warning");

  await advance(page, 60);
  await expect(modal(page)).toBeVisible();
  await expect(toast(page)).toBeHidden();
  await expect(page).toHaveTitle("Drafts · Vigil");
  expect((await sessionInfo(page)).body.error_code).toBe("session_expired");
  await page.locator("#reauth-password").fill(ADA.password);
  await page.getByRole("button", { name: "Sign in again" }).click();
  await expect(modal(page)).toBeHidden();
  await expect(page.getByLabel("Text", { exact: true })).toHaveValue("Saved in time too.");
});
