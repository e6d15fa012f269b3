import { expect, type Page } from "@playwright/test";

export const ADA = { username: "ada", password: "correct horse battery", name: "Ada Lovelace" };
export const GRACE = { username: "grace", password: "another staple battery", name: "Grace Hopper" };

/** The policy the suite's server runs with (see start-server.sh). */
export const POLICY = { idleSecs: 120, warningSecs: 60, heartbeatSecs: 10 };

/**
 * Moves time forward on the server and in the browser together: the server first, so a
 * request the browser makes when its timers fire already meets the later server time.
 */
export async function advance(page: Page, seconds: number) {
  const response = await page.request.post("/__test__/clock/advance", { data: { seconds } });
  expect(response.ok()).toBeTruthy();
  await page.clock.fastForward(seconds * 1000);
}

/** Waits until the app has hydrated: the sign-in button is enabled only then. */
export async function hydrated(page: Page) {
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled({ timeout: 20_000 });
}

/**
 * Waits until no animation is running, so pixels and contrast are judged on the settled
 * page (an entrance animation starts at opacity 0). Polled from the test side: the page's
 * own timers are fake.
 */
export async function settled(page: Page) {
  await expect
    .poll(
      () => page.evaluate(() => document.getAnimations().filter((a) => a.playState === "running").length),
      { timeout: 5_000 },
    )
    .toBe(0);
}

/** Installs the fake clock (before any page script runs) and signs in. */
export async function signIn(page: Page, user = ADA) {
  await page.clock.install();
  await page.goto("/login");
  await expect(page.locator("#timeout-disclosure")).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${user.name}`)).toBeVisible({ timeout: 15_000 });
}

/** The server's view of the session, read without extending it. */
export async function sessionInfo(page: Page) {
  const response = await page.request.post("/api/auth/session-info", { data: {} });
  return { status: response.status(), body: await response.json() };
}

/** The user's preserved workspace as stored in localStorage, or null. */
export async function stored(page: Page, userId = 1): Promise<any> {
  const raw = await page.evaluate((key) => localStorage.getItem(key), `vigil.preserved.v1.user-${userId}`);
  return raw === null ? null : JSON.parse(raw);
}

/** Waits until the debounced save has written something matching `check`. */
export async function waitForStored(page: Page, check: (envelope: any) => boolean, userId = 1) {
  await expect.poll(async () => check(await stored(page, userId)), { timeout: 5_000 }).toBe(true);
}

export async function writeDraft(page: Page, title: string, body: string) {
  await page.locator("#new-draft").click();
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Text", { exact: true }).fill(body);
  await waitForStored(page, (e) => e?.workspace.drafts.some((d: any) => d.title === title && d.body === body));
}

export const toast = (page: Page) => page.locator("#session-warning");
export const modal = (page: Page) => page.getByRole("alertdialog", { name: "Your session has ended" });
