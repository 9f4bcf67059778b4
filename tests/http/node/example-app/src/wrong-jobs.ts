// Jobs the types must refuse. Each sits on its own line under a directive
// that expects an error there and names the one tsc gives, so tsc -p fails
// when any of them stops being an error (an unused directive is an error
// itself). client-package.test.mjs also checks that each directive covers
// the error it names, and sends the jobs to a live jobd, which must refuse
// each with the field given: the types refuse what the handlers refuse.
import { createJob, type Job } from "jobd-client";

export interface WrongJob {
  /** The field jobd names in its 400 answer. */
  field: string;
  create: () => Promise<Job>;
}

export const wrongJobs: WrongJob[] = [
  {
    field: "payload.samples[0].prompt",
    // @ts-expect-error TS2322 a number where FineTuneSample.prompt is a string
    create: () => createJob({ type: "FINE_TUNE_EXPORT", payload: { samples: [{ prompt: 42, response: "r" }] } }),
  },
  {
    field: "payload.exportName",
    // @ts-expect-error TS2322 exportName is a string (or null), not a number
    create: () => createJob({ type: "FINE_TUNE_EXPORT", payload: { samples: [{ prompt: "p", response: "r" }], exportName: 7 } }),
  },
  {
    field: "payload.samples",
    // @ts-expect-error TS2741 samples is required
    create: () => createJob({ type: "FINE_TUNE_EXPORT", payload: { exportName: "x" } }),
  },
  {
    field: "payload.samples",
    // @ts-expect-error TS2345 FINE_TUNE_EXPORT needs a payload
    create: () => createJob({ type: "FINE_TUNE_EXPORT" }),
  },
  {
    field: "payload.samples[0].response",
    // @ts-expect-error TS2741 a sample needs a response
    create: () => createJob({ type: "FINE_TUNE_EXPORT", payload: { samples: [{ prompt: "p" }] } }),
  },
  {
    field: "payload.delayMs",
    // @ts-expect-error TS2322 delayMs is a number
    create: () => createJob({ type: "ECHO", payload: { delayMs: "5" } }),
  },
  {
    field: "payload",
    // @ts-expect-error TS2322 ECHO's payload is an object
    create: () => createJob({ type: "ECHO", payload: "hello" }),
  },
  {
    field: "payload.prompt",
    // @ts-expect-error TS2345 PREVIEW_GENERATION needs a payload with a prompt
    create: () => createJob({ type: "PREVIEW_GENERATION" }),
  },
  {
    field: "payload.prompt",
    // @ts-expect-error TS2322 prompt is a string
    create: () => createJob({ type: "RECAP_GENERATION", payload: { prompt: 1 } }),
  },
  {
    field: "payload.temperature",
    // @ts-expect-error TS2322 temperature is a number
    create: () => createJob({ type: "RECAP_GENERATION", payload: { prompt: "p", temperature: "warm" } }),
  },
  {
    field: "payload.maxTokens",
    // @ts-expect-error TS2322 maxTokens is a number
    create: () => createJob({ type: "PREVIEW_GENERATION", payload: { prompt: "p", maxTokens: "many" } }),
  },
];
