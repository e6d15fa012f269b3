import { expect } from "@playwright/test";
import { ADA, advance, modal, POLICY, signIn, test } from "./helpers";

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
