import { expect } from "@playwright/test";
import { account, ADA, advance, modal, POLICY, sessionInfo, signIn, toast, writeDraft, test } from "./helpers";

test.describe("the inactivity timeout", () => {
  test("a user who keeps typing past the idle timeout is never warned", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Minutes", "");
    const body = page.getByLabel("Text", { exact: true });
    const start = (await sessionInfo(page)).body.idle_expires_at;
    // Three idle timeouts' worth of time, typing all along.
    const steps = (3 * POLICY.idleSecs) / POLICY.heartbeatSecs;
    for (let i = 0; i < steps; i++) {
      const heartbeat = page.waitForResponse("**/api/auth/refresh");
      await body.press("a");
      await advance(page, POLICY.heartbeatSecs);
      expect((await heartbeat).status()).toBe(200);
      await expect(toast(page)).toBeHidden();
      await expect(modal(page)).toBeHidden();
    }
    const info = await sessionInfo(page);
    expect(info.status).toBe(200);
    expect(Date.parse(info.body.idle_expires_at)).toBeGreaterThan(Date.parse(start) + 2 * POLICY.idleSecs * 1000);
    await expect(body).toHaveValue("a".repeat(steps));
  });

  test("an idle user is warned with a countdown and can stay signed in", async ({ page }) => {
    await signIn(page);
    const before = (await sessionInfo(page)).body;
    await advance(page, POLICY.idleSecs - POLICY.warningSecs - 2);
    await expect(toast(page)).toBeHidden();

    await advance(page, 3);
    await expect(toast(page)).toBeVisible();
    await expect(toast(page)).toContainText("Still there?");
    const countdown = page.locator("#countdown");
    await expect(countdown).toHaveText(/^00:(59|58)$/);
    await advance(page, 5);
    await expect(countdown).toHaveText(/^00:(54|53)$/);
    // A hidden tab's title says it too.
    await expect(page).toHaveTitle(/^\(0:(54|53)\) Drafts · Vigil$/);

    const refresh = page.waitForResponse("**/api/auth/refresh");
    await page.getByRole("button", { name: "Stay signed in" }).click();
    expect((await refresh).status()).toBe(200);
    await expect(toast(page)).toBeHidden();
    await expect(page).toHaveTitle("Drafts · Vigil");

    const after = (await sessionInfo(page)).body;
    expect(Date.parse(after.idle_expires_at)).toBeGreaterThan(Date.parse(before.idle_expires_at) + 60_000);
  });

  test("mere mouse motion does not extend while the warning shows", async ({ page }) => {
    await signIn(page);
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    let refreshed = false;
    page.on("request", (r) => {
      if (r.url().endsWith("/api/auth/refresh")) refreshed = true;
    });
    await page.mouse.move(10, 10);
    await page.mouse.move(200, 300);
    await advance(page, POLICY.heartbeatSecs);
    await expect(toast(page)).toBeVisible();
    expect(refreshed).toBe(false);
  });

  test("at the deadline the modal offers to sign in again and everything comes back", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Quarterly letter", "Dear shareholders,\nthe numbers are in.");
    await writeDraft(page, "Shopping", "Milk, tea");
    await page.getByLabel("Dark").check();
    await expect.poll(async () => (await account(page)).settings?.theme).toBe("dark");
    await page.getByLabel("Text", { exact: true }).click();

    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await expect(modal(page)).toContainText("You were signed out after 2 minutes without activity.");
    await expect(modal(page)).toContainText("Nothing is lost. Your 2 drafts and settings are saved to your account");
    await expect(page.locator("#reauth-password")).toBeFocused();

    const refused = await sessionInfo(page);
    expect(refused.status).toBe(401);
    expect(refused.body.error_code).toBe("session_expired");
    expect(refused.body.reason).toBe("idle");

    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(page.getByRole("button", { name: "Shopping" })).toBeVisible();
    await expect(page.getByLabel("Title")).toHaveValue("Shopping");
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("Milk, tea");
    await expect(page.getByLabel("Text", { exact: true })).toBeFocused();
    await page.getByRole("button", { name: "Quarterly letter" }).click();
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("Dear shareholders,\nthe numbers are in.");
    await expect(page.getByLabel("Dark")).toBeChecked();
    expect((await sessionInfo(page)).status).toBe(200);
  });

  test("a wrong password in the modal is refused and nothing is lost", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Keep me", "safe");
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await page.locator("#reauth-password").fill("not the password");
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toContainText("do not match");
    await expect(modal(page)).toBeVisible();
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("safe");
  });

  test("a reload while the modal shows still brings the drafts back after signing in", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Survives reloads", "Every word of it.");
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();

    await page.reload();
    await expect(modal(page)).toBeVisible();
    await expect(modal(page)).toContainText("Continue as Ada Lovelace");
    await expect(modal(page)).toContainText("Your drafts and settings are kept");
    // Nothing of the work is on the page, not even behind the modal, until the same
    // person has signed in again.
    const html = await page.content();
    expect(html).not.toContain("Survives reloads");
    expect(html).not.toContain("Every word of it.");
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(page.getByLabel("Title")).toHaveValue("Survives reloads");
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("Every word of it.");
  });
});
