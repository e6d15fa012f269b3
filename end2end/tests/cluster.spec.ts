import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { clusterPort, instancePorts } from "../ports";
import {
  account,
  ADA,
  advance,
  holdSaves,
  machineRunning,
  modal,
  POLICY,
  sessionInfo,
  signIn,
  test,
  toast,
  virtualAuthenticator,
  waitForSaved,
  writeDraft,
} from "./helpers";

// Three instances behind haproxy (round robin, no stickiness) on one Redis and one
// Postgres (start-cluster.sh): consecutive requests of one page land on different
// instances, so every step below crosses instances.

const body = (page: Page) => page.getByLabel("Text", { exact: true });

async function signInAgain(page: Page) {
  await page.locator("#reauth-password").fill(ADA.password);
  await page.getByRole("button", { name: "Sign in again" }).click();
  await expect(modal(page)).toBeHidden();
}

/** Kills one instance with SIGKILL, as a crash would. */
function crash(instance: number) {
  execFileSync(join(__dirname, "..", "..", "deploy", "cluster.sh"), ["kill", String(instance)], {
    env: {
      ...process.env,
      VIGIL_CLUSTER_PORT: String(clusterPort),
      VIGIL_CLUSTER_DIR: join(__dirname, "..", ".cluster-data"),
    },
  });
}

test.describe("three instances behind a load balancer", () => {
  test("warning, staying signed in, the timeout, signing in again and the replayed change", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Across instances", "Written here,");

    // The warning, and staying signed in: the extension holds on every instance.
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    await page.getByRole("button", { name: "Stay signed in" }).click();
    await expect(toast(page)).toBeHidden();
    for (let i = 0; i < 3; i++) expect((await sessionInfo(page)).status).toBe(200);

    // The idle timeout, and signing in again in place.
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    for (let i = 0; i < 3; i++) expect((await sessionInfo(page)).body.error_code).toBe("session_expired");
    await signInAgain(page);
    await expect(body(page)).toHaveValue("Written here,");

    // Signed out through one instance while a change is on its way: the screen locks, the
    // change refused by another instance waits, and is saved exactly once after signing in
    // again.
    const release = await holdSaves(page);
    await body(page).click();
    await body(page).press("End");
    await body(page).pressSequentially(" saved by all.");
    await expect(page.locator("#save-status")).toContainText("Saving to your account");
    const out = await page.request.post("/api/auth/logout", { data: {} });
    expect(out.status()).toBe(200);
    await expect(modal(page)).toBeVisible();
    await release();
    await expect(modal(page)).toContainText("1 change is waiting");
    await signInAgain(page);
    await waitForSaved(page, (d) => d.body === "Written here, saved by all.");
    const saved = (await account(page)).drafts.filter((d) => d.title === "Across instances");
    expect(saved).toHaveLength(1);
  });

  test("an instance killed mid-session signs nobody out and loses nothing", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Through a crash", "Before");
    crash(2);
    // Typing and heartbeats go on; haproxy sends what instance 2 would have had elsewhere.
    for (const word of [" during", " and", " after."]) {
      await body(page).pressSequentially(word);
      await advance(page, POLICY.heartbeatSecs);
    }
    await waitForSaved(page, (d) => d.body === "Before during and after.");
    await expect(modal(page)).toBeHidden();
    for (let i = 0; i < 3; i++) expect((await sessionInfo(page)).status).toBe(200);
    await expect(page.locator("#save-status")).toContainText("Saved to your account");
  });
});

test.describe("passkeys across instances", () => {
  // WebAuthn needs a host name: the cluster's VIGIL_PUBLIC_URL is haproxy's, as localhost.
  test.use({ baseURL: `http://localhost:${clusterPort}` });

  /**
   * Answers the page's requests to `path` from one instance, past haproxy (for requests that
   * carry no session: the answer, cookie included, is the page's as if haproxy had sent it).
   */
  async function pin(page: Page, path: string, instance: number) {
    await page.route(`**${path}`, async (route) => {
      const url = new URL(route.request().url());
      // As haproxy forwards it: the page's Host, another address.
      const headers = { ...(await route.request().allHeaders()), host: url.host };
      url.host = `127.0.0.1:${instancePorts[instance - 1]}`;
      await route.fulfill({ response: await route.fetch({ url: url.toString(), headers }) });
    });
  }

  test("a sign-in ceremony started on one instance finishes on another", async ({ page }) => {
    await virtualAuthenticator(page);
    await signIn(page);
    await page.goto("/account");
    await expect(page.getByText("You have no passkeys yet.")).toBeVisible({ timeout: 20_000 });
    await page.getByLabel("Name of the new passkey").fill("Across");
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await expect(page.locator("#passkey-list")).toContainText("Across");

    // The challenge from instance 3, the answer to instance 1 (instance 2 may have been
    // crashed by the test before).
    await page.locator("#sign-out").click();
    await pin(page, "/api/auth/passkey/options", 3);
    await pin(page, "/api/auth/passkey", 1);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: 15_000 });
  });
});

test.describe("an ending reaches a browser pinned to another instance", () => {
  test("signing out everywhere else through instance 3 locks a page served by instance 1 within two seconds", async ({
    browser,
  }) => {
    // Each browser talks to one instance only, as a sticky load balancer would pin it: the
    // news crosses from instance 3 to instance 1 through Redis.
    const pinned = async (instance: number) =>
      (await browser.newContext({ baseURL: `http://127.0.0.1:${instancePorts[instance - 1]}` })).newPage();
    const laptop = await pinned(1);
    const listening = laptop.waitForResponse((r) => r.url().endsWith("/api/events") && r.status() === 200);
    await signIn(laptop);
    await machineRunning(laptop);
    await listening;
    const phone = await pinned(3);
    await signIn(phone);

    const ended = await phone.request.post("/api/sessions/revoke-others", { data: {} });
    expect(ended.ok()).toBeTruthy();
    const since = Date.now();
    await expect(modal(laptop)).toBeVisible({ timeout: 2_000 });
    expect(Date.now() - since).toBeLessThan(2_000);
    await expect(modal(laptop)).toContainText("You were signed out from another device.");
    await expect(laptop.locator(".app-shell[data-locked]")).toBeAttached();
    await laptop.context().close();
    await phone.context().close();
  });
});
