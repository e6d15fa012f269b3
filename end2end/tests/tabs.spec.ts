import { expect, type Page } from "@playwright/test";
import {
  ADA,
  advance,
  heartbeatTaken,
  machineRunning,
  modal,
  POLICY,
  sessionInfo,
  signIn,
  toast,
  test,
} from "./helpers";

async function openSecondTab(page: Page) {
  const other = await page.context().newPage();
  await other.goto("/");
  await expect(other.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
  await machineRunning(other);
  return other;
}

test.describe("several tabs share one session", () => {
  test("warning, stay signed in, timeout and signing in again reach every tab", async ({ page }) => {
    await signIn(page);
    const other = await openSecondTab(page);

    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    await expect(toast(other)).toBeVisible();

    await page.getByRole("button", { name: "Stay signed in" }).click();
    await expect(toast(page)).toBeHidden();
    await expect(toast(other)).toBeHidden();

    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await expect(modal(other)).toBeVisible();

    await other.locator("#reauth-password").fill(ADA.password);
    await other.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(other)).toBeHidden();
    await expect(modal(page)).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
  });

  test("activity in one tab keeps the others from warning", async ({ page }) => {
    await signIn(page);
    const other = await openSecondTab(page);
    await page.locator("#new-draft").click();
    const body = page.getByLabel("Text", { exact: true });
    for (let elapsed = 0; elapsed < POLICY.idleSecs * 2; elapsed += POLICY.heartbeatSecs) {
      await body.press("x");
      await advance(page, POLICY.heartbeatSecs);
      await heartbeatTaken(page);
    }
    await expect(toast(other)).toBeHidden();
    await expect(modal(other)).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
  });

  test("signing out in one tab signs out all", async ({ page }) => {
    await signIn(page);
    const other = await openSecondTab(page);
    await page.locator("#sign-out").click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(other).toHaveURL(/\/login$/);
  });

  test("three active tabs send at most one heartbeat per interval between them", async ({ page }) => {
    // Each tab notes when (on its own fake clock) it sends a refresh.
    await page.context().addInitScript(() => {
      const w = window as unknown as { __refreshes: number[] };
      w.__refreshes = [];
      const send = window.fetch.bind(window);
      window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (url.endsWith("/api/auth/refresh")) w.__refreshes.push(Date.now());
        return send(input, init);
      };
    });
    await signIn(page);
    const tabs = [page, await openSecondTab(page), await openSecondTab(page)];
    for (const tab of tabs) await tab.locator("#new-draft").click();
    let refreshes = 0;
    page.context().on("request", (r) => {
      if (r.url().endsWith("/api/auth/refresh")) refreshes++;
    });
    const sentAt = async () => {
      const times = await Promise.all(
        tabs.map((tab) => tab.evaluate(() => (window as unknown as { __refreshes: number[] }).__refreshes)),
      );
      return times.flat().sort((a, b) => a - b);
    };
    const intervals = 6;
    for (let i = 0; i < intervals; i++) {
      for (const tab of tabs) await tab.getByLabel("Text", { exact: true }).press("k");
      await advance(page, POLICY.heartbeatSecs);
      await heartbeatTaken(page);
    }
    await expect.poll(() => refreshes).toBeGreaterThanOrEqual(intervals - 2);
    const times = await sentAt();
    expect(times.length).toBeGreaterThanOrEqual(intervals - 2);
    // However the tabs' timers interleave: consecutive reports are most of an interval
    // apart (the heartbeat reports up to a tenth early rather than a whole interval late).
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(POLICY.heartbeatSecs * 1000 * 0.9 - 100);
    for (const tab of tabs) await expect(toast(tab)).toBeHidden();
  });
});
