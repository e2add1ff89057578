// The server crashes while the dashboard is open and files are mid-processing: the page
// says it is reconnecting, then every bar finishes, and none ever moves backwards.
import { expect } from "./support/guard";

import { makeSlowPdf } from "./support/pdf";
import { test } from "./support/server";
import { act, find } from "./support/dashboard";
import { recorded, startRecording } from "./support/recorder";

const PAGES = 1200;
const FILES = ["first.pdf", "second.pdf", "third.pdf"];

// Chromium itself logs each refused reconnection attempt of the EventSource.
test.use({ allowConsole: /net::ERR_.*\/api\/events|\/api\/events.*net::ERR_/ });

test("a server crash mid-processing: reconnecting, then every bar finishes", async ({ page, server }) => {
  // Waits are on events; these only bound them, for a loaded machine (one run waited more
  // than 20 s for the first page while the Rust suite ran beside it).
  test.setTimeout(180_000);

  await act.register(page, undefined, server.url);
  const badge = find.connection(page);
  await expect(badge).toHaveAttribute("data-state", "live");

  // Every connection state and every value each bar shows, however briefly.
  await startRecording(page);

  await find.fileInput(page).setInputFiles(
    FILES.map((name) => ({ name, mimeType: "application/pdf", buffer: makeSlowPdf(PAGES) })),
  );
  // All three are uploaded (a crash now loses none of them) and one is extracting: with
  // one worker, whichever finished uploading first, which is not always the first picked.
  for (const name of FILES) {
    await expect(find.card(page, name)).not.toHaveAttribute("data-status", "uploading");
  }
  await expect(page.locator("li.upload .page").filter({ hasText: /page \d+ \/ 1200/ }).first()).toBeVisible({
    timeout: 60_000,
  });

  await server.kill();
  await expect(badge).toHaveAttribute("data-state", "reconnecting");
  await server.start();
  await expect(badge).toHaveAttribute("data-state", "live");

  for (const name of FILES) {
    const card = find.card(page, name);
    await expect(card).toHaveAttribute("data-status", "done", { timeout: 45_000 });
    await expect(card.locator("progress")).toHaveAttribute("value", "100");
    await expect(card.locator(".stage")).toHaveText(`Done: ${PAGES} pages`);
  }

  const seen = await recorded(page);
  expect(seen.connection.slice(seen.connection.indexOf("reconnecting"))).toEqual(["reconnecting", "live"]);
  for (const name of FILES) {
    const values = seen.bars[name];
    expect(values, name).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(100);
  }
});
