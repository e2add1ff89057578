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
      const watch = (ctx: BrowserContext) => {
        ctx.on("console", (m: ConsoleMessage) => {
          if (m.type() !== "error" && m.type() !== "warning") return;
          const line = `${m.type()}: ${m.text()} (${m.location().url})`;
          if (!allowConsole.test(line)) problems.push(line);
        });
        ctx.on("weberror", (e) => problems.push(`page error: ${e.error().message}`));
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
