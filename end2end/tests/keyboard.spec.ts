import { expect, type Page } from "@playwright/test";
import { ADA, advance, modal, POLICY, signIn, toast, writeDraft, test } from "./helpers";

const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? "");

async function tabTo(page: Page, id: string, limit = 30) {
  for (let i = 0; i < limit; i++) {
    if ((await focusedId(page)) === id) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached #${id}`);
}

test.describe("by keyboard alone", () => {
  test("sign in, write, get warned, extend, time out, sign in again, keep typing in the same place", async ({ page }) => {
    await page.clock.install();
    await page.goto("/login");
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
    await tabTo(page, "username");
    await page.keyboard.type(ADA.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADA.password);
    await page.keyboard.press("Enter");
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();

    await tabTo(page, "new-draft");
    await page.keyboard.press("Enter");
    await expect.poll(() => focusedId(page)).toBe("draft-title");
    await page.keyboard.type("Keyboard draft");
    await page.keyboard.press("Tab");
    await page.keyboard.type("First line");

    // The warning appears without taking focus; typing on extends the session.
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    expect(await focusedId(page)).toBe("draft-body");
    const refresh = page.waitForResponse("**/api/auth/refresh");
    await page.keyboard.type(", second");
    expect((await refresh).status()).toBe(200);
    await expect(toast(page)).toBeHidden();
    expect(await focusedId(page)).toBe("draft-body");

    // The caret sits mid-text when the session ends.
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowLeft");
    const caret = await page.locator("#draft-body").evaluate((el: HTMLTextAreaElement) => el.selectionStart);
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    await expect.poll(() => focusedId(page)).toBe("reauth-password");

    // Focus stays inside the dialog, and Escape does not sign out.
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      expect(await modal(page).evaluate((m) => m.contains(document.activeElement))).toBe(true);
    }
    await page.keyboard.press("Shift+Tab");
    expect(await modal(page).evaluate((m) => m.contains(document.activeElement))).toBe(true);
    await page.keyboard.press("Escape");
    await expect(modal(page)).toBeVisible();

    await tabTo(page, "reauth-password", 6);
    await page.keyboard.type(ADA.password);
    await page.keyboard.press("Enter");
    await expect(modal(page)).toBeHidden();
    await expect.poll(() => focusedId(page)).toBe("draft-body");
    const restored = await page.locator("#draft-body").evaluate((el: HTMLTextAreaElement) => el.selectionStart);
    expect(restored).toBe(caret);
    await page.keyboard.type("!");
    await expect(page.locator("#draft-body")).toHaveValue("First line, !second");
  });

  test("the page behind the modal is inert", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Behind", "the modal");
    await advance(page, POLICY.idleSecs + 1);
    await expect(modal(page)).toBeVisible();
    expect(await page.locator(".app-shell").getAttribute("inert")).not.toBeNull();
    await page.locator("#draft-body").click({ force: true }).catch(() => undefined);
    expect(await page.evaluate(() => document.activeElement?.id)).not.toBe("draft-body");
  });

  test("screen readers hear the countdown once a minute, then at 60, 30 and 10 seconds", async ({ page }) => {
    await signIn(page);
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    const announcer = page.locator("#warning-announcement");
    const heard = new Set<string>();
    for (let left = POLICY.warningSecs - 1; left > 2; left -= 1) {
      heard.add((await announcer.textContent()) ?? "");
      await advance(page, 1);
    }
    const texts = [...heard].filter(Boolean);
    expect(texts.length).toBeLessThanOrEqual(3);
    expect(texts.some((t) => t.includes("1 minute"))).toBe(true);
    expect(texts.some((t) => t.includes("30 seconds"))).toBe(true);
    expect(texts.some((t) => t.includes("10 seconds"))).toBe(true);
    // The ticking mm:ss itself is hidden from screen readers.
    await expect(page.locator("#countdown")).toHaveAttribute("aria-hidden", "true");
  });
});

test.describe("visual needs", () => {
  test("forced colours keep the toast, the modal and the focus ring visible", async ({ page }) => {
    await page.emulateMedia({ forcedColors: "active" });
    await signIn(page);

    // The focus ring changes what is drawn: compare screenshots before and after reaching a
    // control by keyboard.
    const panel = page.locator(".draft-list");
    const unfocused = await panel.screenshot({ animations: "disabled" });
    await tabTo(page, "new-draft");
    const ring = await page.locator("#new-draft").evaluate((el) => getComputedStyle(el).outlineStyle + " " + getComputedStyle(el).outlineWidth);
    expect(ring).toMatch(/^solid [2-9]/);
    const focused = await panel.screenshot({ animations: "disabled" });
    expect(Buffer.compare(unfocused, focused)).not.toBe(0);

    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    const border = await toast(page).evaluate((el) => getComputedStyle(el).borderTopStyle + " " + getComputedStyle(el).borderTopWidth);
    expect(border).toMatch(/^solid [1-9]/);
    const buttons = await toast(page).locator("button").evaluateAll((els) => els.map((el) => getComputedStyle(el).borderTopStyle));
    expect(buttons).toEqual(["solid", "solid"]);

    await advance(page, POLICY.warningSecs);
    await expect(modal(page)).toBeVisible();
    const modalBorder = await modal(page).evaluate((el) => getComputedStyle(el).borderTopStyle);
    expect(modalBorder).toBe("solid");
    const pageBehind = await page.locator(".app-shell").evaluate((el) => getComputedStyle(el).filter);
    expect(pageBehind).toBe("none");
  });

  test("the theme setting overrides the system colour scheme", async ({ page }) => {
    const dark = "rgb(18, 21, 26)";
    const light = "rgb(246, 247, 249)";
    const background = () => page.locator(".theme-root").evaluate((el) => getComputedStyle(el).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    await signIn(page);
    expect(await background()).toBe(dark);
    await page.getByLabel("Light").check();
    expect(await background()).toBe(light);
    await page.emulateMedia({ colorScheme: "light" });
    await page.getByLabel("Match system").check();
    expect(await background()).toBe(light);
    await page.getByLabel("Dark").check();
    expect(await background()).toBe(dark);
  });

  test("reduced motion turns animation off", async ({ page }) => {
    await page.emulateMedia({ reducedMotion: "reduce" });
    await signIn(page);
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    expect(await toast(page).evaluate((el) => getComputedStyle(el).animationName)).toBe("none");
    await advance(page, POLICY.warningSecs);
    expect(await page.locator("#timeout-modal").evaluate((el) => getComputedStyle(el).animationName)).toBe("none");
  });

  test("every control is at least 24 by 24 pixels", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "Targets", "big enough");
    await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
    await expect(toast(page)).toBeVisible();
    const small = await page.evaluate(() =>
      [...document.querySelectorAll("button, input, textarea, a[href]")]
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && (box.width < 24 || box.height < 24))
        .map(({ el, box }) => `${el.id || el.textContent} ${box.width}x${box.height}`),
    );
    expect(small).toEqual([]);
  });

  for (const [width, height, label] of [
    [320, 640, "320 CSS pixels wide"],
    [640, 400, "200 % zoom of a 1280 × 800 window"],
  ] as const) {
    test(`nothing is lost at ${label}`, async ({ page }) => {
      await page.setViewportSize({ width, height });
      await signIn(page);
      await writeDraft(page, "Narrow", "still fits");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      for (const id of ["#sign-out", "#new-draft", "#draft-title", "#draft-body", "#theme-dark"]) {
        await page.locator(id).scrollIntoViewIfNeeded();
        await expect(page.locator(id)).toBeInViewport();
      }
      await advance(page, POLICY.idleSecs - POLICY.warningSecs + 1);
      await expect(page.getByRole("button", { name: "Stay signed in" })).toBeInViewport();
      await advance(page, POLICY.warningSecs);
      await expect(page.getByRole("button", { name: "Sign in again" })).toBeInViewport();
    });
  }
});
