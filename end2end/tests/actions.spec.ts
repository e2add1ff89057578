import { expect, test } from "./support/guard";

import { makeSlowPdf } from "./support/pdf";
import { act, find } from "./support/dashboard";
import { recorded, startRecording } from "./support/recorder";

test("a card's Cancel stops its job and Delete removes it", async ({ page }) => {
  await act.register(page);
  await find.fileInput(page).setInputFiles([
    { name: "long.pdf", mimeType: "application/pdf", buffer: makeSlowPdf(3000) },
    { name: "short.txt", mimeType: "text/plain", buffer: Buffer.from("short\n") },
  ]);

  // A finished upload has nothing left to cancel.
  const short = find.card(page, "short.txt");
  await expect(short).toHaveAttribute("data-status", "done");
  await expect(short.getByRole("button", { name: "Cancel" })).toHaveCount(0);

  const long = find.card(page, "long.pdf");
  await expect(long.locator(".page")).toHaveText(/^page \d+ \/ 3000$/);
  await long.getByRole("button", { name: "Cancel" }).click();
  await expect(long).toHaveAttribute("data-status", "cancelled");
  await expect(long.getByRole("button", { name: "Cancel" })).toHaveCount(0);
  const cancelled = (await (await page.request.get("/api/uploads")).json()) as { filename: string; status: string }[];
  expect(cancelled.find((u) => u.filename === "long.pdf")?.status).toBe("cancelled");

  await long.getByRole("button", { name: "Delete" }).click();
  await expect(long).toHaveCount(0);
  await short.getByRole("button", { name: "Delete" }).click();
  await expect(short).toHaveCount(0);
  expect(await (await page.request.get("/api/uploads")).json()).toEqual([]);
});

test("Retry runs a cancelled job again, from a fresh bar to done", async ({ page }) => {
  // Long enough to still be running when Cancel is clicked, so it takes a while to redo.
  test.setTimeout(180_000);
  await act.register(page);
  await find.fileInput(page).setInputFiles([
    { name: "again.pdf", mimeType: "application/pdf", buffer: makeSlowPdf(3000) },
  ]);
  const card = find.card(page, "again.pdf");
  await expect(card.locator(".page")).toHaveText(/^page \d+ \/ 3000$/);
  await card.getByRole("button", { name: "Cancel" }).click();
  await expect(card).toHaveAttribute("data-status", "cancelled");

  // The bar starts over with the new attempt: record every value it shows from here on.
  await expect(card.locator("progress")).not.toHaveAttribute("value", "40");
  await startRecording(page);
  await card.getByRole("button", { name: "Retry" }).click();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 150_000 });
  await expect(card.getByRole("button", { name: "Retry" })).toHaveCount(0);
  await expect(card.locator(".stage")).toHaveText("Done: 3000 pages");

  // Back to where processing starts (the bytes are on the server), then only forward.
  // The first value is the cancelled bar's, before the retry.
  const seen = (await recorded(page)).bars["again.pdf"].slice(1);
  expect(seen[0]).toBe(40);
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
  expect(seen[seen.length - 1]).toBe(100);
  const uploads = (await (await page.request.get("/api/uploads")).json()) as { attempt: number; status: string }[];
  expect(uploads.map((u) => [u.status, u.attempt])).toEqual([["done", 2]]);
});
