import { expect, type ConsoleMessage, type Page, type Request, type Response } from "@playwright/test";
import { ADA, advance, hydrated, HYDRATION_TIMEOUT, machineRunning, sessionInfo, signIn, test } from "./helpers";

/** Everything the browser reports as a problem while `journey` runs. */
async function problemsDuring(page: Page, journey: () => Promise<void>) {
  const problems: string[] = [];
  const onConsole = (message: ConsoleMessage) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
  };
  const onPageError = (error: Error) => problems.push(`page error: ${error.message}`);
  const onResponse = (response: Response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  };
  const onRequestFailed = (request: Request) => {
    const error = request.failure()?.errorText;
    // The browser fetches the icons on its own schedule and drops the fetch when the page
    // navigates on (a missing icon still shows as a 404 above).
    if (error === "net::ERR_ABORTED" && new URL(request.url()).pathname.startsWith("/favicon.")) return;
    // The event stream stays open as long as its page does: leaving the page ends it.
    if (error === "net::ERR_ABORTED" && new URL(request.url()).pathname === "/api/events") return;
    problems.push(`failed: ${request.url()} ${error}`);
  };
  page.on("console", onConsole);
  page.on("pageerror", onPageError);
  page.on("response", onResponse);
  page.on("requestfailed", onRequestFailed);
  try {
    await journey();
  } finally {
    page.off("console", onConsole);
    page.off("pageerror", onPageError);
    page.off("response", onResponse);
    page.off("requestfailed", onRequestFailed);
  }
  return problems;
}

test.describe("a quiet, locked-down page", () => {
  test("visiting, signing in, working and signing out leave the console clean", async ({ page }) => {
    const problems = await problemsDuring(page, async () => {
      await page.goto("/login");
      await hydrated(page);
      await page.getByLabel("Username").fill(ADA.username);
      await page.getByLabel("Password").fill(ADA.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
      await page.locator("#new-draft").click();
      await page.getByLabel("Title").fill("Quiet");
      await page.locator("#sign-out").click();
      await page.getByRole("button", { name: "Sign out and discard" }).click();
      await expect(page).toHaveURL(/\/login$/);
      await page.reload();
      await hydrated(page);
    });
    // No 401 from a session probe, no CSP violation, no missing favicon.
    expect(problems).toEqual([]);
  });

  test("every page loaded directly fetches its own code and hydrates with a clean console", async ({ page }) => {
    await signIn(page);
    // Each page but sign-in is a lazy route: in a split build (every `make` build) its code
    // is a wasm chunk of its own, fetched when the page shows and hydrated once it has
    // arrived. A plain `cargo leptos build` keeps all pages in one wasm; they must hydrate too.
    const split = await page.evaluate(() =>
      performance.getEntriesByType("resource").some((entry) => entry.name.includes("/__wasm_split.")),
    );
    for (const [path, chunk, live] of [
      ["/", /split___workspace_route_view/, page.getByText(`Signed in as ${ADA.name}`)],
      // The heading is rendered by the server: the page is live once its list has come.
      ["/sessions", /split___sessions_route_view/, page.locator("#session-list > li.current")],
      ["/account", /split___account_route_view/, page.getByRole("heading", { name: "Your account" })],
      ["/problems/session-expired", /split___problem_route_view/, page.getByRole("heading", { name: "Session expired" })],
    ] as const) {
      const problems = await problemsDuring(page, async () => {
        const fetched = split ? page.waitForResponse((response) => chunk.test(response.url())) : null;
        await page.goto(path);
        if (fetched) expect((await fetched).status(), path).toBe(200);
        await expect(live).toBeVisible({ timeout: HYDRATION_TIMEOUT });
        // A signed-in page has hydrated once its machine shows it (its text is the server's).
        if (path !== "/problems/session-expired") await machineRunning(page);
        // Whatever the page asked for has been answered before the next page is opened (a
        // request cut off by the navigation would be counted against that page).
        await page.waitForLoadState("networkidle");
      });
      expect(problems, path).toEqual([]);
    }
  });

  test("a page whose code arrives after a session check would have answered hydrates as the server rendered it", async ({
    page,
  }) => {
    await signIn(page);
    // The session is checked only once the page has hydrated: an answer that turned
    // "Checking your session…" into the page before the page's chunk arrived left the HTML
    // unlike the view, and hydration gave up (a reload onto an ended session once showed no
    // modal). Hold the workspace's chunk until the check has been answered, or for long enough
    // that an early check would have been (a plain unsplit build has no chunk to hold).
    let answered = () => {};
    const checked = new Promise<void>((resolve) => (answered = resolve));
    await page.route(/split___workspace_route_view/, async (route) => {
      await Promise.race([checked, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      await route.continue();
    });
    const problems = await problemsDuring(page, async () => {
      page.on("response", (response) => {
        if (new URL(response.url()).pathname === "/api/auth/session-info") answered();
      });
      await page.goto("/");
      await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
      // The text is the server's (the page is rendered from the live session): the page has
      // hydrated once its machine shows it.
      await machineRunning(page);
    });
    expect(problems).toEqual([]);
  });

  test("the site has a favicon", async ({ page }) => {
    for (const [path, type] of [
      ["/favicon.ico", /^image\//],
      ["/favicon.svg", /^image\/svg\+xml/],
    ] as const) {
      const response = await page.request.get(path);
      expect(response.status(), path).toBe(200);
      expect(response.headers()["content-type"]).toMatch(type);
      expect((await response.body()).length).toBeGreaterThan(100);
    }
  });

  test("pages forbid framing and inline script without the page's nonce", async ({ page }) => {
    const response = await page.goto("/login");
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
    expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
    expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
    // An injected inline script does not run.
    await hydrated(page);
    const ran = await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.appendChild(script);
      return (window as unknown as { __injected?: boolean }).__injected === true;
    });
    expect(ran).toBe(false);
  });
});

test.describe("signing out when the server cannot be reached", () => {
  test("a failed sign-out says so, keeps trying, and never shows signed out while the session lives", async ({ page }) => {
    await signIn(page);
    await page.route("**/api/auth/logout", (route) => route.abort("internetdisconnected"));
    await page.locator("#sign-out").click();
    const notice = page.locator("[data-notice=sign-out]");
    await expect(notice).toContainText("still signed in");
    await expect(page).not.toHaveURL(/\/login$/);
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
    expect((await sessionInfo(page)).status).toBe(200);

    // The server answers, but cannot end the session right now.
    await page.unroute("**/api/auth/logout");
    let attempts = 0;
    await page.route("**/api/auth/logout", (route) => {
      attempts += 1;
      return route.fulfill({
        status: 503,
        contentType: "application/problem+json",
        headers: { "retry-after": "2" },
        body: JSON.stringify({
          type: "/problems/store-unavailable",
          title: "Session service temporarily unavailable",
          status: 503,
          detail: "The session store cannot be reached right now.",
          error_code: "store_unavailable",
          retry_after: 2,
        }),
      });
    });
    await expect.poll(async () => {
      await advance(page, 2);
      return attempts;
    }).toBeGreaterThan(0);
    await expect(notice).toContainText("still signed in");
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
    expect((await sessionInfo(page)).status).toBe(200);

    // The network is back: the retry signs out for real.
    await page.unroute("**/api/auth/logout");
    await expect
      .poll(async () => {
        await advance(page, 5);
        return page.url();
      })
      .toMatch(/\/login$/);
    expect((await sessionInfo(page)).status).toBe(401);
  });
});

test.describe("the sign-in page loads what signing in needs, and no more", () => {
  /** Whether the page came from a split build (every `make` build): its code is in chunks. */
  const isSplit = (page: Page) =>
    page.evaluate(() => performance.getEntriesByType("resource").some((entry) => entry.name.includes("/__wasm_split.")));
  const fetched = (page: Page, pattern: RegExp) =>
    page.evaluate(
      (source) => performance.getEntriesByType("resource").some((entry) => new RegExp(source).test(entry.name)),
      pattern.source,
    );
  const MACHINE = /split_vigil_session_machine/;

  test("the session's code is fetched once someone uses the form, and signing in works", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await expect(page).toHaveTitle("Sign in · Vigil");
    await page.waitForLoadState("networkidle");
    const split = await isSplit(page);
    if (split) {
      // Signed out, nothing of the session machine or of the signed-in pages is downloaded.
      expect(await fetched(page, MACHINE)).toBe(false);
      expect(await fetched(page, /split___workspace_route_view/)).toBe(false);
      // Filling in the form fetches the machine while the password is typed.
      const machine = page.waitForResponse((response) => MACHINE.test(response.url()));
      await page.getByLabel("Username").focus();
      expect((await machine).status()).toBe(200);
    }
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
    expect((await sessionInfo(page)).status).toBe(200);
    // Each page says which it is, in the browser's title too (WCAG 2.4.2).
    await expect(page).toHaveTitle("Drafts · Vigil");
    await page.getByRole("link", { name: "Sessions" }).click();
    await expect(page).toHaveTitle("Where you are signed in · Vigil");
  });

  test("a sign-in page in another tab follows a sign-in there", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    const other = await page.context().newPage();
    await other.goto("/login");
    await hydrated(other);
    await other.getByLabel("Username").fill(ADA.username);
    await other.getByLabel("Password").fill(ADA.password);
    await other.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(other.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
    // The first tab never loaded the session's code; the other tab's message brings it.
    await expect(page).not.toHaveURL(/\/login$/, { timeout: HYDRATION_TIMEOUT });
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  });

  test("when the session's code cannot be fetched, signing in says so and finishes once it can", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await page.waitForLoadState("networkidle");
    // An unsplit build has no code to fetch: there, signing in simply works.
    const split = await isSplit(page);
    let refused = 0;
    if (split) {
      await page.route(MACHINE, (route) => {
        refused += 1;
        return route.abort("internetdisconnected");
      });
    }
    await page.getByLabel("Username").fill(ADA.username);
    await page.getByLabel("Password").fill(ADA.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    if (split) {
      await expect(page.getByRole("status").filter({ hasText: "cannot reach the server" })).toBeVisible();
      await expect(page.getByRole("button", { name: "Signing in…" })).toBeDisabled();
      expect(refused).toBeGreaterThan(0);
      // Nothing was sent yet: the sign-in goes once the code is here.
      expect((await sessionInfo(page)).status).toBe(401);
      await page.unroute(MACHINE);
    }
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible({ timeout: HYDRATION_TIMEOUT });
  });
});
