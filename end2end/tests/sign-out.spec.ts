import { expect, test } from "@playwright/test";
import { ADA, GRACE, sessionInfo, signIn, stored, writeDraft } from "./helpers";

test.describe("signing out and preserved work", () => {
  test("sign-out asks before discarding unsent drafts, then removes them", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Unsent", "words");

    await page.locator("#sign-out").click();
    const dialog = page.getByRole("alertdialog", { name: "Discard unsent drafts?" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText("your unsent draft");
    await page.getByRole("button", { name: "Keep working" }).click();
    await expect(dialog).toBeHidden();
    expect((await sessionInfo(page)).status).toBe(200);
    expect(await stored(page)).not.toBeNull();

    await page.locator("#sign-out").click();
    await page.getByRole("button", { name: "Sign out and discard" }).click();
    await expect(page).toHaveURL(/\/login$/);
    expect(await stored(page)).toBeNull();
    const after = await sessionInfo(page);
    expect(after.status).toBe(401);

    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("No drafts yet.")).toBeVisible();
  });

  test("escape closes the sign-out question without signing out", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Still here", "yes");
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
    await page.getByLabel("Username").fill(GRACE.username);
    await page.getByLabel("Password").fill(GRACE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText(`Signed in as ${GRACE.name}`)).toBeVisible();
    await expect(page.getByText("No drafts yet.")).toBeVisible();
    await expect(page.getByText("Ada's secret")).toHaveCount(0);
    // Ada's work is still kept for her.
    expect((await stored(page, 1))?.workspace.drafts[0].title).toBe("Ada's secret");
  });

  test("corrupt saved data gives a notice and the app keeps working", async ({ page }) => {
    await page.clock.install();
    await page.goto("/login");
    await page.evaluate(() => localStorage.setItem("vigil.preserved.v1.user-1", "{not json"));
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.locator("[data-notice=storage]")).toContainText("could not be used");
    await writeDraft(page, "Fresh start", "works");
    const aside = await page.evaluate(() => localStorage.getItem("vigil.preserved.v1.user-1.set-aside"));
    expect(aside).toBe("{not json");
  });

  test("wrong credentials on the sign-in page are explained", async ({ page }) => {
    await page.goto("/login");
    await expect(page.locator("#timeout-disclosure")).toContainText("2 minutes");
    await expect(page.locator("#timeout-disclosure")).toContainText("24 hours");
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.locator("#login-error")).toContainText("do not match");
    await expect(page).toHaveURL(/\/login$/);
  });
});
