import { expect } from "@playwright/test";
import { ADA, advance, HYDRATION_TIMEOUT, LIN, machineRunning, modal, POLICY, signIn, test, writeDraft } from "./helpers";

test.describe("when the browser cannot keep the work", () => {
  test("full storage: a notice, and the drafts stay in the tab through a timeout", async ({ page }) => {
    await page.addInitScript(() => {
      const original = Storage.prototype.setItem;
      Storage.prototype.setItem = function (key: string, value: string) {
        if (key.startsWith("vigil.v2.")) throw new DOMException("full", "QuotaExceededError");
        return original.call(this, key, value);
      };
    });
    await signIn(page);
    await page.locator("#new-draft").click();
    await page.getByLabel("Title").fill("Kept in memory");
    await expect(page.locator("[data-notice=storage]")).toContainText("storage is full");

    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(page.getByLabel("Title")).toHaveValue("Kept in memory");
  });

  test("disabled storage: a notice, and the app works", async ({ page }) => {
    await page.addInitScript(() => {
      Object.defineProperty(window, "localStorage", {
        configurable: true,
        get() {
          throw new DOMException("storage is disabled", "SecurityError");
        },
      });
    });
    await signIn(page);
    await expect(page.locator("[data-notice=storage]")).toContainText("storage is disabled");
    await page.locator("#new-draft").click();
    await page.getByLabel("Title").fill("Still works");
    await page.getByLabel("Text", { exact: true }).fill("without storage");
    await expect(page.getByRole("button", { name: "Still works" })).toBeVisible();
  });
});

test.describe("the local-copy key after a password change", () => {
  /** The key version of each of this browser's encrypted entries. */
  const keyVersions = (page: import("@playwright/test").Page) =>
    page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith("vigil.v2.u") && !k.endsWith(".set-aside"))
        .map((k) => JSON.parse(localStorage.getItem(k) ?? "{}").key_version as number),
    );
  const changePassword = (page: import("@playwright/test").Page, current: string, next: string) =>
    page.request.post("/api/account/password", {
      data: { current_password: current, new_password: next },
    });

  test("copies written before are read once with the old key and written again under the new one", async ({
    page,
  }) => {
    const changed = "a new lantern by the gate";
    await signIn(page, LIN);
    await writeDraft(page, "Before the change", "kept in this browser");
    await expect.poll(async () => (await keyVersions(page)).length).toBeGreaterThan(0);
    const before = Math.max(...(await keyVersions(page)));

    expect((await changePassword(page, LIN.password, changed)).status()).toBe(200);
    try {
      await page.reload();
      await expect(page.getByText(`Signed in as ${LIN.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
      await expect(page.getByRole("button", { name: "Before the change" })).toBeVisible();
      await machineRunning(page);
      await expect.poll(async () => [...new Set(await keyVersions(page))]).toEqual([before + 1]);
      await expect(page.locator("[data-notice=storage]")).toHaveCount(0);
    } finally {
      // And back, so the rest of the suite (and the next run on the same server) signs in.
      expect((await changePassword(page, changed, LIN.password)).status()).toBe(200);
    }
  });
});
