// A local HTTP proxy in front of the server that sees every request a tus client makes
// and can cut the connection mid-body: the network failure a resumable upload is for.
// It records each request's method, path, `Upload-Offset` (sent, or answered by a
// HEAD) and how many body bytes it forwarded.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Transform } from "node:stream";

export interface Seen {
  method: string;
  path: string;
  /** A PATCH's `Upload-Offset`, or the one a HEAD was answered with. */
  offset?: number;
  /** Body bytes forwarded to the server. */
  bytes: number;
  status?: number;
  cut: boolean;
}

export class CuttingProxy {
  readonly seen: Seen[] = [];
  private server?: http.Server;
  private patched = 0;
  private readonly agent = new http.Agent({ keepAlive: true });

  /** `cuts`: totals of PATCH body bytes forwarded at which a connection is cut, once each. */
  constructor(
    private readonly target: string,
    private readonly cuts: number[] = [],
  ) {}

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** PATCH body bytes forwarded since `from` requests were seen. */
  patchBytesSince(from: number): number {
    return this.seen.slice(from).filter((s) => s.method === "PATCH").reduce((n, s) => n + s.bytes, 0);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
    this.agent.destroy();
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const offset = req.headers["upload-offset"];
    const seen: Seen = { method: req.method!, path: req.url!, bytes: 0, cut: false };
    if (offset !== undefined) seen.offset = Number(offset);
    this.seen.push(seen);
    const upstream = http.request(`${this.target}${req.url}`, {
      method: req.method,
      headers: req.headers,
      agent: this.agent,
    });
    let cutting = false;
    const cut = () => {
      seen.cut = true;
      upstream.destroy();
      req.socket.destroy();
    };
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        // Like a broken connection: nothing after the cut gets through.
        if (cutting) return done();
        if (req.method === "PATCH") {
          const next = this.cuts.find((at) => this.patched < at && this.patched + chunk.length >= at);
          if (next !== undefined) {
            this.cuts.splice(this.cuts.indexOf(next), 1);
            const part = next - this.patched;
            this.patched += part;
            seen.bytes += part;
            // What came before the cut reaches the server, then the connection goes.
            cutting = true;
            done(null, chunk.subarray(0, part));
            setImmediate(cut);
            return;
          }
          this.patched += chunk.length;
        }
        seen.bytes += chunk.length;
        done(null, chunk);
      },
    });
    upstream.on("response", (answer) => {
      seen.status = answer.statusCode;
      if (req.method === "HEAD" && answer.headers["upload-offset"] !== undefined) {
        seen.offset = Number(answer.headers["upload-offset"]);
      }
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => req.socket.destroy());
    req.on("error", () => upstream.destroy());
    req.pipe(counter).pipe(upstream);
  }
}
