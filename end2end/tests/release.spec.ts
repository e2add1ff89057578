// The build a deployment serves (`make release`, offline): its binary and its optimised
// bundle make a dashboard that hydrates, streams and finishes an upload.
import { expect, test } from "./support/guard";
import { act, find } from "./support/dashboard";
import { makePdf } from "./support/pdf";
import { OwnServer } from "./support/server";

test("the release build's dashboard hydrates and shows an upload to the end", async ({ page }) => {
  const server = new OwnServer({}, "release");
  await server.start();
  try {
    await act.register(page, undefined, server.url);
    const bundle = await page.evaluate(() =>
      performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname),
    );
    expect(bundle).toContain("/pkg/uplink.wasm");
    await find.fileInput(page).setInputFiles([
      { name: "release.pdf", mimeType: "application/pdf", buffer: makePdf(3) },
    ]);
    const card = find.card(page, "release.pdf");
    await expect(card).toHaveAttribute("data-status", "done");
    await expect(card.locator(".stage")).toHaveText("Done: 3 pages");
  } finally {
    await server.stop();
  }
});
