import { expect } from "@playwright/test";
import {
  account,
  ADA,
  GRACE,
  holdSaves,
  hydrated,
  localEntries,
  localStorageText,
  sessionInfo,
  signIn,
  test,
  writeDraft,
} from "./helpers";

test.describe("signing out and the work kept here", () => {
  test("sign-out asks before discarding changes the account does not have, then removes them", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Saved", "in the account");
    await holdSaves(page);
    await page.getByLabel("Text", { exact: true }).fill("in the account, and more");

    await page.locator("#sign-out").click();
    const dialog = page.getByRole("alertdialog", { name: "Discard unsaved changes?" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText("One change has not reached your account yet");
    await page.getByRole("button", { name: "Keep working" }).click();
    await expect(dialog).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
    expect((await localEntries(page)).length).toBeGreaterThan(0);

    await page.locator("#sign-out").click();
    await page.getByRole("button", { name: "Sign out and discard" }).click();
    await expect(page).toHaveURL(/\/login$/);
    expect(await localEntries(page)).toEqual([]);
    expect((await sessionInfo(page)).status).toBe(401);

    // What the account had is still there; the discarded change is not.
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await hydrated(page);
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("in the account");
  });

  test("with everything saved, signing out asks nothing", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "All saved", "nothing waits");
    await page.locator("#sign-out").click();
    await expect(page).toHaveURL(/\/login$/);
    expect(await localEntries(page)).toEqual([]);
  });

  test("escape closes the sign-out question without signing out", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Still here", "yes");
    await holdSaves(page);
    await page.getByLabel("Text", { exact: true }).fill("yes, and more");
    await page.locator("#sign-out").click();
    await expect(page.getByRole("button", { name: "Keep working" })).toBeFocused();
    await page.keyboard.press("Escape");
    await expect(page.getByRole("alertdialog")).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
  });

  test("another user on the same browser never sees someone else's drafts", async ({ page, context }) => {
    await signIn(page, ADA);
    await writeDraft(page, "Ada's secret", "private");
    await context.clearCookies();

    await page.goto("/login");
    await hydrated(page);
    await page.getByLabel("Username").fill(GRACE.username);
    await page.getByLabel("Password").fill(GRACE.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByText(`Signed in as ${GRACE.name}`)).toBeVisible();
    await expect(page.getByText("No drafts yet.")).toBeVisible();
    await expect(page.getByText("Ada's secret")).toHaveCount(0);
    expect((await account(page)).drafts).toEqual([]);
    // Ada's copy is still kept for her, and nobody can read it.
    expect((await localEntries(page, 1)).length).toBeGreaterThan(0);
    expect(await localStorageText(page)).not.toContain("Ada's secret");
  });

  test("corrupt saved data gives a notice and the app keeps working", async ({ page }) => {
    await page.clock.install();
    await page.goto("/login");
    const key = "vigil.v2.u1.draft.0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b";
    await page.evaluate((key) => localStorage.setItem(key, "{not json"), key);
    await hydrated(page);
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator("[data-notice=storage]")).toContainText("could not be used");
    await writeDraft(page, "Fresh start", "works");
    const aside = await page.evaluate((key) => localStorage.getItem(`${key}.set-aside`), key);
    expect(aside).toBe("{not json");
  });

  test("wrong credentials on the sign-in page are explained", async ({ page }) => {
    await page.goto("/login");
    await expect(page.locator("#timeout-disclosure")).toContainText("2 minutes");
    await expect(page.locator("#policy-details")).toContainText("7 days");
    await hydrated(page);
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator("#login-error")).toContainText("do not match");
    await expect(page).toHaveURL(/\/login$/);
  });
});
