import { defineConfig } from "@playwright/test";
import path from "node:path";

// The suite runs against the real server binary built by `cargo leptos build` (debug),
// on its own port and a fresh data directory, in Debian's Chromium.
const port = Number(process.env.UPLINK_E2E_PORT ?? 3100);
const root = path.resolve(__dirname, "..");
const dataDir = path.join(__dirname, ".data", `run-${process.pid}`);

export default defineConfig({
  testDir: "./tests",
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
    launchOptions: {
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
    },
  },
  webServer: {
    command: `rm -rf "${dataDir}" && exec "${path.join(root, "target/debug/uplink")}"`,
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      LEPTOS_OUTPUT_NAME: "uplink",
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      UPLINK_DATA_DIR: dataDir,
      UPLINK_WORKERS: "2",
      // Every spec registers its own accounts, all from 127.0.0.1.
      UPLINK_REGISTRATIONS_PER_HOUR: "10000",
      RUST_LOG: "info,sqlx=warn,lopdf=error",
    },
  },
});
