import { expect } from "@playwright/test";
import {
  ADA,
  advance,
  expectNoViolations,
  holdSaves,
  modal,
  POLICY,
  signIn,
  stepUp,
  test,
  toast,
  writeDraft,
} from "./helpers";


test.describe("WCAG 2.2 AA in every state (axe-core)", () => {
  test("sign-in page", async ({ page }) => {
    await page.goto("/login");
    await expect(page.locator("#timeout-disclosure")).toBeVisible();
    await expectNoViolations(page, "sign-in page");
    await page.getByText("Time limits and your drafts").click();
    await expect(page.locator("#remember-disclosure")).toBeVisible();
    await expectNoViolations(page, "sign-in page with the policy open");
  });

  test("workspace, warning toast, timeout modal and sign-out question", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Accessible draft", "Readable by everyone.");
    await expectNoViolations(page, "workspace");

    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    await expectNoViolations(page, "workspace with warning toast");

    await advance(page, POLICY.warningSecs);
    await expect(modal(page)).toBeVisible();
    await expectNoViolations(page, "timeout modal");

    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
    await holdSaves(page);
    await page.getByLabel("Text", { exact: true }).fill("One more line, not saved yet.");
    await page.locator("#sign-out").click();
    await expect(page.getByRole("alertdialog", { name: "Discard unsaved changes?" })).toBeVisible();
    await expectNoViolations(page, "sign-out confirmation");
  });

  test("dark theme workspace", async ({ page }) => {
    await signIn(page);
    await page.getByLabel("Dark").check();
    await writeDraft(page, "In the dark", "Still readable.");
    await expectNoViolations(page, "workspace, dark theme");
  });

  test("problem type page", async ({ page }) => {
    await page.goto("/problems/session-expired");
    await expect(page.getByRole("heading", { name: "Session expired" })).toBeVisible();
    await expectNoViolations(page, "problem type page");
  });

  test("sessions page, step-up modal and account page", async ({ browser, page }) => {
    await signIn(page);
    const other = await browser.newContext();
    await signIn(await other.newPage());
    await page.getByRole("link", { name: "Sessions" }).click();
    await expect(page.locator("#session-list > li")).toHaveCount(2);
    await expectNoViolations(page, "sessions page");

    await advance(page, POLICY.reauthSecs + 5);
    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await expect(stepUp(page)).toBeVisible();
    await expectNoViolations(page, "step-up modal");
    await page.getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#current-password-error")).toHaveText("Enter your current password.");
    await expectNoViolations(page, "account page with an error");
    await other.close();
  });
});
