import { expect, test } from "@playwright/test";

import { makePdf } from "./support/pdf";
import { act, find } from "./support/dashboard";

test("a card's Cancel stops its job and Delete removes it", async ({ page }) => {
  await act.register(page);
  await find.fileInput(page).setInputFiles([
    { name: "long.pdf", mimeType: "application/pdf", buffer: makePdf(3000) },
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
