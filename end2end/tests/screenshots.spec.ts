// The README's pictures, taken by the suite from a real run so they stay current:
// the dashboard with uploads in flight, and an upload's detail page.
import path from "node:path";

import { expect, test } from "./support/guard";
import { makePdf, makeSlowPdf } from "./support/pdf";
import { act, find } from "./support/dashboard";

const OUT = path.resolve(__dirname, "../../docs/screenshots");

test("README screenshots: the dashboard in flight and a detail page", async ({ page }) => {
  await page.setViewportSize({ width: 960, height: 900 });
  await act.register(page, "ada");
  // 32 × 16 red PNG.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAQCAIAAAD4YuoOAAAAIElEQVR4nGM8ISfHQEvARFPTRy0YtWDUglELRi2gEgAAjkwBJDqJsTEAAAAASUVORK5CYII=",
    "base64",
  );
  await find.fileInput(page).setInputFiles([
    { name: "quarterly-report.pdf", mimeType: "application/pdf", buffer: makePdf(12) },
    { name: "meeting-notes.txt", mimeType: "text/plain", buffer: Buffer.from("Agenda\n- uploads\n") },
    { name: "logo.png", mimeType: "image/png", buffer: png },
    { name: "scan-damaged.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.7\nnot really\n") },
  ]);
  for (const name of ["quarterly-report.pdf", "meeting-notes.txt", "logo.png"]) {
    await expect(find.card(page, name)).toHaveAttribute("data-status", "done");
  }
  await expect(find.card(page, "scan-damaged.pdf")).toHaveAttribute("data-status", "failed");
  // Then a long one, caught mid-extraction with its speed showing.
  await find.fileInput(page).setInputFiles([
    { name: "annual-archive.pdf", mimeType: "application/pdf", buffer: makeSlowPdf(3000) },
  ]);
  const long = find.card(page, "annual-archive.pdf");
  await expect(long.locator(".speed")).toHaveText(/pages\/s/);
  await page.screenshot({ path: path.join(OUT, "dashboard.png") });
  await long.getByRole("button", { name: "Cancel" }).click();
  await expect(long).toHaveAttribute("data-status", "cancelled");

  await find.card(page, "quarterly-report.pdf").getByRole("link", { name: "quarterly-report.pdf" }).click();
  await expect(page.locator("article.detail .timeline .event").last()).toContainText("Done");
  await page.screenshot({ path: path.join(OUT, "detail.png"), fullPage: true });
});
