import { defineConfig } from "@playwright/test";

import { browser } from "./playwright.config";

// The release build (`make release`): one spec, run right after that build and before the
// debug build replaces its bundle in target/site (the two profiles share it).
export default defineConfig({
  testDir: "./tests",
  testMatch: "release.spec.ts",
  timeout: 60_000,
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"], ["./reporters/failures.ts"]],
  use: { trace: "retain-on-failure", launchOptions: browser },
});
