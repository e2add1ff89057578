// The dashboard sends with tus: a network cut mid-upload (CDP) pauses the card, which
// goes on from the server's offset once the network is back; Pause and Resume do the
// same by hand; a reload mid-upload leaves a card that says so, and picking the same
// file again goes on from where it stopped.
// Either way the server gets each byte once: every PATCH starts at the offset the
// server last answered.
import { randomBytes, createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";

import { expect, test } from "./support/guard";
import { act, find } from "./support/dashboard";

// The requests cut by going offline or by the reload.
test.use({ allowConsole: /net::ERR_INTERNET_DISCONNECTED|net::ERR_NETWORK_CHANGED|net::ERR_ABORTED|net::ERR_CONNECTION/ });

const MiB = 1024 * 1024;

interface Exchange {
  method: string;
  /** A PATCH's `Upload-Offset`. */
  sent?: number;
  /** The `Upload-Offset` answered, if an answer came. */
  answered?: number;
}

/** Every tus request the page makes, in order, with the offsets sent and answered. */
function recordTus(page: Page): Exchange[] {
  const exchanges: Exchange[] = [];
  const byRequest = new Map<object, Exchange>();
  page.on("request", (request) => {
    if (!request.url().includes("/api/tus")) return;
    const offset = request.headers()["upload-offset"];
    const exchange: Exchange = { method: request.method() };
    if (offset !== undefined) exchange.sent = Number(offset);
    exchanges.push(exchange);
    byRequest.set(request, exchange);
  });
  page.on("response", (response) => {
    const exchange = byRequest.get(response.request());
    const offset = response.headers()["upload-offset"];
    if (exchange && offset !== undefined) exchange.answered = Number(offset);
    // A creation without bytes is at 0.
    if (exchange && exchange.method === "POST" && response.status() === 201) exchange.answered ??= 0;
  });
  return exchanges;
}

/** Each PATCH starts where the server last said it stood: no byte is sent twice. */
function expectChained(exchanges: Exchange[]): void {
  let at: number | undefined;
  for (const exchange of exchanges) {
    if (exchange.method === "PATCH") expect(exchange.sent).toBe(at);
    if (exchange.answered !== undefined) at = exchange.answered;
  }
}

/** The page's network as DevTools emulates it: its upload rate, or none at all. Going
 * offline goes through the same session as the throttle (Playwright's own setOffline
 * would not override it), and through setOffline for the page's navigator.onLine. */
async function network(page: Page): Promise<(up: number | "offline") => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  return async (up) => {
    const offline = up === "offline";
    await cdp.send("Network.emulateNetworkConditions", {
      offline, latency: 0, downloadThroughput: -1, uploadThroughput: offline ? -1 : up,
    });
    await page.context().setOffline(offline);
  };
}

async function storedSha256(page: Page): Promise<string[]> {
  const uploads = await (await page.request.get("/api/uploads")).json();
  return uploads.map((u: { sha256: string }) => u.sha256);
}

test("a network cut mid-upload pauses the card, which resumes from the server's offset", async ({ page }) => {
  await act.register(page);
  const exchanges = recordTus(page);
  const net = await network(page);
  await net(2 * MiB);
  const bytes = randomBytes(12 * MiB);
  await find.fileInput(page).setInputFiles([{ name: "cut.bin", mimeType: "application/octet-stream", buffer: bytes }]);
  const card = find.card(page, "cut.bin");
  await expect(card.locator(".stage")).toHaveText(/^Sending ([2-9]|1\d)\.\d MiB of 12\.0 MiB$/);

  await net("offline");
  await expect(card.locator(".stage")).toHaveText("Connection lost, resuming…");
  await net(-1);
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 60_000 });

  expect(exchanges.filter((e) => e.method === "POST")).toHaveLength(1);
  // It asked where the server stood, which was past the start, and went on from there.
  const asked = exchanges.filter((e) => e.method === "HEAD");
  expect(asked.length).toBeGreaterThan(0);
  expect(asked[0].answered).toBeGreaterThan(0);
  expectChained(exchanges);
  expect(await storedSha256(page)).toEqual([createHash("sha256").update(bytes).digest("hex")]);
});

test("Pause stops sending where it is, and Resume goes on from the server's offset", async ({ page }) => {
  await act.register(page);
  const exchanges = recordTus(page);
  const net = await network(page);
  await net(2 * MiB);
  const bytes = randomBytes(12 * MiB);
  await find.fileInput(page).setInputFiles([{ name: "paused.bin", mimeType: "application/octet-stream", buffer: bytes }]);
  const card = find.card(page, "paused.bin");
  await expect(card.locator(".stage")).toHaveText(/^Sending ([2-9]|1\d)\.\d MiB of 12\.0 MiB$/);

  await card.getByRole("button", { name: "Pause" }).click();
  await expect(card.locator(".stage")).toHaveText(/^Paused at \d+\.\d MiB of 12\.0 MiB$/);
  const sentBeforeResume = exchanges.length;
  await net(-1);
  await card.getByRole("button", { name: "Resume" }).click();
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 60_000 });

  // Nothing went while paused; Resume asked the server where it stood and went on.
  const resumed = exchanges.slice(sentBeforeResume);
  expect(resumed[0].method).toBe("HEAD");
  expect(resumed[0].answered).toBeGreaterThan(0);
  expect(exchanges.filter((e) => e.method === "POST")).toHaveLength(1);
  expectChained(exchanges);
  expect(await storedSha256(page)).toEqual([createHash("sha256").update(bytes).digest("hex")]);
});

test("after a reload mid-upload, picking the same file again resumes it", async ({ page }) => {
  await act.register(page);
  const net = await network(page);
  await net(2 * MiB);
  const dir = mkdtempSync(path.join(tmpdir(), "uplink-resume-"));
  const file = path.join(dir, "again.bin");
  const bytes = randomBytes(12 * MiB);
  writeFileSync(file, bytes);
  await find.fileInput(page).setInputFiles(file);
  const card = find.card(page, "again.bin");
  await expect(card.locator(".stage")).toHaveText(/^Sending ([2-9]|1\d)\.\d MiB of 12\.0 MiB$/);

  await page.reload();
  await expect(find.connection(page)).toHaveAttribute("data-state", "live");
  await expect(card.locator(".stage")).toHaveText(/^\d+\.\d MiB arrived: pick the file again to resume$/);
  const exchanges = recordTus(page);
  await net(-1);
  await find.fileInput(page).setInputFiles(file);
  await expect(card).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  await expect(card).toHaveCount(1);

  // No new upload: the server was asked where it stood, and the rest went from there.
  expect(exchanges.filter((e) => e.method === "POST")).toHaveLength(0);
  expect(exchanges[0].method).toBe("HEAD");
  expect(exchanges[0].answered).toBeGreaterThan(0);
  expectChained(exchanges);
  expect(await storedSha256(page)).toEqual([createHash("sha256").update(bytes).digest("hex")]);
});
