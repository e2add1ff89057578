// A server a spec owns: the same debug binary the suite's web server runs, on a port and
// data directory of its own, so the spec can kill it and start it again mid-test.
import { test as base } from "./guard";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

import { binary, root, serverEnv } from "./env";

export class OwnServer {
  private child?: ChildProcess;
  private addr = "127.0.0.1:0";
  readonly dataDir = mkdtempSync(path.join(tmpdir(), "uplink-e2e-"));
  /** The server's log, for a failing spec's report. */
  readonly log: string[] = [];

  /** `env` adds to the suite's server environment; `profile` picks the build to run. */
  constructor(
    private readonly env: Record<string, string> = {},
    private readonly profile: "debug" | "release" = "debug",
  ) {}

  get url(): string {
    return `http://${this.addr}`;
  }

  /** Starts the server (on the same port as before, after a restart) and waits until it listens. */
  async start(): Promise<void> {
    const child = spawn(binary(this.profile), ["--addr", this.addr], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...serverEnv(this.dataDir, 1), ...this.env },
    });
    this.child = child;
    createInterface({ input: child.stderr! }).on("line", (line) => this.log.push(line));
    const lines = createInterface({ input: child.stdout! });
    this.addr = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`uplink exited (${code}):\n${this.log.join("\n")}`)));
      lines.on("line", (line) => {
        this.log.push(line);
        const found = line.match(/listening on http:\/\/(\S+)/);
        if (found) resolve(found[1]);
      });
    });
  }

  /** SIGKILL: no shutdown code runs, as when a machine or process crashes. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** `test` with `server`: an `OwnServer` started for the spec and stopped after it, its
 * log attached to the report when the spec fails. */
export const test = base.extend<{ server: OwnServer }>({
  server: async ({}, use, testInfo) => {
    const server = new OwnServer();
    await server.start();
    await use(server);
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach("server.log", { body: server.log.join("\n") });
      // Also on the console: CI keeps the run's output, not its attachments.
      console.log(`the spec's own server, last 40 lines:\n${server.log.slice(-40).join("\n")}`);
    }
    await server.stop();
  },
});
