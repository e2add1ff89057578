// Event streams read with the npm `eventsource` package: an EventSource implementation
// independent of ours and of Chromium's, to hold the server to the SSE contract.
import { EventSource, type FetchLike } from "eventsource";

import { newUsername } from "./dashboard";

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

  /** `cuts[n]`: the (n+1)th connection drops after that many bytes. `cookie`: the
   * session to send (streams opened with an events token need none). */
  constructor(url: string, cuts: number[] = [], cookie?: string) {
    const counting: FetchLike = async (input, init) => {
      this.connections += 1;
      const headers = { ...(init?.headers as Record<string, string>), ...(cookie ? { cookie } : {}) };
      const response = await fetch(input, { ...(init as RequestInit), headers });
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

/** A scripted client's account: the server's address and the session cookie. */
export interface Account {
  base: string;
  cookie: string;
}

/** Registers a fresh account, as a script would, and keeps its session cookie. */
export async function register(base: string, prefix = "script"): Promise<Account> {
  const username = newUsername(prefix);
  const response = await fetch(`${base}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse" }),
  });
  if (response.status !== 201) throw new Error(`register: ${response.status}`);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0];
  return { base, cookie };
}

/** Uploads `bytes` as `name` through the JSON API and returns the upload's id. */
export async function upload(account: Account, name: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${account.base}/api/uploads`, {
    method: "POST",
    body: form,
    headers: { cookie: account.cookie },
  });
  if (response.status !== 202) throw new Error(`upload of ${name}: ${response.status}`);
  return ((await response.json()) as { id: string }).id;
}

/** The events URL of one upload with a short-lived token in it: for a client that has
 * no cookie. */
export async function tokenUrl(account: Account, id: string): Promise<string> {
  const response = await fetch(`${account.base}/api/uploads/${id}/token`, {
    method: "POST",
    headers: { cookie: account.cookie },
  });
  if (response.status !== 200) throw new Error(`token: ${response.status}`);
  return `${account.base}${((await response.json()) as { events_url: string }).events_url}`;
}
