import { expect, type Page } from "@playwright/test";
import { ADA, advance, hydrated, modal, POLICY, ROOT, signIn, test } from "./helpers";

/** A laptop and a phone: the sign-in form must fit both without scrolling. */
const SCREENS = [
  { name: "laptop", viewport: { width: 1280, height: 800 }, isMobile: false },
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true },
];

for (const screen of SCREENS) {
  test.describe(`sign-in page on a ${screen.viewport.width}×${screen.viewport.height} ${screen.name}`, () => {
    test.use({ viewport: screen.viewport, isMobile: screen.isMobile, hasTouch: screen.isMobile });

    test("the form and its button are on the first screen, the inactivity limit above them", async ({ page }) => {
      await page.goto("/login");
      await hydrated(page);
      const button = page.getByRole("button", { name: "Sign in", exact: true });
      await expect(button).toBeInViewport({ ratio: 1 });
      const box = (await button.boundingBox())!;
      console.log(`${screen.name}: the Sign in button ends at y = ${Math.round(box.y + box.height)}`);
      expect(box.y + box.height).toBeLessThanOrEqual(screen.viewport.height);
      expect(await page.evaluate(() => window.scrollY)).toBe(0);
      // WCAG 2.2.6: the inactivity limit, stated in one sentence.
      await expect(page.locator("#timeout-disclosure")).toBeInViewport();
      await expect(page.locator("#timeout-disclosure")).toHaveText(
        "For your security you are signed out after 2 minutes without activity; your work is kept.",
      );
    });

    test("the rest of the policy is one step away", async ({ page }) => {
      await page.goto("/login");
      const details = page.locator("#policy-details");
      const remember = page.locator("#remember-disclosure");
      await expect(remember).toBeHidden();
      // A native disclosure: it opens from the keyboard, before the app has loaded too.
      await details.getByText("Time limits and your drafts").focus();
      await page.keyboard.press("Enter");
      await expect(remember).toBeVisible();
      await expect(remember).toContainText("stays signed in for up to 30 days");
      await expect(details).toContainText("you are signed out after 1 hour");
      await expect(details).toContainText("kept encrypted in this browser for 7 days");
    });
  });
}

test.describe("landmarks and descriptions", () => {
  /** The one `main` of the page, and the description its head gives. */
  async function expectOneMainAndDescription(page: Page): Promise<string> {
    await expect(page.locator("main")).toHaveCount(1);
    await expect(page.getByRole("main")).toHaveCount(1);
    const meta = page.locator('meta[name="description"]');
    await expect(meta).toHaveCount(1);
    const description = (await meta.getAttribute("content")) ?? "";
    expect(description.length).toBeGreaterThan(20);
    return description;
  }

  test("every page has one main landmark and a description of its own", async ({ page }) => {
    const seen = new Map<string, string>();
    for (const path of ["/login", "/problems/session-expired", "/problems/no-such-thing", "/nowhere"]) {
      await page.goto(path);
      seen.set(path, await expectOneMainAndDescription(page));
    }

    await signIn(page);
    let previous = await expectOneMainAndDescription(page);
    seen.set("/", previous);
    // Moving between pages in the app brings the page's own description along.
    for (const [link, path] of [
      ["Sessions", "/sessions"],
      ["Account", "/account"],
    ]) {
      await page.getByRole("link", { name: link }).click();
      await expect(page).toHaveURL(new RegExp(`${path}$`));
      await expect(page.locator('meta[name="description"]')).not.toHaveAttribute("content", previous);
      previous = await expectOneMainAndDescription(page);
      seen.set(path, previous);
    }
    expect(new Set(seen.values()).size, JSON.stringify(Object.fromEntries(seen), null, 1)).toBe(seen.size);
  });
});

test.describe("small layout slips", () => {
  test("the administrators' page fits a phone, the main links wrapping rather than hiding", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, ROOT);
    await page.getByRole("link", { name: "Admin", exact: true }).click();
    await expect(page.locator('.account-row[data-user="root"]')).toBeVisible();
    await expect(page.getByRole("link", { name: "Admin", exact: true })).toBeInViewport({ ratio: 1 });
    await expect(page.getByRole("searchbox", { name: "Find accounts by username" })).toBeInViewport({ ratio: 1 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  test("the sessions page lists the sessions right below its introduction", async ({ page }) => {
    await signIn(page);
    await page.getByRole("link", { name: "Sessions" }).click();
    await expect(page.locator("#session-list > li")).toHaveCount(1);
    const gap = async () => {
      const intro = (await page.locator("#sessions-page .page-intro").boundingBox())!;
      const list = (await page.locator("#session-list").boundingBox())!;
      return list.y - (intro.y + intro.height);
    };
    await expect.poll(gap).toBeLessThanOrEqual(40);
  });

  test("signing in again names the account by its display name and username", async ({ page }) => {
    await signIn(page);
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page).locator(".reauth-user")).toHaveText(`Continue as ${ADA.name} (${ADA.username})`);
  });

  test("signing in again names the account once when its display name is the username", async ({ page }) => {
    // The suite's accounts all have a display name of their own: the server's answers are
    // rewritten as if Ada's were her username.
    await page.route(/\/api\/auth\/(login|refresh|session-info)$/, async (route) => {
      const response = await route.fetch();
      const body = await response.json().catch(() => null);
      if (!body?.user) return route.fulfill({ response });
      body.user.display_name = body.user.username;
      const headers = { ...response.headers() };
      delete headers["content-encoding"];
      delete headers["content-length"];
      await route.fulfill({ response, headers, json: body });
    });
    await page.clock.install();
    await page.goto("/login");
    await hydrated(page);
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator(".signed-in-as")).toHaveText(`Signed in as ${ADA.username}`, { timeout: 15_000 });

    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page).locator(".reauth-user")).toHaveText(`Continue as ${ADA.username}`);
    // The page may still be asking (its check after the event stream's news).
    await page.unrouteAll({ behavior: "ignoreErrors" });
  });
});
