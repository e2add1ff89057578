// The replay and restart contract, checked with the npm `eventsource` package instead of
// our own client: its own reconnection logic, its own Last-Event-ID handling.
import { expect } from "./support/guard";

import { makePdf } from "./support/pdf";
import { test } from "./support/server";
import { Collector, isTerminal, register, tokenUrl, upload, type Received } from "./support/events";

const finished = (ids: string[]) => (events: Received[]) =>
  ids.every((id) => events.some((e) => e.data.upload_id === id && isTerminal(e)));

test("a client whose connection keeps dropping ends with the steady client's sequence", async ({ server }) => {
  // Both ask for the whole history (`0`), so whenever each one's stream starts, the
  // sequences to compare are the same.
  const account = await register(server.url);
  const steady = new Collector(`${server.url}/api/events?last_event_id=0`, [], account.cookie);
  // Dropped at arbitrary bytes, mid-event included; it reconnects on its own.
  const cuts = Array.from({ length: 5 }, () => 300 + Math.floor(Math.random() * 6000));
  const flaky = new Collector(`${server.url}/api/events?last_event_id=0`, [...cuts], account.cookie);

  const ids = await Promise.all([
    upload(account, "a.pdf", makePdf(300)),
    upload(account, "notes.txt", Buffer.from("plain text\n")),
    upload(account, "b.pdf", makePdf(200)),
    upload(account, "broken.pdf", Buffer.from("%PDF-1.7\nnot really\n")),
    upload(account, "c.pdf", makePdf(100)),
  ]);
  await steady.until(finished(ids));
  await flaky.until((events) => finished(ids)(events) && events.length >= steady.events.length);
  steady.close();
  flaky.close();

  expect(flaky.connections).toBe(cuts.length + 1);
  expect(flaky.events.map((e) => e.id)).toEqual(steady.events.map((e) => e.id));
  expect(flaky.events).toEqual(steady.events);
});

test("a client resumes across a server crash with no gap, no duplicate and one done", async ({ server }) => {
  const pages = 1500;
  const account = await register(server.url);
  const id = await upload(account, "long.pdf", makePdf(pages));
  // No cookie: the client follows the upload with an events token, which also outlives
  // the restart (its signing key is kept in the data directory).
  const url = await tokenUrl(account, id);
  const live = new Collector(`${url}&last_event_id=0`);
  await live.until((events) => events.some((e) => e.data.stage === "extracting"));
  await server.restart();
  await live.until((events) => events.some(isTerminal));
  // The per-upload stream ends after `done`; stop the client reconnecting for more.
  live.close();

  const sequence = live.events;
  const ids = sequence.map((e) => e.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
  const percents = sequence.map((e) => (e.type === "done" ? 100 : (e.data.percent as number)));
  expect(percents).toEqual([...percents].sort((a, b) => a - b));
  const reported = sequence.filter((e) => e.data.page != null).map((e) => e.data.page);
  expect(reported).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
  expect(sequence.filter((e) => e.type === "done")).toHaveLength(1);
  expect(sequence.at(-1)?.type).toBe("done");
  expect(sequence.some((e) => e.data.message === "resuming after a server restart")).toBe(true);

  // A client replaying the whole history afterwards gets exactly the same sequence.
  const replay = new Collector(`${url}&last_event_id=0`);
  await replay.until((events) => events.some(isTerminal));
  replay.close();
  expect(replay.events).toEqual(sequence);
});
