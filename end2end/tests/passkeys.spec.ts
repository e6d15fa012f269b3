import { expect, type Page } from "@playwright/test";
import { serverPort } from "../ports";
import {
  account,
  ADA,
  advance,
  expectNoViolations,
  holdSaves,
  modal,
  POLICY,
  signIn,
  stepUp,
  test,
  virtualAuthenticator,
  waitForSaved,
  writeDraft,
} from "./helpers";

/**
 * Passkeys (SPEC §9.2) in Chromium with the DevTools Protocol's virtual authenticator: a
 * platform authenticator that keeps resident keys and verifies its user at once. WebAuthn
 * needs a host name, so these tests open the site as localhost (the server's
 * VIGIL_PUBLIC_URL, start-server.sh).
 */
test.use({ baseURL: `http://localhost:${serverPort}` });

const passkeyList = (page: Page) => page.locator("#passkey-list");

/** On the account page: adds a passkey called `name`, and waits until it is listed. */
async function addPasskey(page: Page, name: string) {
  await page.goto("/account");
  await expect(page.getByText("You have no passkeys yet.")).toBeVisible({ timeout: 20_000 });
  await page.getByLabel("Name of the new passkey").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.locator("#account-status")).toContainText(`The passkey “${name}” was added`);
  await expect(passkeyList(page)).toContainText(name);
}


test.describe("passkeys", () => {
  test("a passkey added on the account page signs in without a password", async ({ page }) => {
    await virtualAuthenticator(page);
    await signIn(page);
    await addPasskey(page, "Laptop");
    await expect(passkeyList(page)).toContainText("Not used yet");
    await expectNoViolations(page, "account page with a passkey");

    await page.locator("#sign-out").click();
    await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeEnabled({ timeout: 20_000 });
    await expectNoViolations(page, "sign-in page");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: 15_000 });

    await page.goto("/account");
    await expect(passkeyList(page)).toContainText("Last used");
  });

  test("the username field offers the passkey among its suggestions once it is used", async ({ page }) => {
    await virtualAuthenticator(page);
    await signIn(page);
    await addPasskey(page, "Laptop");
    const asked: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/api/auth/passkey/options")) asked.push(r.url());
    });
    await page.locator("#sign-out").click();
    await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeEnabled({ timeout: 20_000 });
    // Nothing is asked of the server until the field is used: a page left open holds no
    // challenge that could expire.
    expect(asked).toEqual([]);
    // Chromium's virtual authenticator picks the suggestion as soon as it is offered.
    await page.getByLabel("Username").focus();
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: 15_000 });
    expect(asked).toHaveLength(1);
  });

  test("removing a passkey asks who you are, and a passkey can answer", async ({ page }) => {
    await virtualAuthenticator(page);
    await signIn(page);
    await addPasskey(page, "Phone");
    await advance(page, POLICY.reauthSecs + 1);
    await page.getByRole("button", { name: "Remove the passkey “Phone”" }).click();
    await expect(stepUp(page)).toBeVisible();
    await expectNoViolations(page, "confirm it is you, with a passkey");
    await stepUp(page).getByRole("button", { name: "Use a passkey" }).click();
    await expect(stepUp(page)).toBeHidden();
    await expect(page.locator("#account-status")).toContainText("The passkey was removed.");
    await expect(page.getByText("You have no passkeys yet.")).toBeVisible();
  });

  test("after a timeout with a change waiting, “Use a passkey” brings it back, saved once", async ({ page }) => {
    await virtualAuthenticator(page);
    await signIn(page);
    await addPasskey(page, "Laptop");
    await page.goto("/");
    await writeDraft(page, "Through a passkey", "Written,");
    const body = page.getByLabel("Text", { exact: true });

    // Signed out elsewhere while a change is on its way: the screen locks, the change is
    // refused and waits.
    const release = await holdSaves(page);
    await body.click();
    await body.press("End");
    await body.pressSequentially(" then kept.");
    await expect(page.locator("#save-status")).toContainText("Saving to your account");
    const out = await page.request.post("/api/auth/logout", { data: {} });
    expect(out.status()).toBe(200);
    await expect(modal(page)).toBeVisible();
    await release();
    await expect(modal(page)).toContainText("1 change is waiting");
    await expectNoViolations(page, "timeout modal with a passkey");

    // The modal names Ada and never asks who she is.
    await modal(page).getByRole("button", { name: "Use a passkey" }).click();
    await expect(modal(page)).toBeHidden();
    await expect(body).toHaveValue("Written, then kept.");
    await waitForSaved(page, (d) => d.body === "Written, then kept.");
    const saved = (await account(page)).drafts.filter((d) => d.title === "Through a passkey");
    expect(saved).toHaveLength(1);
  });

  test("a cancelled passkey prompt says so and the password still works", async ({ page }) => {
    const { cdp, authenticatorId } = await virtualAuthenticator(page);
    await signIn(page);
    await addPasskey(page, "Laptop");
    await page.goto("/");
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await page.locator("#reauth-password").fill("typed so far");

    // The user declines the prompt (the authenticator does not verify them).
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    await modal(page).getByRole("button", { name: "Use a passkey" }).click();
    await expect(modal(page).getByRole("alert")).toContainText("The passkey was not used");
    await expect(modal(page)).toBeVisible();
    await expect(page.locator("#reauth-password")).toHaveValue("typed so far");

    await page.locator("#reauth-password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(modal(page)).toBeHidden();
  });
});
