// Two people, one server: register, upload, log out (the dashboard goes, its streams
// end), sign in again without losing the page, and another account sees none of it.
import { expect, test } from "./support/guard";

import { act, find, newUsername, PASSWORD } from "./support/dashboard";

// Chromium logs the refused (401) reconnection of a stream whose session ended.
test.use({ allowConsole: /401/ });

test("accounts see only their own uploads, and a lost session loses nothing", async ({ browser }) => {
  const alice = await browser.newContext();
  const first = await alice.newPage();

  // Nobody gets the dashboard without an account.
  await first.goto("/");
  await expect(first).toHaveURL(/\/login$/);

  const aliceName = await act.register(first, newUsername("alice"));
  await find.fileInput(first).setInputFiles([
    { name: "alice-notes.txt", mimeType: "text/plain", buffer: Buffer.from("only for alice\n") },
  ]);
  await expect(find.card(first, "alice-notes.txt")).toHaveAttribute("data-status", "done");

  // A second tab of the same account.
  const second = await alice.newPage();
  await act.open(second);
  await expect(find.card(second, "alice-notes.txt")).toHaveAttribute("data-status", "done");

  // Logging out in the first tab: its dashboard is gone...
  await first.getByRole("button", { name: "Log out" }).click();
  await expect(first).toHaveURL(/\/login$/);
  await expect(first.locator(".account-bar")).toHaveCount(0);
  await expect(first.locator("li.upload")).toHaveCount(0);

  // ...and the server ended the other tab's stream with the session: it asks to sign in
  // again, over the page it keeps.
  const dialog = second.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await expect(find.card(second, "alice-notes.txt")).toHaveAttribute("data-status", "done");

  // A file picked meanwhile waits rather than failing...
  await find.fileInput(second).setInputFiles([
    { name: "picked-while-out.txt", mimeType: "text/plain", buffer: Buffer.from("patience\n") },
  ]);
  await expect(find.card(second, "picked-while-out.txt")).toBeVisible();
  await expect(find.card(second, "picked-while-out.txt")).not.toHaveAttribute("data-status", "failed");

  // ...and goes once she is back; the stream resumes too.
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Log in" }).click();
  await expect(dialog).toBeHidden();
  await expect(find.connection(second)).toHaveAttribute("data-state", "live");
  await expect(find.card(second, "picked-while-out.txt")).toHaveAttribute("data-status", "done");
  await expect(find.username(second)).toHaveText(aliceName);
  const aliceUploads = await (await second.request.get("/api/uploads")).json();
  expect(aliceUploads.map((u: { filename: string }) => u.filename).sort()).toEqual([
    "alice-notes.txt",
    "picked-while-out.txt",
  ]);

  // Bob, in a browser of his own, logs in and sees none of it.
  const bob = await browser.newContext();
  const bobPage = await bob.newPage();
  const bobName = newUsername("bob");
  const created = await bobPage.request.post("/api/auth/register", {
    data: { username: bobName, password: PASSWORD },
  });
  expect(created.status()).toBe(201);
  await bob.clearCookies();
  await act.logIn(bobPage, bobName);
  await expect(bobPage.locator("li.upload")).toHaveCount(0);
  await expect(bobPage.locator(".empty")).toBeVisible();
  expect(await (await bobPage.request.get("/api/uploads")).json()).toEqual([]);
  for (const upload of aliceUploads as { id: string }[]) {
    for (const path of ["", "/file", "/text", "/events"]) {
      const response = await bobPage.request.get(`/api/uploads/${upload.id}${path}`);
      expect(response.status(), path).toBe(404);
    }
  }

  await alice.close();
  await bob.close();
});
