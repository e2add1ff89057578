import { defineConfig } from "@playwright/test";
import path from "node:path";

import { binary, root, serverEnv } from "./tests/support/env";

// The suite runs against the real server binary built by `cargo leptos build` (debug),
// on its own port and a fresh data directory, in Debian's Chromium. The release build's
// spec has a configuration of its own (playwright.release.config.ts).
const port = Number(process.env.UPLINK_E2E_PORT ?? 3100);
const dataDir = path.join(__dirname, ".data", `run-${process.pid}`);

export const browser = {
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
};

export default defineConfig({
  testDir: "./tests",
  testIgnore: "release.spec.ts",
  timeout: 60_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  // No retries: a spec that fails now and then is a bug to find, not to retry. Every
  // failure is printed again at the end of the run (reporters/failures.ts), since CI
  // keeps only the tail of its output.
  retries: 0,
  reporter: [["list"], ["./reporters/failures.ts"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: browser,
  },
  webServer: {
    command: `rm -rf "${dataDir}" && exec "${binary()}"`,
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...serverEnv(dataDir, 2), LEPTOS_SITE_ADDR: `127.0.0.1:${port}` },
  },
});
