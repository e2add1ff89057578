// What the specs keep on the page's `window`: set by the app once it has hydrated, and
// by the recorders in `tests/support/recorder.ts`.
export {};

declare global {
  interface Window {
    /** Set by the app when hydration is done and its handlers are live. */
    __hydrated?: boolean;
    /** Every distinct value the dashboard showed, however briefly (`recorder.ts`). */
    recorded: Recorded;
    /** Long tasks and gaps between frames while `measuring` (`recorder.ts`). */
    responsiveness: { longTasks: number[]; frameGaps: number[]; measuring: boolean };
    /** The Uppy page of `uppy.spec.ts` (`support/uppy/page.js`). */
    startUppy: (endpoint: string, token: string, bytes: number) => void;
    seen: {
      progress: number;
      retries: number;
      offline: boolean;
      online: boolean;
      url: string | null;
      error: string | null;
    };
  }

  interface Recorded {
    /** The connection badge's states, in order. */
    connection: string[];
    /** Each card's progress bar values, by file name. */
    bars: Record<string, number[]>;
    /** Each card's `page x / y` labels, by file name. */
    pageLabels: Record<string, string[]>;
    stages: Record<string, string[]>;
  }
}
