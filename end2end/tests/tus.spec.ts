// tus interop: the protocol's own clients from npm against the real server. tus-js-client
// in Node through a proxy that cuts the connection, a second process resuming what a
// first one left, parallel partial uploads joined by concatenation, bytes sent with the
// creation, and another account finding nothing.
import { expect } from "./support/guard";

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as tus from "tus-js-client";

import { register, type Account } from "./support/events";
import { CuttingProxy } from "./support/proxy";
import { test } from "./support/server";

const MiB = 1024 * 1024;

/** A personal API token for `account`, as a script on a server would use. */
async function apiToken(account: Account): Promise<string> {
  const response = await fetch(`${account.base}/api/auth/tokens`, {
    method: "POST",
    headers: { cookie: account.cookie, "content-type": "application/json" },
    body: JSON.stringify({ name: "tus interop" }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const idOf = (url: string) => url.split("/").pop()!;

/** Uploads `bytes` with tus-js-client and `options`; the upload's URL. */
function send(bytes: Buffer, options: tus.UploadOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      ...options,
      onSuccess: () => resolve(upload.url!),
      onError: reject,
    });
    upload.start();
  });
}

/** The stored upload's JSON, once its bytes are all stored. */
async function stored(base: string, token: string, url: string): Promise<{ sha256: string; filename: string; status: string }> {
  const response = await fetch(`${base}/api/uploads/${idOf(url)}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return response.json();
}

test("tus-js-client resumes through three cut connections and every byte arrives once", async ({ server }) => {
  test.setTimeout(180_000);
  const token = await apiToken(await register(server.url));
  const bytes = randomBytes(200 * MiB);
  // Cut mid-chunk, at three points of the whole.
  const proxy = new CuttingProxy(server.url, [31 * MiB + 1234, 97 * MiB + 777, 151 * MiB + 4321]);
  await proxy.start();
  try {
    const url = await send(bytes, {
      endpoint: `${proxy.url}/api/tus`,
      chunkSize: 5 * MiB,
      retryDelays: [0, 100, 200, 500, 1000],
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: "big.bin", filetype: "application/octet-stream" },
    });
    expect((await stored(server.url, token, url)).sha256).toBe(sha256(bytes));
  } finally {
    await proxy.stop();
  }
  const seen = proxy.seen;
  expect(seen.filter((s) => s.method === "POST")).toHaveLength(1);
  expect(seen.filter((s) => s.cut)).toHaveLength(3);
  // After each cut the client asked where the server stood, and went on from there.
  for (const [i, s] of seen.entries()) {
    if (!s.cut) continue;
    const [head, patch] = seen.slice(i + 1, i + 3);
    expect(head.method).toBe("HEAD");
    expect(patch.method).toBe("PATCH");
    expect(patch.offset).toBe(head.offset);
    expect(head.offset).toBeGreaterThan(s.offset!);
  }
  // Each byte went to the server once, but for what a cut lost in flight.
  expect(proxy.patchBytesSince(0)).toBeLessThan(bytes.length + 3 * 5 * MiB);
});

test("a second process resumes the upload a first one left at half", async ({ server }) => {
  test.setTimeout(120_000);
  const token = await apiToken(await register(server.url));
  const dir = mkdtempSync(path.join(tmpdir(), "uplink-tus-"));
  const file = path.join(dir, "half-and-half.bin");
  const bytes = randomBytes(40 * MiB);
  writeFileSync(file, bytes);
  const proxy = new CuttingProxy(server.url);
  await proxy.start();
  const run = async (mode: string) => {
    const script = path.join(__dirname, "support", "tus-process.mjs");
    const args = [script, `${proxy.url}/api/tus`, file, path.join(dir, "urls.json"), token, mode];
    const { stdout } = await promisify(execFile)(process.execPath, args);
    return JSON.parse(stdout) as { url: string; sent?: number; error?: string };
  };
  try {
    const first = await run("start");
    expect(first.error).toBeUndefined();
    const before = proxy.seen.length;
    const second = await run("resume");
    expect(second.error).toBeUndefined();
    expect(second.url).toBe(first.url);
    const resumed = proxy.seen.slice(before);
    expect(resumed.filter((s) => s.method === "POST")).toHaveLength(0);
    expect(resumed[0].method).toBe("HEAD");
    // No more than the rest, and the chunk in flight when the first stopped.
    expect(proxy.patchBytesSince(before)).toBeLessThanOrEqual(bytes.length - first.sent! + 4 * MiB);
    expect((await stored(server.url, token, second.url)).sha256).toBe(sha256(bytes));
  } finally {
    await proxy.stop();
  }
});

test("parallel partial uploads and bytes sent with the creation both store the right bytes", async ({ server }) => {
  const token = await apiToken(await register(server.url));
  const headers = { Authorization: `Bearer ${token}` };
  const endpoint = `${server.url}/api/tus`;
  const big = randomBytes(20 * MiB + 7);
  const parallel = await send(big, {
    endpoint,
    headers,
    parallelUploads: 4,
    metadata: { filename: "parallel.bin" },
  });
  const upload = await stored(server.url, token, parallel);
  expect(upload.sha256).toBe(sha256(big));
  expect(upload.filename).toBe("parallel.bin");
  // Only the final upload is on the account's list: the four partials are not.
  const listed = await fetch(`${server.url}/api/uploads`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await listed.json()) as unknown[]).length).toBe(1);

  const small = Buffer.from("all of it with the creation\n");
  const during = await send(small, { endpoint, headers, uploadDataDuringCreation: true, metadata: { filename: "at-once.txt" } });
  expect((await stored(server.url, token, during)).sha256).toBe(sha256(small));
});

test("another account's token or cookie finds nothing of an upload or a partial", async ({ server }) => {
  const owner = await apiToken(await register(server.url));
  const intruder = await register(server.url, "intruder");
  const theirs = await apiToken(intruder);
  const tusHeaders = { "tus-resumable": "1.0.0" };
  const create = async (headers: Record<string, string>) => {
    const response = await fetch(`${server.url}/api/tus`, {
      method: "POST",
      headers: { ...tusHeaders, authorization: `Bearer ${owner}`, "upload-length": "4", ...headers },
    });
    expect(response.status).toBe(201);
    return response.headers.get("location")!;
  };
  for (const location of [await create({}), await create({ "upload-concat": "partial" })]) {
    const intruders: Record<string, string>[] = [{ authorization: `Bearer ${theirs}` }, { cookie: intruder.cookie }];
    for (const as of intruders) {
      const at = `${server.url}${location}`;
      const head = await fetch(at, { method: "HEAD", headers: { ...tusHeaders, ...as } });
      expect(head.status).toBe(404);
      expect(head.headers.get("upload-offset")).toBeNull();
      const patch = await fetch(at, {
        method: "PATCH",
        headers: { ...tusHeaders, ...as, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
        body: "abcd",
      });
      expect(patch.status).toBe(404);
      const remove = await fetch(at, { method: "DELETE", headers: { ...tusHeaders, ...as } });
      expect(remove.status).toBe(404);
      const join = await fetch(`${server.url}/api/tus`, {
        method: "POST",
        headers: { ...tusHeaders, ...as, "upload-concat": `final;${location}` },
      });
      expect(join.status).toBe(404);
    }
    // Still the owner's, untouched.
    const head = await fetch(`${server.url}${location}`, { method: "HEAD", headers: { ...tusHeaders, authorization: `Bearer ${owner}` } });
    expect(head.headers.get("upload-offset")).toBe("0");
  }
});
