// Watching the page as a person would, however briefly something shows: every distinct
// connection state, bar value, page label and stage (one MutationObserver), and how responsive
// the page stays (long tasks and frame gaps).
import type { Page } from "@playwright/test";

/** Starts recording; what each watched thing shows now is its first value. */
export async function startRecording(page: Page): Promise<void> {
  await page.evaluate(() => {
    const recorded: Recorded = { connection: [], bars: {}, pageLabels: {}, stages: {} };
    window.recorded = recorded;
    const note = <T>(list: T[], value: T) => {
      if (list[list.length - 1] !== value) list.push(value);
    };
    const look = () => {
      note(recorded.connection, document.querySelector(".connection")?.getAttribute("data-state") ?? "");
      for (const card of document.querySelectorAll<HTMLElement>("li.upload")) {
        const name = card.dataset.filename ?? "";
        const bar = card.querySelector("progress");
        if (bar) note((recorded.bars[name] ??= []), Number(bar.getAttribute("value") ?? bar.value));
        const label = card.querySelector(".page")?.textContent;
        if (label) note((recorded.pageLabels[name] ??= []), label);
        const stage = card.querySelector(".stage")?.textContent;
        if (stage) note((recorded.stages[name] ??= []), stage);
      }
    };
    look();
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  });
}

/** What was recorded since [`startRecording`]. */
export async function recorded(page: Page): Promise<Recorded> {
  return page.evaluate(() => window.recorded);
}

/** Starts measuring long tasks and the gaps between animation frames. */
export async function startMeasuring(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = (window.responsiveness = { longTasks: [] as number[], frameGaps: [] as number[], measuring: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push(e.duration);
    }).observe({ type: "longtask" });
    let last = performance.now();
    const frame = (now: number) => {
      w.frameGaps.push(now - last);
      last = now;
      if (w.measuring) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}

/** Stops measuring; what was measured. */
export async function stopMeasuring(page: Page): Promise<{ longTasks: number[]; frameGaps: number[] }> {
  return page.evaluate(() => {
    window.responsiveness.measuring = false;
    return window.responsiveness;
  });
}
