import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Page, type Route } from "@playwright/test";
import { instancePorts } from "../ports";

/**
 * The suite's `test`: every test starts with empty accounts (the server is shared, and the
 * work now lives in the accounts).
 */
export const test = base.extend<{ cleanAccounts: void }>({
  cleanAccounts: [
    async ({ request }, use) => {
      const reset = await request.post("/__test__/reset");
      expect(reset.status()).toBe(204);
      await use();
    },
    { auto: true },
  ],
});

export const ADA = { username: "ada", password: "correct horse battery", name: "Ada Lovelace" };
export const GRACE = { username: "grace", password: "another staple battery", name: "Grace Hopper" };
/** The account whose password the password test changes (and changes back). */
export const LIN = { username: "lin", password: "a lantern by the door", name: "Lin Mei" };
/** An administrator: a shorter idle timeout (see server-env.sh). */
export const ROOT = { username: "root", password: "an operator passphrase", name: "Root Operator" };

/** The policy the suite's servers run with (see server-env.sh). */
export const POLICY = { idleSecs: 120, warningSecs: 60, heartbeatSecs: 10, adminIdleSecs: 90, reauthSecs: 30 };

/**
 * Moves time forward on the server and in the browser together: the server first, so a
 * request the browser makes when its timers fire already meets the later server time.
 */
export async function advance(page: Page, seconds: number) {
  let moved = 0;
  for (const url of clockHooks()) {
    try {
      const response = await page.request.post(url, { data: { seconds } });
      expect(response.ok()).toBeTruthy();
      moved += 1;
    } catch (error) {
      // An instance the test killed has no clock left to move.
      if (!String(error).includes("ECONNREFUSED")) throw error;
    }
  }
  expect(moved).toBeGreaterThan(0);
  await page.clock.fastForward(seconds * 1000);
}

/** The clock of the one server, or of every instance of the cluster (each has its own). */
function clockHooks(): string[] {
  if (base.info().project.name !== "cluster") return ["/__test__/clock/advance"];
  return instancePorts.map((port) => `http://127.0.0.1:${port}/__test__/clock/advance`);
}

/**
 * How long a page may take to go live after a load: the debug wasm (and, in a split build, the
 * page's chunk) compiles and hydrates first, which on a slow 2-core machine exceeds 7 s.
 */
export const HYDRATION_TIMEOUT = 20_000;

/** Waits until the app has hydrated: the sign-in button is enabled only then. */
export async function hydrated(page: Page) {
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled({ timeout: HYDRATION_TIMEOUT });
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
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText(`Signed in as ${user.name}`)).toBeVisible({ timeout: 15_000 });
}

/**
 * Waits until the session machine shows the page. A page rendered from the live session
 * shows its work at once, but starts its machine on the first interaction or a few seconds
 * after hydration (the clock's time flows after `install`).
 */
export async function machineRunning(page: Page) {
  await expect(page.locator(".app-shell[data-live]")).toBeAttached({ timeout: HYDRATION_TIMEOUT });
}

/** The server's view of the session, read without extending it. */
export async function sessionInfo(page: Page) {
  const response = await page.request.post("/api/auth/session-info", { data: {} });
  return { status: response.status(), body: await response.json() };
}

/** Seconds the server still gives the session before its idle deadline, read passively. */
export async function idleSecondsLeft(page: Page): Promise<number> {
  const { status, body } = await sessionInfo(page);
  if (status !== 200) return -1;
  return (Date.parse(body.idle_expires_at) - Date.parse(body.server_now)) / 1000;
}

/**
 * After moving time one heartbeat forward in a tab with activity: waits until the server has
 * taken a heartbeat from the last interval or this one (the deadline is never more than two
 * intervals behind), so the next step starts from a session the heartbeat kept alive.
 */
export async function heartbeatTaken(page: Page) {
  await expect
    .poll(() => idleSecondsLeft(page), { timeout: 10_000 })
    .toBeGreaterThan(POLICY.idleSecs - 2 * POLICY.heartbeatSecs);
}

/** The drafts and settings in the user's account, read without extending the session. */
export async function account(page: Page): Promise<{ status: number; drafts: any[]; settings: any }> {
  const response = await page.request.get("/api/drafts");
  if (!response.ok()) return { status: response.status(), drafts: [], settings: null };
  const body = await response.json();
  return { status: 200, drafts: body.drafts, settings: body.settings };
}

/** Waits until the account holds a draft matching `check`. */
export async function waitForSaved(page: Page, check: (draft: any) => boolean) {
  await expect.poll(async () => (await account(page)).drafts.some(check), { timeout: 10_000 }).toBe(true);
}

/** The names of this browser's local entries for a user (their contents are encrypted). */
export async function localEntries(page: Page, userId = 1): Promise<string[]> {
  return page.evaluate(
    (prefix) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)),
    `vigil.v2.u${userId}.`,
  );
}

/** Everything in localStorage, as one string. */
export async function localStorageText(page: Page): Promise<string> {
  return page.evaluate(() => Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`).join("\n"));
}

/** Writes a new draft and waits until the account has it. */
export async function writeDraft(page: Page, title: string, body: string) {
  await page.locator("#new-draft").click();
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Text", { exact: true }).fill(body);
  await waitForSaved(page, (d) => d.title === title && d.body === body);
  await expect(page.locator("#save-status")).toContainText("Saved to your account");
}

export const toast = (page: Page) => page.locator("#session-warning");
export const modal = (page: Page) => page.getByRole("alertdialog", { name: "Your session has ended" });
export const stepUp = (page: Page) => page.getByRole("alertdialog", { name: "Confirm it is you" });

/**
 * Holds every change on its way to the account until the returned function is called, so
 * the page has changes the account does not have yet.
 */
export async function holdSaves(page: Page): Promise<() => Promise<void>> {
  const held: Route[] = [];
  let holding = true;
  await page.route(/\/api\/(drafts|settings)/, (route) => {
    if (holding && route.request().method() !== "GET") held.push(route);
    else route.continue();
  });
  return async () => {
    holding = false;
    for (const route of held.splice(0)) await route.continue();
  };
}

/** WCAG 2.2 AA as axe-core checks it: no violation on the settled page in `state`. */
export async function expectNoViolations(page: Page, state: string) {
  await settled(page);
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(" | ")}`);
  expect(summary, `axe violations in ${state}`).toEqual([]);
  console.log(`axe ${state}: 0 violations, ${results.passes.length} rules passed`);
}

/**
 * Chromium's virtual authenticator (DevTools Protocol) on this page: a platform
 * authenticator that keeps resident keys and verifies its user at once.
 */
export async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
