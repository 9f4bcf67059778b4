// One job of each built-in type, typed by the package: each payload is
// checked against its type's (JobPayloads). client-package.test.mjs also
// runs them on a live jobd (the chat types against a fake OpenAI API) and
// checks each result has its type's shape (JobResults).
import type { NewJob } from "jobd-client";

export const echoJob = {
  type: "ECHO",
  payload: { delayMs: 0, note: "any other field comes back in the result" },
} satisfies NewJob<"ECHO">;

export const exportJob = {
  type: "FINE_TUNE_EXPORT",
  payload: {
    samples: [
      { prompt: "What is jobd?", response: "A background job server." },
      { prompt: "Where are exports written?", response: "To export.directory." },
    ],
    exportName: "example-app",
  },
  maxRetries: 2,
} satisfies NewJob<"FINE_TUNE_EXPORT">;

export const previewJob = {
  type: "PREVIEW_GENERATION",
  payload: { prompt: "A short film about a lighthouse keeper", model: null, temperature: 0.9 },
} satisfies NewJob<"PREVIEW_GENERATION">;

export const recapJob = {
  type: "RECAP_GENERATION",
  payload: { prompt: "Minutes of Monday's meeting: ...", model: "recap-model", maxTokens: 200 },
  priority: 5,
} satisfies NewJob<"RECAP_GENERATION">;

/** Every example, for the live test. */
export const exampleJobs = [echoJob, exportJob, previewJob, recapJob];
