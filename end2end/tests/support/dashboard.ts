// Finding, acting on and checking the dashboard, so specs read as what a person does.
import { expect, type Locator, type Page } from "@playwright/test";

import { recorded } from "./recorder";

export const find = {
  card: (page: Page, filename: string): Locator =>
    page.locator(`li.upload[data-filename="${filename}"]`),
  connection: (page: Page): Locator => page.locator(".connection"),
  username: (page: Page): Locator => page.locator(".account-bar .username"),
  fileInput: (page: Page): Locator => page.locator("#file-input"),
};

/** A fresh username for each account a spec makes. */
export function newUsername(prefix = "user"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
}

export const PASSWORD = "correct horse battery";

export const act = {
  /** Creates an account through the register page; lands on its live dashboard. */
  async register(page: Page, username = newUsername(), base = ""): Promise<string> {
    await page.goto(`${base}/register`);
    await act.submitCredentials(page, username, "Create account");
    await expect(find.username(page)).toHaveText(username);
    await expect(find.connection(page)).toHaveAttribute("data-state", "live");
    return username;
  },

  async logIn(page: Page, username: string): Promise<void> {
    await page.goto("/login");
    await act.submitCredentials(page, username, "Log in");
    await expect(find.username(page)).toHaveText(username);
    await expect(find.connection(page)).toHaveAttribute("data-state", "live");
  },

  async submitCredentials(page: Page, username: string, button: string): Promise<void> {
    // Filled only once hydrated, so the form is handled by the app, not the browser.
    await page.waitForFunction(() => window.__hydrated === true);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: button }).click();
  },

  /** Opens the dashboard and waits until hydration has opened the live stream. */
  async open(page: Page): Promise<void> {
    await page.goto("/");
    await expect(find.connection(page)).toHaveAttribute("data-state", "live");
  },
};

export const check = {
  /** Every `page x / y` text the card showed since recording started. */
  async pageLabels(page: Page, filename: string): Promise<string[]> {
    return (await recorded(page)).pageLabels[filename] ?? [];
  },
  /** Every text the card's stage line showed, in order. */
  async stages(page: Page, filename: string): Promise<string[]> {
    return (await recorded(page)).stages[filename] ?? [];
  },
};
