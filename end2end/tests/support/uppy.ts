// Serves the Uppy page (uppy/page.js, bundled from npm with esbuild when the spec runs)
// on an origin of its own: `localhost` and a port of its own, never the server's.
import { build } from "esbuild";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export class UppyPage {
  private server?: http.Server;

  get origin(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://localhost:${port}`;
  }

  async start(): Promise<void> {
    const bundled = await build({
      entryPoints: [path.join(__dirname, "uppy", "page.js")],
      bundle: true,
      write: false,
      format: "iife",
      logLevel: "silent",
    });
    const script = bundled.outputFiles[0].contents;
    const page = '<!doctype html><meta charset="utf-8"><title>Uppy</title><div id="uppy"></div><script src="/page.js"></script>';
    this.server = http.createServer((req, res) => {
      if (req.url === "/page.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      } else if (req.url === "/favicon.ico") {
        res.writeHead(204).end();
      } else if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end(page);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
