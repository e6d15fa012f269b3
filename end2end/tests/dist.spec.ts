import { expect, test } from "@playwright/test";

import { ADA } from "./helpers";

/**
 * The packed release (`deploy/dist.sh`), unpacked elsewhere and started with only its example
 * settings and a secret (start-dist.sh): it finds its site and names its files by itself.
 * Production settings: no test hooks, so these tests use Playwright's own `test`.
 */

/** Every answer of `page` with an error status, and every request that failed outright. */
function failures(page: import("@playwright/test").Page): string[] {
  const seen: string[] = [];
  page.on("response", (r) => {
    if (r.status() >= 400) seen.push(`${r.status()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => seen.push(`failed ${r.url()} ${r.failure()?.errorText}`));
  return seen;
}

test("the sign-in page loads every file it names and hydrates", async ({ page }) => {
  const failed = failures(page);
  const assets: string[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) assets.push(`${r.status()} ${r.url()}`);
  });
  const response = await page.goto("/login");
  expect(response?.status()).toBe(200);
  // The button is enabled only once the app has hydrated.
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled({ timeout: 20_000 });
  expect(assets.some((a) => a.includes(".wasm"))).toBeTruthy();
  expect(assets.every((a) => a.startsWith("200 "))).toBeTruthy();
  expect(failed).toEqual([]);
});

test("a page that needs a session sends a visitor without one to sign in, and back", async ({ page, request }) => {
  const root = await request.get("/", { maxRedirects: 0 });
  expect(root.status()).toBe(303);
  expect(root.headers()["location"]).toBe("/login");

  const failed = failures(page);
  await page.goto("/sessions");
  await expect(page).toHaveURL(/\/login\?next=%2Fsessions$/);
  await page.getByLabel("Username").fill(ADA.username);
  await page.getByLabel("Password").fill(ADA.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click({ timeout: 20_000 });
  // Back where the visitor was going, its page's own chunk loaded.
  await expect(page).toHaveURL(/\/sessions$/, { timeout: 20_000 });
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  expect(failed).toEqual([]);
});
