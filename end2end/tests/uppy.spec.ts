// Uppy (core, dashboard and the Tus plugin, bundled from npm) on a page of another
// origin listed in UPLINK_CORS_ORIGINS, in Chromium: the page goes offline mid-upload and
// online again, the upload completes, and its processing events follow on the stream.
import { expect, test } from "./support/guard";

import { Collector, isTerminal, register } from "./support/events";
import { OwnServer } from "./support/server";
import { UppyPage } from "./support/uppy";

const BYTES = 24 * 1024 * 1024;

// The browser reports the requests that going offline failed.
test.use({ allowConsole: /net::ERR_INTERNET_DISCONNECTED|net::ERR_NETWORK_CHANGED|net::ERR_CONNECTION/ });

test("an Uppy page of another origin uploads through an offline spell and the events follow", async ({ page, context }) => {
  test.setTimeout(120_000);
  const site = new UppyPage();
  await site.start();
  const server = new OwnServer({ UPLINK_CORS_ORIGINS: site.origin });
  await server.start();
  try {
    const account = await register(server.url);
    const made = await fetch(`${server.url}/api/auth/tokens`, {
      method: "POST",
      headers: { cookie: account.cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "uppy" }),
    });
    const { token } = (await made.json()) as { token: string };
    const events = new Collector(`${server.url}/api/events`, [], account.cookie);

    await page.goto(site.origin);
    // Slow enough that going offline lands mid-upload: 4 MiB/s up.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 4 * 1024 * 1024,
    });
    await page.evaluate(([endpoint, token, bytes]) => window.startUppy(endpoint, token, bytes), [
      `${server.url}/api/tus`,
      token,
      BYTES,
    ] as const);
    await page.waitForFunction(() => window.seen.progress > 2 * 1024 * 1024);
    // Offline through the same DevTools session as the throttle (Playwright's own
    // setOffline would not override it), and for the page's navigator.onLine too.
    const conditions = { latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024 };
    await cdp.send("Network.emulateNetworkConditions", { ...conditions, offline: true });
    await context.setOffline(true);
    await page.waitForFunction(() => window.seen.offline && window.seen.retries > 0);
    const offlineAt = await page.evaluate(() => window.seen.progress);
    expect(offlineAt).toBeLessThan(BYTES);
    await cdp.send("Network.emulateNetworkConditions", { ...conditions, offline: false });
    await context.setOffline(false);
    await page.waitForFunction(() => window.seen.url !== null || window.seen.error !== null, null, { timeout: 60_000 });
    const seen = await page.evaluate(() => window.seen);
    expect(seen.error).toBeNull();
    expect(seen.online).toBe(true);

    const id = seen.url!.split("/").pop()!;
    await events.until((all) => all.some((e) => e.data.upload_id === id && isTerminal(e)));
    events.close();
    const mine = events.events.filter((e) => e.data.upload_id === id);
    expect(mine.at(-1)!.type).toBe("done");
    // Its bytes arriving, then its processing, on the same stream.
    expect(mine.some((e) => e.data.status === "uploading" && (e.data.bytes_received as number) > 0)).toBe(true);
    expect(mine.some((e) => e.data.status === "processing")).toBe(true);
    const upload = await fetch(`${server.url}/api/uploads/${id}`, { headers: { authorization: `Bearer ${token}` } });
    const stored = (await upload.json()) as { size: number; filename: string };
    expect(stored).toMatchObject({ size: BYTES, filename: "from-uppy.bin" });
  } finally {
    await server.stop();
    await site.stop();
  }
});
