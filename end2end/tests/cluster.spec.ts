import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { clusterPort } from "../ports";
import {
  account,
  ADA,
  advance,
  modal,
  POLICY,
  sessionInfo,
  signIn,
  test,
  toast,
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

    // Signed out through one instance while typing: the change refused by another waits,
    // and is saved exactly once after signing in again.
    const out = await page.request.post("/api/auth/logout", { data: {} });
    expect(out.status()).toBe(200);
    await body(page).click();
    await body(page).press("End");
    await body(page).pressSequentially(" saved by all.");
    await expect(modal(page)).toBeVisible();
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
