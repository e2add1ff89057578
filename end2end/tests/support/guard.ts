// Every spec runs under this guard: any browser console error or warning (a Leptos
// hydration warning among them) or uncaught page error fails the spec. A spec that
// provokes an expected one (a refused 401 after logging out) says which with
// `test.use({ allowConsole: /…/ })`.
import { test as base, expect, type BrowserContext, type ConsoleMessage } from "@playwright/test";

export const test = base.extend<{ allowConsole: RegExp; consoleGuard: void }>({
  // Matches nothing.
  allowConsole: [/$^/, { option: true }],
  consoleGuard: [
    async ({ browser, context, allowConsole }, use) => {
      const problems: string[] = [];
      // When, since the spec began: lines up a problem with the spec's steps and the
      // server's log.
      const began = Date.now();
      const at = () => `+${((Date.now() - began) / 1000).toFixed(1)}s`;
      const watch = (ctx: BrowserContext) => {
        ctx.on("console", (m: ConsoleMessage) => {
          if (m.type() !== "error" && m.type() !== "warning") return;
          const line = `${m.type()}: ${m.text()} (${m.location().url})`;
          if (!allowConsole.test(line)) problems.push(`${at()} ${line}`);
        });
        ctx.on("weberror", (e) => problems.push(`${at()} page error: ${e.error().message}`));
      };
      watch(context);
      // Contexts a spec opens itself (a second account) are watched too.
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args) => {
        const ctx = await newContext(...args);
        watch(ctx);
        return ctx;
      };
      await use();
      browser.newContext = newContext;
      expect(problems, "the browser console stayed clean").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
