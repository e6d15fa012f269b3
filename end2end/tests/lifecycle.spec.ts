import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { ADA, advance, modal, POLICY, sessionInfo, signIn, toast, test } from "./helpers";

/** Hides or shows the document as a sleeping laptop or a background tab would. */
async function setVisible(page: Page, visible: boolean) {
  await page.evaluate((visible) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (visible ? "visible" : "hidden") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => !visible });
    document.dispatchEvent(new Event("visibilitychange"));
  }, visible);
}

/** Time passes with the machine asleep: clocks jump, no timer runs. */
async function sleepFor(page: Page, seconds: number) {
  const response = await page.request.post("/__test__/clock/advance", { data: { seconds } });
  expect(response.ok()).toBeTruthy();
  const now = await page.evaluate(() => Date.now());
  await page.clock.setSystemTime(now + seconds * 1000);
}

test.describe("sleep, background and wrong clocks", () => {
  test("a laptop that slept past the deadline wakes to the modal, never a stale toast", async ({ page }) => {
    await signIn(page);
    await setVisible(page, false);
    await sleepFor(page, POLICY.idleSecs + 30);
    await setVisible(page, true);
    await expect(modal(page)).toBeVisible();
    await expect(toast(page)).toHaveCount(0);
    expect((await sessionInfo(page)).body.error_code).toBe("session_expired");
  });

  test("a laptop that slept into the warning shows the toast with the right time left", async ({ page }) => {
    await signIn(page);
    await setVisible(page, false);
    await sleepFor(page, POLICY.idleSecs - POLICY.warningSecs + 10);
    await setVisible(page, true);
    await expect(toast(page)).toBeVisible();
    await expect(page.locator("#countdown")).toHaveText(/^00:(50|49|48)$/);
  });

  test("a page restored from the back-forward cache re-evaluates at once", async ({ page }) => {
    await signIn(page);
    await sleepFor(page, POLICY.idleSecs + 5);
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true })));
    await expect(modal(page)).toBeVisible();
    await expect(toast(page)).toHaveCount(0);
  });

  test("coming back to the tab is not activity: it does not extend the session", async ({ page }) => {
    await signIn(page);
    const before = (await sessionInfo(page)).body.idle_expires_at;
    await setVisible(page, false);
    await sleepFor(page, 30);
    await setVisible(page, true);
    await page.evaluate(() => window.dispatchEvent(new Event("focus")));
    await advance(page, POLICY.heartbeatSecs);
    expect((await sessionInfo(page)).body.idle_expires_at).toBe(before);
  });

  for (const skewMinutes of [10, -10]) {
    test(`a browser clock ${skewMinutes > 0 ? "ten minutes fast" : "ten minutes slow"} still warns and expires on time`, async ({ page }) => {
      await page.clock.install({ time: Date.now() + skewMinutes * 60_000 });
      await page.goto("/login");
      await page.getByLabel("Username").fill(ADA.username);
      await page.getByLabel("Password").fill(ADA.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();

      await advance(page, POLICY.idleSecs - POLICY.warningSecs - 3);
      await expect(toast(page)).toBeHidden();
      await advance(page, 5);
      await expect(toast(page)).toBeVisible();
      await expect(page.locator("#countdown")).toHaveText(/^00:(58|57|56)$/);
      await advance(page, POLICY.warningSecs);
      await expect(modal(page)).toBeVisible();
    });
  }
});

test.describe("failures without loss", () => {
  test("a lost connection is reported, retried, and never signs anyone out", async ({ page, context }) => {
    await signIn(page);
    await page.locator("#new-draft").click();
    await page.getByLabel("Title").fill("Written offline");
    await context.setOffline(true);
    await advance(page, POLICY.heartbeatSecs);
    await expect(page.locator("[data-notice=network]")).toContainText("cannot reach the server");
    await expect(page.getByLabel("Title")).toHaveValue("Written offline");
    await expect(modal(page)).toBeHidden();

    // Listen before going back online: the browser's `online` event retries at once, and the
    // answer can arrive before setOffline returns.
    const recovered = page.waitForResponse((r) => r.url().endsWith("/api/auth/refresh") && r.status() === 200);
    await context.setOffline(false);
    await page.clock.fastForward(2_000);
    await recovered;
    await expect(page.locator("[data-notice=network]")).toHaveCount(0);
    await expect(page).toHaveURL(/\/$/);
  });

  test("a token that ran out while its session lives is exchanged invisibly", async ({ page, context }) => {
    await signIn(page);
    const cookie = (await context.cookies()).find((c) => c.name === "__Host-vigil-session");
    expect(cookie).toBeDefined();
    const [head, payload] = cookie!.value.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const serverNow = Math.floor(Date.parse((await sessionInfo(page)).body.server_now) / 1000);
    Object.assign(claims, { iat: serverNow - 120, nbf: serverNow - 120, exp: serverNow - 60 });
    const secret = readFileSync(join(__dirname, "..", ".server-data", "jwt-secret"), "utf8").trim();
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
    await context.addCookies([{ ...cookie!, value: `${head}.${body}.${signature}` }]);
    expect((await sessionInfo(page)).body.error_code).toBe("token_expired");

    const exchanged = page.waitForResponse((r) => r.url().endsWith("/api/auth/refresh"));
    await page.reload();
    expect((await exchanged).status()).toBe(200);
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
    await expect(modal(page)).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
  });
});
