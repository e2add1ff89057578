// Event streams read with the npm `eventsource` package: an EventSource implementation
// independent of ours and of Chromium's, to hold the server to the SSE contract.
import { EventSource, type FetchLike } from "eventsource";

export interface Received {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

const NAMES = ["progress", "done", "error"] as const;

/** Collects every named event of one EventSource. */
export class Collector {
  readonly events: Received[] = [];
  readonly source: EventSource;
  /** Connections the source opened (1 + its reconnects). */
  connections = 0;
  private waiters: Array<() => void> = [];

  /** `cuts[n]`: the (n+1)th connection drops after that many bytes. */
  constructor(url: string, cuts: number[] = []) {
    const counting: FetchLike = async (input, init) => {
      this.connections += 1;
      const response = await fetch(input, init as RequestInit);
      const limit = cuts.shift();
      return limit === undefined ? response : cutAfter(response, limit);
    };
    this.source = new EventSource(url, { fetch: counting });
    for (const type of NAMES) {
      this.source.addEventListener(type, (event) => {
        // A connection failure is also an `error` event, without data.
        if (type === "error" && !("data" in event && event.data)) return;
        const message = event as MessageEvent<string>;
        this.events.push({ id: Number(message.lastEventId), type, data: JSON.parse(message.data) });
        this.waiters.forEach((wake) => wake());
      });
    }
  }

  /** Resolves once `done` holds for the events so far. */
  until(done: (events: Received[]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (done(this.events)) {
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
      check();
    });
  }

  close(): void {
    this.source.close();
  }
}

/** The response, with its body failing after `limit` bytes: a dropped connection. */
function cutAfter(response: Response, limit: number): Response {
  if (!response.body) return response;
  let seen = 0;
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (seen + chunk.byteLength < limit) {
          seen += chunk.byteLength;
          controller.enqueue(chunk);
          return;
        }
        controller.enqueue(chunk.slice(0, limit - seen));
        controller.error(new Error("connection cut by the test"));
      },
    }),
  );
  return new Response(body, { status: response.status, headers: response.headers });
}

export function isTerminal(event: Received): boolean {
  return event.type === "done" || event.type === "error";
}

/** Uploads `bytes` as `name` through the JSON API and returns the upload's id. */
export async function upload(base: string, name: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${base}/api/uploads`, { method: "POST", body: form });
  if (response.status !== 202) throw new Error(`upload of ${name}: ${response.status}`);
  return ((await response.json()) as { id: string }).id;
}
