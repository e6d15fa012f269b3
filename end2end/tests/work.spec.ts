import { expect, type Browser, type Page, type Route } from "@playwright/test";
import {
  expectNoViolations,
  account,
  ADA,
  advance,
  holdSaves,
  HYDRATION_TIMEOUT,
  localEntries,
  localStorageText,
  modal,
  POLICY,
  signIn,
  test,
  waitForSaved,
  writeDraft,
} from "./helpers";

const status = (page: Page) => page.locator("#save-status");
const body = (page: Page) => page.getByLabel("Text", { exact: true });

/** Another device: a browser context of its own, signed in as Ada. */
async function anotherDevice(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  return { context, page };
}

async function signInAgain(page: Page) {
  await page.locator("#reauth-password").fill(ADA.password);
  await page.getByRole("button", { name: "Sign in again" }).click();
  await expect(modal(page)).toBeHidden();
}


test.describe("the work lives in the account", () => {
  test("typing while the session is ended behind the page's back loses nothing", async ({ page, browser }) => {
    await signIn(page);
    await writeDraft(page, "Letter", "Dear Ada,");
    await body(page).click();
    await body(page).press("End");
    await body(page).pressSequentially(" the numbers");
    await waitForSaved(page, (d) => d.body === "Dear Ada, the numbers");

    // Signed out elsewhere (the same cookie, ended through the API) as her change is on its
    // way: the screen locks at once, and the change waits.
    const release = await holdSaves(page);
    await body(page).pressSequentially(" are in.");
    await expect(status(page)).toContainText("Saving to your account");
    const out = await page.request.post("/api/auth/logout", { data: {} });
    expect(out.status()).toBe(200);
    await expect(modal(page)).toBeVisible();
    await release();
    await expect(modal(page)).toContainText("1 change is waiting");
    await expect(status(page)).toContainText("Saved in this browser");
    await expect(status(page)).toContainText("will be saved to your account when you sign in again");
    await expectNoViolations(page, "timeout modal with a change waiting");

    await signInAgain(page);
    await expect(status(page)).toContainText("Saved to your account");
    await expect(body(page)).toHaveValue("Dear Ada, the numbers are in.");

    // Every character reached the account: another device sees it.
    const other = await anotherDevice(browser);
    await expect(other.page.getByLabel("Title")).toHaveValue("Letter");
    await expect(body(other.page)).toHaveValue("Dear Ada, the numbers are in.");
    await other.context.close();
  });

  test("a submit pressed as the session ends happens once, after signing in again", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Report", "Final figures.");
    const before = (await account(page)).drafts[0].version;
    const answers: string[] = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/submit")) answers.push(`${r.status()}${r.headers()["idempotent-replayed"] ? " replayed" : ""}`);
    });
    // The submit is on its way as the server's clock passes the deadline.
    let held: Route | undefined;
    await page.route("**/submit", (route) => {
      held = route;
    });
    await page.locator("#submit-draft").click();
    await expect.poll(() => held !== undefined).toBe(true);
    const moved = await page.request.post("/__test__/clock/advance", { data: { seconds: POLICY.idleSecs + 1 } });
    expect(moved.ok()).toBeTruthy();
    await held?.continue();
    await page.unroute("**/submit");
    await expect(modal(page)).toBeVisible();
    await expect(page.locator("#submitted-note")).toContainText("Submitting");
    await signInAgain(page);
    await expect(page.locator("#submitted-note")).toContainText("Submitted");
    await expect(status(page)).toContainText("Saved to your account");
    expect(answers).toEqual(["401", "200"]);
    const [draft] = (await account(page)).drafts;
    expect(draft.submitted_at).toBeTruthy();
    expect(draft.version).toBe(before + 1);
    // Read-only now.
    await expect(page.getByLabel("Title")).toHaveAttribute("readonly", "");
    await expect(page.locator("#submit-draft")).toBeDisabled();
  });

  test("typing offline is saved when the network returns", async ({ page, context }) => {
    await signIn(page);
    await writeDraft(page, "Train", "Written before the tunnel.");
    await context.setOffline(true);
    await body(page).click();
    await body(page).press("End");
    await body(page).pressSequentially(" And in it.");
    await expect(status(page)).toContainText("Offline — saved in this browser");
    await context.setOffline(false);
    await expect(status(page)).toContainText("Saved to your account");
    await waitForSaved(page, (d) => d.body === "Written before the tunnel. And in it.");
  });

  test("another device signing in sees the same drafts and settings", async ({ page, browser }) => {
    await signIn(page);
    await writeDraft(page, "Shared", "on every device");
    await page.getByLabel("Dark").check();
    await expect.poll(async () => (await account(page)).settings?.theme).toBe("dark");
    const other = await anotherDevice(browser);
    await expect(other.page.getByRole("button", { name: "Shared" })).toBeVisible();
    await expect(body(other.page)).toHaveValue("on every device");
    await expect(other.page.getByLabel("Dark")).toBeChecked();
    await other.context.close();
  });

  test("a conflict between two devices keeps both versions until the user chooses", async ({ page, browser }) => {
    await signIn(page);
    await writeDraft(page, "Plan", "Version one.");
    const other = await anotherDevice(browser);
    await expect(body(other.page)).toHaveValue("Version one.");

    await body(page).fill("Changed on the laptop.");
    await waitForSaved(page, (d) => d.body === "Changed on the laptop.");
    await body(other.page).fill("Changed on the phone.");
    const conflict = other.page.locator("#conflict");
    await expect(conflict).toBeVisible();
    await expect(other.page.locator("#version-mine")).toContainText("Changed on the phone.");
    await expect(other.page.locator("#version-theirs")).toContainText("Changed on the laptop.");
    await expect(status(other.page)).toContainText("choose which version to keep");
    await expectNoViolations(other.page, "conflict between two versions");
    // Nothing was overwritten meanwhile.
    expect((await account(page)).drafts.map((d) => d.body)).toEqual(["Changed on the laptop."]);

    // By keyboard: keep both.
    await other.page.locator("#keep-both").focus();
    await other.page.keyboard.press("Enter");
    await expect(conflict).toBeHidden();
    await waitForSaved(page, (d) => d.body === "Changed on the phone.");
    const bodies = (await account(page)).drafts.map((d) => d.body).sort();
    expect(bodies).toEqual(["Changed on the laptop.", "Changed on the phone."]);
    await other.context.close();
  });

  test("this browser keeps no readable copy of the work", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Diary", "A very private sentence.");
    const release = await holdSaves(page);
    const before = await localStorageText(page);
    await body(page).fill("A very private sentence, and another.");
    await expect(status(page)).toContainText("Saving");
    await expect.poll(() => localEntries(page)).not.toEqual([]);
    // Wait until the new text has been written here (as ciphertext).
    await expect.poll(() => localStorageText(page)).not.toBe(before);
    const stored = await localStorageText(page);
    for (const secret of ["Diary", "very private", "and another"]) expect(stored).not.toContain(secret);
    await release();
    await expect(status(page)).toContainText("Saved to your account");
  });

  test("a reload onto an ended session shows the work only after the same user signs in", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Hidden", "Not before signing in.");
    const release = await holdSaves(page);
    await body(page).fill("Not before signing in. Unsaved.");
    await expect.poll(() => localEntries(page)).not.toEqual([]);
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await release();
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.reload();
    // The reloaded page shows the modal once its chunk has compiled and hydrated.
    await expect(modal(page)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
    const html = await page.content();
    expect(html).not.toContain("Not before signing in");
    await signInAgain(page);
    await expect(body(page)).toHaveValue("Not before signing in. Unsaved.");
    await waitForSaved(page, (d) => d.body === "Not before signing in. Unsaved.");
  });
});
