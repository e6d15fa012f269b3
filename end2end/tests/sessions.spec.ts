import { expect, type Browser, type Page } from "@playwright/test";
import {
  account,
  ADA,
  advance,
  holdSaves,
  hydrated,
  LIN,
  modal,
  POLICY,
  ROOT,
  signIn,
  stepUp,
  test,
  toast,
  waitForSaved,
  writeDraft,
} from "./helpers";

/** A second device: its own browser context, signed in as `user`. */
async function secondDevice(browser: Browser, user = ADA): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

const rows = (page: Page) => page.locator("#session-list > li");

async function openSessions(page: Page) {
  await page.getByRole("link", { name: "Sessions" }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByRole("heading", { name: "Where you are signed in" })).toBeVisible();
}

/** Makes the device ask the server something: a new draft, saved as soon as typed. */
async function typeSomething(page: Page, title: string) {
  await page.getByRole("link", { name: "Drafts" }).click();
  await page.locator("#new-draft").click();
  await page.getByLabel("Title").fill(title);
}

test.describe("sessions people can see and end", () => {
  test("the sessions page lists both devices; ending the other locks it at once, its change waiting", async ({
    browser,
    page,
  }) => {
    await signIn(page);
    const phone = await secondDevice(browser);
    // The phone has a change on its way when its session is ended.
    const release = await holdSaves(phone);
    await typeSomething(phone, "Typed on the phone");
    await expect(phone.locator("#save-status")).toContainText("Saving to your account");
    await openSessions(page);
    await expect(rows(page)).toHaveCount(2);
    await expect(page.locator("#session-list > li.current")).toContainText("This device");
    await expect(page.locator("#session-list > li.current")).toContainText("Chrome");
    await expect(page.locator("#session-list > li.current")).toContainText("127.0.0.x");

    await page.locator("#session-list > li:not(.current)").getByRole("button", { name: /^Sign out/ }).click();
    await expect(page.locator("#account-status")).toHaveText("The session was signed out.");
    await expect(rows(page)).toHaveCount(1);

    // The phone's screen locks by itself, saying why; what it typed waits for the next
    // sign-in.
    await expect(modal(phone)).toBeVisible();
    await expect(modal(phone)).toContainText("You were signed out from another device.");
    await release();
    await expect(phone.locator("#preserved-summary")).toContainText("waiting");
    await phone.locator("#reauth-password").fill(ADA.password);
    await phone.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(phone)).toBeHidden();
    await waitForSaved(phone, (d) => d.title === "Typed on the phone");
    await phone.context().close();
  });

  test("signing out everywhere else asks for the password when the sign-in is not recent, then goes ahead", async ({
    browser,
    page,
  }) => {
    await signIn(page);
    const phone = await secondDevice(browser);
    const tablet = await secondDevice(browser);
    await openSessions(page);
    await expect(rows(page)).toHaveCount(3);
    await advance(page, POLICY.reauthSecs + 5);

    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await expect(stepUp(page)).toBeVisible();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("step-up-password");
    // Cancelling changes nothing.
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect(stepUp(page)).toBeHidden();
    await expect(page.locator("#account-error")).toContainText("Nothing was changed");
    await expect(rows(page)).toHaveCount(3);

    await page.getByRole("button", { name: "Sign out everywhere else" }).click();
    await expect(stepUp(page)).toBeVisible();
    await page.locator("#step-up-password").fill("not the password");
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(stepUp(page)).toContainText("do not match");
    await page.locator("#step-up-password").fill(ADA.password);
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(stepUp(page)).toBeHidden();
    await expect(page.locator("#account-status")).toHaveText("Signed out 2 other sessions.");
    await expect(rows(page)).toHaveCount(1);
    await expect(page.locator("#session-list > li.current")).toBeVisible();

    // Nothing touched there: each screen locks by itself.
    for (const device of [phone, tablet]) {
      await expect(modal(device)).toContainText("You were signed out from another device.");
      await device.context().close();
    }
    // This device carries on.
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
    await expect(modal(page)).toBeHidden();
  });

  test("changing the password needs the current one and signs out the other devices", async ({ browser, page }) => {
    const changed = "a brand new lantern";
    await signIn(page, LIN);
    const phone = await secondDevice(browser, LIN);
    await page.getByRole("link", { name: "Account" }).click();
    await expect(page.getByRole("heading", { name: "Change your password" })).toBeVisible();

    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password").fill(changed);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#current-password-error")).toHaveText("The current password is not correct.");
    await page.getByLabel("Current password").fill(LIN.password);
    await page.getByLabel("New password").fill("short");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#new-password-error")).toContainText("at least 8 characters");

    await page.getByLabel("New password").fill(changed);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#account-status")).toHaveText(
      "Your password was changed. Your 1 other session was signed out.",
    );
    await expect(page.getByLabel("New password")).toHaveValue("");
    await expect(modal(phone)).toContainText("Your password was changed.");
    await phone.context().close();

    // And back, so the suite can run again on the same server.
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByLabel("Current password").fill(changed);
    await page.getByLabel("New password").fill(LIN.password);
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#account-status")).toHaveText("Your password was changed.");
  });

  test("deleting all drafts is asked twice and keeps submitted ones", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Scratch", "to be deleted");
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("button", { name: "Delete all drafts…" }).click();
    await expect(page.locator("#delete-question")).toHaveText("Delete your 1 draft that is not submitted?");
    await page.getByRole("button", { name: "Keep them" }).click();
    await page.getByRole("button", { name: "Delete all drafts…" }).click();
    // The sign-in is no longer recent: the password is asked first.
    await advance(page, POLICY.reauthSecs + 5);
    await page.getByRole("button", { name: "Delete them" }).click();
    await expect(stepUp(page)).toBeVisible();
    await page.locator("#step-up-password").fill(ADA.password);
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.locator("#account-status")).toHaveText("Deleted 1 draft.");
    await expect.poll(async () => (await account(page)).drafts.length).toBe(0);
    await page.getByRole("link", { name: "Drafts" }).click();
    await expect(page.getByText("Scratch")).toHaveCount(0);
  });

  test("remember me survives a browser restart; a plain sign-in does not", async ({ browser }) => {
    for (const remember of [true, false]) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto("/login");
      await expect(page.locator("#remember-disclosure")).toContainText("30 days");
      await hydrated(page);
      await page.getByLabel("Username").fill(ADA.username);
      await page.getByLabel("Password").fill(ADA.password);
      if (remember) await page.getByLabel("Remember me on this device").check();
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
      const state = await context.storageState();
      await context.close();

      // A browser restart keeps persistent cookies only; session cookies (no expiry) go.
      const restarted = await browser.newContext({
        storageState: { ...state, cookies: state.cookies.filter((c) => c.expires !== -1) },
      });
      const again = await restarted.newPage();
      await again.goto("/");
      if (remember) {
        await expect(again.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
      } else {
        await expect(again).toHaveURL(/\/login$/);
        await expect(again.getByRole("heading", { name: "Sign in", exact: true })).toBeVisible();
      }
      await restarted.close();
    }
  });

  test("an administrator gets the shorter idle timeout", async ({ page }) => {
    await signIn(page, ROOT);
    await expect(page.locator(".session-rule")).toHaveText("Signs out after 1 minute 30 seconds without activity");
    await advance(page, POLICY.adminIdleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    await advance(page, POLICY.warningSecs);
    await expect(modal(page)).toBeVisible();
    await expect(modal(page)).toContainText("after 1 minute 30 seconds without activity");
  });
});
