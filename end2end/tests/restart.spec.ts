// The server crashes while the dashboard is open and files are mid-processing: the page
// says it is reconnecting, then every bar finishes, and none ever moves backwards.
import { expect } from "./support/guard";

import { makePdf } from "./support/pdf";
import { test } from "./support/server";
import { act, find } from "./support/dashboard";

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
  await page.evaluate(() => {
    const w = window as unknown as { states: string[]; values: Record<string, number[]> };
    w.states = [];
    w.values = {};
    new MutationObserver(() => {
      const state = document.querySelector(".connection")?.getAttribute("data-state") ?? "";
      if (w.states.at(-1) !== state) w.states.push(state);
      for (const card of document.querySelectorAll<HTMLElement>("li.upload")) {
        const name = card.dataset.filename ?? "";
        const value = Number(card.querySelector("progress")?.getAttribute("value") ?? 0);
        const list = (w.values[name] ??= []);
        if (list.at(-1) !== value) list.push(value);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });

  await find.fileInput(page).setInputFiles(
    FILES.map((name) => ({ name, mimeType: "application/pdf", buffer: makePdf(PAGES) })),
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

  const seen = await page.evaluate(() => {
    const w = window as unknown as { states: string[]; values: Record<string, number[]> };
    return { states: w.states, values: w.values };
  });
  expect(seen.states.slice(seen.states.indexOf("reconnecting"))).toEqual(["reconnecting", "live"]);
  for (const name of FILES) {
    const values = seen.values[name];
    expect(values, name).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(100);
  }
});
