import { expect } from "@playwright/test";
import { account, ADA, HYDRATION_TIMEOUT, signIn, test, waitForSaved, writeDraft } from "./helpers";

// A page of a live session is rendered by the server with the session and the account
// (`vigil::boot`): it paints the user's work before any script has run, and its session
// machine, which starts on the first interaction (or a few seconds after hydration), takes
// the same record as its first answers instead of asking again.

const DRAFT = "3c9a0f4e-2b7d-4c1a-8e5f-6d2b9a7c1e40";

test.describe("a signed-in page is rendered from the session", () => {
  test("the workspace shows the account's drafts without running any script", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const login = await context.request.post("/api/auth/login", {
      data: { username: ADA.username, password: ADA.password },
    });
    expect(login.status()).toBe(200);
    const saved = await context.request.put(`/api/drafts/${DRAFT}`, {
      data: { title: "Rendered", body: "by the server" },
      headers: { "if-none-match": "*" },
    });
    expect(saved.status()).toBe(201);
    const page = await context.newPage();
    await page.goto("/");
    await expect(page.getByText(`Signed in as ${ADA.name}`)).toBeVisible();
    await expect(page.getByRole("button", { name: "Rendered" })).toBeVisible();
    await expect(page.getByText("Checking your session")).toHaveCount(0);
    await context.close();
  });

  test("the page goes live on the first interaction without asking again, and keeps what is typed", async ({
    page,
  }) => {
    await signIn(page);
    await writeDraft(page, "Reloaded", "Before.");
    const asked: string[] = [];
    page.on("request", (request) => {
      const path = new URL(request.url()).pathname;
      if (path === "/api/auth/session-info" || path === "/api/drafts") asked.push(path);
    });
    await page.reload();
    // Painted from the server's record: no script needed to show it.
    await expect(page.getByRole("button", { name: "Reloaded" })).toBeVisible();
    const text = page.getByLabel("Text", { exact: true });
    // Until the machine runs the text takes no input (this browser may hold a newer copy);
    // the first interaction after hydration starts it.
    await expect(async () => {
      await text.click();
      await expect(text).toBeEditable({ timeout: 1_000 });
    }).toPass({ timeout: HYDRATION_TIMEOUT });
    await expect(text).toHaveValue("Before.");
    await text.press("End");
    await text.pressSequentially(" After.");
    await waitForSaved(page, (d) => d.body === "Before. After.");
    // The machine took the page's record as its first answers.
    expect(asked).toEqual([]);
  });

  test("what is chosen before the machine runs is done once it does", async ({ page }) => {
    await signIn(page);
    await writeDraft(page, "First", "one");
    await writeDraft(page, "Second", "two");
    await page.getByLabel("Dark").check();
    await expect.poll(async () => (await account(page)).settings?.theme).toBe("dark");
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
    });
    await page.reload();
    // Rendered in the account's settings, and hydrated from the same record without a fault.
    await expect(page.locator("[data-theme=dark]")).toBeVisible();
    // The page opens on the oldest draft, as the machine would.
    await expect(page.getByRole("button", { name: "First" })).toBeVisible();
    // Chosen as soon as the page answers clicks: the choice waits for the machine's code.
    await expect(async () => {
      await page.getByRole("button", { name: "Second" }).click();
      await expect(page.getByLabel("Title")).toHaveValue("Second", { timeout: 1_000 });
    }).toPass({ timeout: HYDRATION_TIMEOUT });
    await expect(page.getByLabel("Text", { exact: true })).toHaveValue("two");
    await expect(page.locator("[data-theme=dark]")).toBeVisible();
    expect(problems).toEqual([]);
  });

  test("the sessions page loaded directly asks for its list at once, nothing touched", async ({ page }) => {
    await signIn(page);
    await page.goto("/sessions");
    await expect(page.getByRole("heading", { name: "Where you are signed in" })).toBeVisible();
    // The page's own request starts the machine: no interaction, no clock moved.
    await expect(page.locator("#session-list > li.current")).toContainText("This device", {
      timeout: HYDRATION_TIMEOUT,
    });
  });
});
