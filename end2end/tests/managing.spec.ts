// Working with a list of uploads: cancelling one while its bytes go up, filtering and
// searching, the detail page's timeline, and doing all of it from the keyboard.
import { createHash } from "node:crypto";

import { expect, test } from "./support/guard";
import { makePdf, makeSlowPdf, pageMarker } from "./support/pdf";
import { act, find } from "./support/dashboard";

test("Cancel while sending cuts the request, and Retry sends the file again", async ({ page }) => {
  await act.register(page);
  // A slow uplink (256 KiB/s), so the file is still going up when Cancel is clicked.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024,
  });
  await find.fileInput(page).setInputFiles([
    { name: "slow.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(8 << 20, 7) },
  ]);
  const card = find.card(page, "slow.bin");
  await expect(card.locator(".stage")).toHaveText(/^Sending .* of 8\.0 MiB$/);
  // Speed and time left, while it goes up.
  await expect(card.locator(".speed")).toHaveText(/\/s · .* left$/);
  await card.getByRole("button", { name: "Cancel" }).click();
  await expect(card).toHaveAttribute("data-status", "cancelled");
  await expect(card.locator(".stage")).toHaveText("Cancelled while sending");

  // The server kept nothing of it.
  await expect
    .poll(async () => (await (await page.request.get("/api/uploads")).json()).map((u: { status: string }) => u.status))
    .not.toContain("uploading");
  for (const u of await (await page.request.get("/api/uploads")).json()) {
    expect(u.sha256).toBeNull();
  }

  // Sent again at full speed: a new upload in its place, to the end.
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  await card.getByRole("button", { name: "Retry" }).click();
  await expect(find.card(page, "slow.bin")).toHaveAttribute("data-status", "done");
  await expect(find.card(page, "slow.bin")).toHaveCount(1);
  const uploads = await (await page.request.get("/api/uploads")).json();
  expect(uploads.map((u: { status: string }) => u.status)).toEqual(["done"]);
});

test("filter by status and search by name, with counts that follow", async ({ page }) => {
  await act.register(page);
  await find.fileInput(page).setInputFiles([
    { name: "alpha-report.txt", mimeType: "text/plain", buffer: Buffer.from("a\n") },
    { name: "beta-report.txt", mimeType: "text/plain", buffer: Buffer.from("b\n") },
    { name: "gamma-notes.txt", mimeType: "text/plain", buffer: Buffer.from("c\n") },
    { name: "broken.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.7\nnot really\n") },
  ]);
  const filter = (name: string) => page.locator(".filters").getByRole("button", { name: new RegExp(`^${name} `) });
  await expect(filter("Done").locator(".count")).toHaveText("3");
  await expect(filter("Failed").locator(".count")).toHaveText("1");
  await expect(filter("All").locator(".count")).toHaveText("4");
  await expect(page.locator(".overall-text")).toHaveText("Nothing in flight");

  await filter("Failed").click();
  await expect(filter("Failed")).toHaveAttribute("aria-pressed", "true");
  await expect(page.locator("li.upload")).toHaveCount(1);
  await expect(find.card(page, "broken.pdf")).toBeVisible();

  await filter("All").click();
  await page.getByRole("searchbox", { name: "Search uploads by name" }).fill("REPORT");
  await expect(page.locator("li.upload")).toHaveCount(2);
  const names = await page.locator("li.upload").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.filename));
  expect(names).toEqual(["beta-report.txt", "alpha-report.txt"]); // newest first

  await filter("Done").click();
  await page.getByRole("searchbox", { name: "Search uploads by name" }).fill("nothing like this");
  await expect(page.locator("li.upload")).toHaveCount(0);
  await expect(page.getByText("No uploads match.")).toBeVisible();
});

test("the detail page shows the checksum, the timeline from the event log, and the text", async ({ page }) => {
  await act.register(page);
  const pdf = makePdf(5);
  await find.fileInput(page).setInputFiles([{ name: "five.pdf", mimeType: "application/pdf", buffer: pdf }]);
  const card = find.card(page, "five.pdf");
  await expect(card).toHaveAttribute("data-status", "done");
  await card.getByRole("link", { name: "five.pdf" }).click();
  await expect(page).toHaveURL(/\/uploads\/[0-9a-f-]+$/);

  const detail = page.locator("article.detail");
  await expect(detail.locator("h2")).toHaveText("five.pdf");
  await expect(detail.locator('[data-fact="SHA-256"]')).toHaveText(createHash("sha256").update(pdf).digest("hex"));
  await expect(detail.locator('[data-fact="Pages"]')).toHaveText("5");
  const steps = detail.locator(".timeline .event .what");
  await expect(steps.first()).toHaveText("Receiving");
  const labels = await steps.allTextContents();
  expect(labels).toEqual(expect.arrayContaining(["Queued", "Validating", "Extracting text", "Done"]));
  expect(labels[labels.length - 1]).toBe("Done");
  const extracting = detail.locator(".timeline .event", { has: page.locator(".what", { hasText: "Extracting text" }) });
  await expect(extracting.locator(".detail-text")).toHaveText("pages 1–5 of 5");
  await expect(detail.locator("pre.preview")).toContainText(pageMarker(5));
  await page.getByRole("link", { name: "← All uploads" }).click();
  await expect(find.card(page, "five.pdf")).toBeVisible();
});

/** Presses Tab until `target` has the focus (at most `limit` times). */
async function tabTo(page: import("@playwright/test").Page, target: import("@playwright/test").Locator, limit = 60) {
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

test("the main actions work from the keyboard alone, with the focus always visible", async ({ page }) => {
  test.setTimeout(120_000);
  await act.register(page);
  // Choose files: the picker opens with Enter.
  await tabTo(page, find.fileInput(page));
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
  await chooser.setFiles([{ name: "keys.pdf", mimeType: "application/pdf", buffer: makeSlowPdf(3000) }]);
  const card = find.card(page, "keys.pdf");
  await expect(card.locator(".page")).toHaveText(/^page \d+ \/ 3000$/);
  // Processing shows its speed in pages per second.
  await expect(card.locator(".speed")).toHaveText(/pages\/s · .* left$/);

  const focusRing = async () =>
    page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
  const cancel = card.getByRole("button", { name: "Cancel" });
  await tabTo(page, cancel);
  expect(await focusRing()).not.toBe("none");
  await page.keyboard.press("Enter");
  await expect(card).toHaveAttribute("data-status", "cancelled");

  const retry = card.getByRole("button", { name: "Retry" });
  await page.keyboard.press("Shift+Tab");
  await tabTo(page, retry);
  await page.keyboard.press("Space");
  await expect(card).not.toHaveAttribute("data-status", "cancelled");
  await tabTo(page, cancel);
  await page.keyboard.press("Enter");
  await expect(card).toHaveAttribute("data-status", "cancelled");

  const failedFilter = page.locator(".filters").getByRole("button", { name: /^Cancelled / });
  await page.keyboard.press("Shift+Tab");
  await tabTo(page, failedFilter);
  expect(await focusRing()).not.toBe("none");
  await page.keyboard.press("Enter");
  await expect(failedFilter).toHaveAttribute("aria-pressed", "true");

  const del = card.getByRole("button", { name: "Delete" });
  await tabTo(page, del);
  await page.keyboard.press("Enter");
  await expect(card).toHaveCount(0);
});
