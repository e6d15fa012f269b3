import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, type Browser, type Page } from "@playwright/test";
import {
  ADA,
  advance,
  expectNoViolations,
  GRACE,
  holdSaves,
  machineRunning,
  modal,
  POLICY,
  ROOT,
  signIn,
  stepUp,
  test,
  waitForSaved,
} from "./helpers";

/**
 * SPEC §9.3: whatever ends a session reaches every open screen of it within two seconds,
 * with nothing touched and the clock not advanced: the page locks (nothing of the work
 * shows), says why, and keeps what was on its way.
 */

/** Signs in and waits until the page's event stream is open (its first event read). */
async function signInListening(page: Page, user = ADA) {
  const listening = page.waitForResponse((r) => r.url().endsWith("/api/events") && r.status() === 200);
  await signIn(page, user);
  await machineRunning(page);
  await listening;
}

async function otherDevice(browser: Browser): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page);
  return page;
}

/** Runs the server's command line on the suite's database, as an operator would. */
function operator(...args: string[]) {
  const root = join(__dirname, "..", "..");
  execFileSync(process.env.VIGIL_SERVER_BIN ?? join(root, "target", "debug", "server"), args, {
    cwd: root,
    env: { ...process.env, VIGIL_DATA_DIR: join(root, "end2end", ".server-data") },
    stdio: "pipe",
  });
}

/**
 * Makes the administrator's next change ask who they are (their sign-in no longer recent,
 * whatever the machine's speed), then answers it after `act`.
 */
async function withStepUp(admin: Page, act: () => Promise<void>) {
  await advance(admin, POLICY.reauthSecs + 5);
  await act();
  await expect(stepUp(admin)).toBeVisible();
  await admin.locator("#step-up-password").fill(ROOT.password);
  await admin.getByRole("button", { name: "Confirm" }).click();
  await expect(stepUp(admin)).toBeHidden();
}

/** Waits for the modal, at most two seconds after `since` (Date.now() of the test). */
async function lockedWithin2s(page: Page, since: number, reason: string) {
  await expect(modal(page)).toBeVisible({ timeout: 2_000 });
  expect(Date.now() - since).toBeLessThan(2_000);
  await expect(modal(page)).toContainText(reason);
  await expect(page.locator(".app-shell[data-locked]")).toBeAttached();
}

test.describe("an ended session reaches every screen", () => {
  test("signing out everywhere else locks the other browser's tabs within two seconds; its waiting change is saved once after signing in", async ({
    browser,
    page,
  }) => {
    await signInListening(page);
    const second = await page.context().newPage();
    await second.goto("/");
    await machineRunning(second);
    // A change on its way to the account when the session ends.
    const release = await holdSaves(page);
    await page.locator("#new-draft").click();
    await page.getByLabel("Title").fill("Written as it ended");
    await expect(page.locator("#save-status")).toContainText("Saving to your account");

    const phone = await otherDevice(browser);
    const ended = await phone.request.post("/api/sessions/revoke-others", { data: {} });
    expect(ended.ok()).toBeTruthy();
    const since = Date.now();
    await lockedWithin2s(page, since, "You were signed out from another device.");
    // The other tab heard it from this one.
    await lockedWithin2s(second, since, "You were signed out from another device.");
    await expect(page.getByText("Written as it ended")).toBeHidden();

    await release();
    await expect(page.locator("#preserved-summary")).toContainText("waiting");
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(modal(second)).toBeHidden();
    await waitForSaved(page, (d) => d.title === "Written as it ended");
    await phone.context().close();
  });

  test("an operator's revoke from the command line says an administrator ended the session", async ({ page }) => {
    await signInListening(page);
    operator("session", "revoke", "--user", ADA.username, "--all");
    await lockedWithin2s(page, Date.now(), "An administrator ended this session.");
    await expectNoViolations(page, "locked page with the reason");
  });

  test("after another user signs in on the same browser, their ending reaches every tab (the stream follows the new session)", async ({
    page,
  }) => {
    await signInListening(page);
    // Ada's session stays alive on the server; the browser's cookie will name Grace's.
    await page.context().clearCookies();
    const second = await page.context().newPage();
    const reopened = page.context().waitForEvent("response", {
      predicate: (r) => r.url().endsWith("/api/events") && r.status() === 200,
      timeout: 15_000,
    });
    await signIn(second, GRACE);
    await expect(page.getByText(`Signed in as ${GRACE.name}`)).toBeVisible();
    await reopened;
    operator("session", "revoke", "--user", GRACE.username, "--all");
    const since = Date.now();
    await lockedWithin2s(page, since, "An administrator ended this session.");
    await lockedWithin2s(second, since, "An administrator ended this session.");
  });

  test("a disabled account's pages lock at once and it cannot sign in again until enabled", async ({ page }) => {
    await signInListening(page);
    operator("user", "disable", ADA.username);
    try {
      await lockedWithin2s(page, Date.now(), "An administrator disabled your account.");
      await page.locator("#reauth-password").fill(ADA.password);
      await page.getByRole("button", { name: "Sign in again" }).click();
      await expect(modal(page)).toContainText("do not match");
      await expect(modal(page)).toBeVisible();
    } finally {
      operator("user", "enable", ADA.username);
    }
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
  });

  test("an administrator ends a session from /admin after confirming who they are, and its page says so", async ({
    browser,
    page,
  }) => {
    await signInListening(page);
    const admin = await (await browser.newContext()).newPage();
    await signIn(admin, ROOT);
    await admin.getByRole("link", { name: "Admin", exact: true }).click();
    const ada = admin.locator('.account-row[data-user="ada"]');
    await expect(ada.locator(".session-row")).toHaveCount(1);
    await expect(admin.locator('.account-row[data-user="root"]')).toContainText("You");
    await expectNoViolations(admin, "administration page");

    const answered = admin.waitForResponse(
      (r) => r.url().includes("/api/admin/users/ada/sessions/") && r.request().method() === "DELETE" && r.ok(),
    );
    await withStepUp(admin, () => ada.getByRole("button", { name: "End the session of ada", exact: false }).click());
    await answered;
    await lockedWithin2s(page, Date.now(), "An administrator ended this session.");
    await expect(admin.locator("#account-status")).toHaveText("Ended 1 session.");
    await expect(ada).toContainText("No live sessions.");
    await admin.context().close();
  });

  test("an administrator disables an account from /admin: its pages lock, it cannot sign in until enabled", async ({
    browser,
    page,
  }) => {
    await signInListening(page, GRACE);
    const admin = await (await browser.newContext()).newPage();
    await signIn(admin, ROOT);
    await admin.goto("/admin");
    const grace = admin.locator('.account-row[data-user="grace"]');
    await expect(grace.locator(".session-row")).toHaveCount(1);

    await withStepUp(admin, () => grace.getByRole("button", { name: "Disable the account grace" }).click());
    await expect(admin.locator("#account-status")).toHaveText("grace is disabled; its 1 session ended.");
    const since = Date.now();
    await lockedWithin2s(page, since, "An administrator disabled your account.");
    await expect(grace.locator(".badge", { hasText: "Disabled" })).toBeVisible();
    await expectNoViolations(admin, "administration page with a disabled account");
    await page.locator("#reauth-password").fill(GRACE.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toContainText("do not match");

    await withStepUp(admin, () => grace.getByRole("button", { name: "Enable the account grace" }).click());
    await expect(admin.locator("#account-status")).toHaveText("grace can sign in again.");
    await page.locator("#reauth-password").fill(GRACE.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await admin.context().close();
  });

  test("the administrators' page is not for anyone else", async ({ page }) => {
    await signIn(page);
    await expect(page.getByRole("link", { name: "Admin", exact: true })).toHaveCount(0);
    await page.goto("/admin");
    await expect(page.locator("#account-error")).toHaveText("Only administrators can see this page.");
    await expect(page.locator(".account-row")).toHaveCount(0);
  });
});
