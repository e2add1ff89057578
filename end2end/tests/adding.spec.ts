// Adding files every way a person does: dropping them anywhere on the page, pasting
// them, and picking them; and being told, per file, why one was refused before any byte
// of it was sent.
import { expect, test } from "./support/guard";
import { OwnServer } from "./support/server";
import { act, find } from "./support/dashboard";

test("files dropped anywhere on the dashboard are uploaded", async ({ page }) => {
  await act.register(page);
  const transfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    for (const n of [1, 2, 3]) dt.items.add(new File([`dropped ${n}\n`], `dropped-${n}.txt`, { type: "text/plain" }));
    return dt;
  });
  // Held over the page, the overlay says where they will go; dropped, they go up.
  await page.dispatchEvent("header", "dragenter", { dataTransfer: transfer });
  await expect(page.locator(".drop-overlay")).toHaveClass(/active/);
  await page.dispatchEvent(".totals", "drop", { dataTransfer: transfer });
  await expect(page.locator(".drop-overlay")).not.toHaveClass(/active/);
  for (const n of [1, 2, 3]) {
    await expect(find.card(page, `dropped-${n}.txt`)).toHaveAttribute("data-status", "done");
  }
  const names = (await (await page.request.get("/api/uploads")).json()).map((u: { filename: string }) => u.filename);
  expect(names.sort()).toEqual(["dropped-1.txt", "dropped-2.txt", "dropped-3.txt"]);
});

test("a file pasted into the dashboard is uploaded", async ({ page }) => {
  await act.register(page);
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["from the clipboard\n"], "pasted.txt", { type: "text/plain" }));
    document.body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  await expect(find.card(page, "pasted.txt")).toHaveAttribute("data-status", "done");
});

test("the limits are shown, and a file that breaks them is refused with its reason, unsent", async ({ page }) => {
  const server = new OwnServer({ UPLINK_MAX_UPLOAD_BYTES: "2048", UPLINK_ALLOWED_TYPES: ".pdf,.txt" });
  await server.start();
  try {
    const sent: string[] = [];
    page.on("request", (r) => {
      // Each file the dashboard sends starts with a tus creation.
      if (r.method() === "POST" && new URL(r.url()).pathname === "/api/tus") sent.push(r.url());
    });
    await act.register(page, undefined, server.url);
    await expect(page.locator(".picker .limits")).toHaveText("Up to 2.0 KiB per file. Accepted: .pdf, .txt.");
    await expect(find.fileInput(page)).toHaveAttribute("accept", ".pdf,.txt");

    await find.fileInput(page).setInputFiles([
      { name: "big.txt", mimeType: "text/plain", buffer: Buffer.alloc(4096, "x") },
      { name: "tool.exe", mimeType: "application/octet-stream", buffer: Buffer.from("MZ") },
      { name: "fine.txt", mimeType: "text/plain", buffer: Buffer.from("small enough\n") },
    ]);
    const refused = page.locator(".rejections");
    await expect(refused.locator("li")).toHaveText([
      "big.txt is 4.0 KiB; files may be at most 2.0 KiB",
      "tool.exe is not an accepted type (accepted: .pdf, .txt)",
    ]);
    await expect(find.card(page, "fine.txt")).toHaveAttribute("data-status", "done");
    await expect(find.card(page, "big.txt")).toHaveCount(0);
    expect(sent).toHaveLength(1);
    await refused.getByRole("button", { name: "Dismiss" }).click();
    await expect(refused).toHaveCount(0);
  } finally {
    // Leave the page first: a server killed under an open event stream makes Chromium
    // log the cut stream (ERR_INCOMPLETE_CHUNKED_ENCODING), which the console guard fails.
    await page.goto("about:blank");
    await server.stop();
  }
});
