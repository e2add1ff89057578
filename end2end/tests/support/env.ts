// The environment every server the suite starts runs with, written once: the suite's own
// web server (playwright.config.ts) and the servers specs own (server.ts).
import path from "node:path";

export const root = path.resolve(__dirname, "../../..");

/** The server binary of a build profile, as cargo-leptos leaves it. */
export function binary(profile: "debug" | "release" = "debug"): string {
  return path.join(root, "target", profile, "uplink");
}

export function serverEnv(dataDir: string, workers: number): Record<string, string> {
  return {
    NO_COLOR: "1",
    RUST_LOG: "info,sqlx=warn,lopdf=error",
    // The bundle cargo-leptos built last; its name is compiled in (.cargo/config.toml).
    LEPTOS_SITE_ROOT: path.join(root, "target/site"),
    UPLINK_DATA_DIR: dataDir,
    UPLINK_WORKERS: String(workers),
    // Every spec registers its own accounts, all from 127.0.0.1.
    UPLINK_REGISTRATIONS_PER_HOUR: "10000",
  };
}
