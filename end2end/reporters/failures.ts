// Prints every failed attempt's errors again, briefly, as the very last lines of a run:
// the failures, and the attempts that failed before a retry passed (flaky ones). CI
// keeps only the tail of what `make test` printed, and the list reporter's full report
// (code frames, trace hints) pushes the message that says *what* failed out of it.
import type { Reporter, TestCase, TestResult } from "@playwright/test/reporter";

/** Lines kept of each error message. */
const LINES = 24;

const strip = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "");

export default class FailureSummary implements Reporter {
  private attempts: string[] = [];

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status === "passed" || result.status === "skipped") return;
    const where = `${test.location.file.split("/").slice(-1)[0]}:${test.location.line}`;
    const errors = result.errors.map((e) =>
      strip(e.message ?? String(e.value ?? "")).split("\n").slice(0, LINES).join("\n    "),
    );
    this.attempts.push(
      `${where} ${test.title} [attempt ${result.retry + 1}: ${result.status}]\n    ${errors.join("\n    ---\n    ")}`,
    );
  }

  onEnd() {
    if (this.attempts.length === 0) return;
    console.log(`\n=== ${this.attempts.length} failed attempt(s), passed on retry or not; their errors again ===`);
    for (const attempt of this.attempts) console.log(attempt);
  }

  printsToStdio() {
    return true;
  }
}
