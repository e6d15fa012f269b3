import { expect, type Page } from "@playwright/test";
import config from "../playwright.config";
import { ADA, machineRunning, modal, signIn, test, writeDraft } from "./helpers";

/**
 * SPEC §9.3, the back button: a page restored from the back-forward cache after its session
 * ended is locked before it paints. Playwright turns Chromium's back-forward cache off; this
 * file turns it back on.
 *
 * Vigil's pages and answers are `Cache-Control: no-store`, which keeps Chromium (here) and
 * Firefox from caching them at all; Chromium keeps such pages when their cookies did not
 * change wherever its "no-store" cache is on, and other browsers may too. The tests that need
 * a restored page take `Cache-Control` off every answer the browser sees, as such a browser
 * would ignore it, so the page really is frozen and restored.
 */
test.use({ launchOptions: { ...config.use?.launchOptions, ignoreDefaultArgs: ["--disable-back-forward-cache"] } });

/** This browser keeps pages in its back-forward cache whatever their `Cache-Control` says. */
async function cacheEverything(page: Page) {
  await page.context().route(/.*/, async (route) => {
    // The event stream is a stream: passed through as it is.
    if (route.request().url().includes("/api/events")) return route.continue();
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers["cache-control"];
    await route.fulfill({ response, headers });
  });
}

/** Signs in and opens the workspace as a page of its own (loaded with the session cookie). */
async function openWorkspace(page: Page) {
  await signIn(page);
  await page.goto("/");
  await machineRunning(page);
}

/** The open draft's text. */
const text = (page: Page) => page.getByLabel("Text", { exact: true });

/** What the page looked like as it came back: read in `pageshow` and at its first frame. */
async function watchRestore(page: Page) {
  await page.evaluate(() => {
    const shown = () => getComputedStyle(document.querySelector(".app-shell")!).visibility !== "hidden";
    addEventListener("pageshow", (event) => {
      const seen = { persisted: event.persisted, shownAtPageshow: shown(), shownAtFirstFrame: null as boolean | null };
      (window as any).__restore = seen;
      requestAnimationFrame(() => (seen.shownAtFirstFrame = shown()));
    });
  });
}

test.describe("the back button", () => {
  test("a page back from the cache after its session ended elsewhere is locked before it paints", async ({
    browser,
    page,
  }) => {
    await cacheEverything(page);
    await openWorkspace(page);
    await writeDraft(page, "Frozen work", "Nobody else should see this.");
    await watchRestore(page);
    await page.goto("/problems/session-expired");
    await expect(page.getByRole("heading", { name: "Session expired" })).toBeVisible();

    const phone = await (await browser.newContext()).newPage();
    await signIn(phone);
    expect((await phone.request.post("/api/sessions/revoke-others", { data: {} })).ok()).toBeTruthy();

    // A restored page has no load event to wait for.
    await page.goBack({ waitUntil: "commit" });
    const restore = await page.waitForFunction(() => {
      const seen = (window as any).__restore;
      return seen && seen.shownAtFirstFrame !== null ? seen : null;
    });
    expect(await restore.jsonValue()).toEqual({ persisted: true, shownAtPageshow: false, shownAtFirstFrame: false });
    await expect(modal(page)).toBeVisible();
    await expect(modal(page)).toContainText("You were signed out from another device.");
    await expect(text(page)).toBeHidden();
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(text(page)).toHaveValue("Nobody else should see this.");
    await expect(text(page)).toBeVisible();
    await phone.context().close();
  });

  test("a page back from the cache with its session alive shows again once the server says so", async ({ page }) => {
    await cacheEverything(page);
    await openWorkspace(page);
    await writeDraft(page, "Still mine", "Shown again.");
    await watchRestore(page);
    await page.goto("/problems/session-expired");
    await page.goBack({ waitUntil: "commit" });
    const restore = await page.waitForFunction(() => (window as any).__restore ?? null);
    expect((await restore.jsonValue()).persisted).toBe(true);
    await expect(text(page)).toHaveValue("Shown again.");
    await expect(text(page)).toBeVisible();
    await expect(modal(page)).toBeHidden();
  });

  test("with the server's own headers, back after the session ended elsewhere shows it locked", async ({
    browser,
    page,
  }) => {
    await openWorkspace(page);
    await writeDraft(page, "Not kept", "Loaded again from the server.");
    await page.goto("/problems/session-expired");
    const phone = await (await browser.newContext()).newPage();
    await signIn(phone);
    expect((await phone.request.post("/api/sessions/revoke-others", { data: {} })).ok()).toBeTruthy();
    // Loaded afresh (Chromium here does not keep no-store pages) or restored: locked either way.
    await page.goBack({ waitUntil: "commit" });
    await expect(modal(page)).toBeVisible();
    await expect(text(page)).toBeHidden();
    await phone.context().close();
  });

  test("after signing out, the back button shows nothing of the work", async ({ page }) => {
    await signIn(page);
    await machineRunning(page);
    await writeDraft(page, "Left behind", "Gone with the session.");
    await page.locator("#sign-out").click();
    await expect(page).toHaveURL(/\/login/);
    await page.goBack();
    await expect(text(page)).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  });
});
