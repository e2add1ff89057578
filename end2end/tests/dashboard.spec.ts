import { expect, test } from "./support/guard";
import { readFile } from "node:fs/promises";

import { makePdf, makeScan, pageMarker } from "./support/pdf";
import { act, check, find } from "./support/dashboard";
import { startRecording } from "./support/recorder";

const PAGES = 40;

test("uploads, processing and downloads all show live on one dashboard", async ({ page }) => {
  const request = page.request;
  const eventStreams: string[] = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/api/events") eventStreams.push(r.url());
  });

  await act.register(page);
  await startRecording(page);

  const pdf = makePdf(PAGES);
  const notes = "Plain text, stored as is.\nSecond line.\n";
  await find.fileInput(page).setInputFiles([
    { name: "report.pdf", mimeType: "application/pdf", buffer: pdf },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(notes) },
    { name: "broken.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.7\nthis is not really a PDF\n") },
  ]);

  // The PDF: extracted page by page, then done at 100 %.
  const report = find.card(page, "report.pdf");
  await expect(report).toHaveAttribute("data-status", "done");
  await expect(report.locator("progress")).toHaveAttribute("value", "100");
  await expect(report.locator(".stage")).toHaveText(`Done: ${PAGES} pages`);
  const labels = await check.pageLabels(page, "report.pdf");
  const expected = Array.from({ length: PAGES }, (_, i) => `page ${i + 1} / ${PAGES}`);
  expect(labels).toEqual(expected);

  // Its download is the very bytes we sent.
  const [download] = await Promise.all([page.waitForEvent("download"), report.locator("a.download").click()]);
  expect(download.suggestedFilename()).toBe("report.pdf");
  expect(Buffer.compare(await readFile(await download.path()), pdf)).toBe(0);

  // The text file is stored as is.
  const text = find.card(page, "notes.txt");
  await expect(text).toHaveAttribute("data-status", "done");
  await expect(text.locator("progress")).toHaveAttribute("value", "100");

  // The corrupt PDF fails on its own, with a message a person can read.
  const broken = find.card(page, "broken.pdf");
  await expect(broken).toHaveAttribute("data-status", "failed");
  await expect(broken.locator(".error-message")).toHaveText(/damaged/);

  // One EventSource carried everything.
  expect(eventStreams).toHaveLength(1);

  // The API agrees with the page, and the extracted text is there.
  const uploads = await (await request.get("/api/uploads")).json();
  const reportJson = uploads.find((u: { filename: string }) => u.filename === "report.pdf");
  expect(reportJson).toMatchObject({ status: "done", percent: 100, pages: PAGES, has_text: true });
  const extracted = await (await request.get(`/api/uploads/${reportJson.id}/text`)).text();
  expect(extracted.split("\f")).toHaveLength(PAGES);
  expect(extracted).toContain(pageMarker(PAGES));
});

test("a scan is read by OCR page by page, and its card says which page", async ({ page }) => {
  await act.register(page);
  await startRecording(page);
  const lines = (n: number) => [`Scanned letter, page ${n}`, "Every page was read from its picture."];
  const scan = makeScan([lines(1), lines(2), lines(3)]);
  await find.fileInput(page).setInputFiles([{ name: "scan.pdf", mimeType: "application/pdf", buffer: scan }]);

  const card = find.card(page, "scan.pdf");
  await expect(card).toHaveAttribute("data-status", "done");
  await expect(card.locator(".stage")).toHaveText("Done: 3 pages");
  const reading = (await check.stages(page, "scan.pdf")).filter((s) => s.endsWith("(OCR)"));
  expect(reading).toEqual([1, 2, 3].map((n) => `Reading page ${n} of 3 (OCR)`));

  const [upload] = await (await page.request.get("/api/uploads")).json();
  const text = await (await page.request.get(`/api/uploads/${upload.id}/text`)).text();
  expect(text.split("\f")).toHaveLength(3);
  expect(text).toContain("Scanned letter, page 3");
});

test("a reload shows the true state, rendered by the server", async ({ page }) => {
  // The page's own request context shares its cookies: the API calls are this account's.
  const request = page.request;
  await act.register(page);
  const response = await request.post("/api/uploads", {
    multipart: { file: { name: "server-side.txt", mimeType: "text/plain", buffer: Buffer.from("hello\n") } },
  });
  expect(response.status()).toBe(202);
  const created = await response.json();
  await expect
    .poll(async () => (await (await request.get(`/api/uploads/${created.id}`)).json()).status)
    .toBe("done");

  // Before any script runs, the HTML already has the card in its final state.
  const html = await (await request.get("/")).text();
  expect(html).toContain('data-filename="server-side.txt"');

  await act.open(page);
  const card = find.card(page, "server-side.txt");
  await expect(card).toHaveAttribute("data-status", "done");
  await expect(card.locator("progress")).toHaveAttribute("value", "100");
});

test("an image shows its size and its thumbnail on the card", async ({ page }) => {
  await act.register(page);
  // A 32 × 16 red PNG.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAQCAIAAAD4YuoOAAAAIElEQVR4nGM8ISfHQEvARFPTRy0YtWDUglELRi2gEgAAjkwBJDqJsTEAAAAASUVORK5CYII=",
    "base64",
  );
  await find.fileInput(page).setInputFiles([{ name: "red.png", mimeType: "image/png", buffer: png }]);
  const card = find.card(page, "red.png");
  await expect(card).toHaveAttribute("data-status", "done");
  await expect(card.locator(".stage")).toHaveText("Done: 32 × 16");
  const thumb = card.locator("img.thumb");
  await expect(thumb).toHaveAttribute("src", /\/api\/uploads\/[0-9a-f-]+\/thumbnail$/);
  // It really loaded: the browser decoded the server's PNG.
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
});
