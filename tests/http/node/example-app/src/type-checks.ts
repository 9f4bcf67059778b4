// What the types say, checked by tsc: each same<A, B>(true) compiles only
// when A and B are the same type, and each line under a directive that
// expects an error must be refused (with the error it names; see
// client-package.test.mjs). The jobs in wrong-jobs.ts are refused by jobd
// too; the ones here are type-level only.
import {
  createJob,
  createJobs,
  getJob,
  listJobs,
  useJob,
  useJobs,
  watchJob,
  type ChatCompletionResult,
  type EchoPayload,
  type EchoResult,
  type FineTuneExportPayload,
  type FineTuneExportResult,
  type Job,
  type JobType,
  type NewJob,
  type PayloadOf,
  type PreviewGenerationResult,
  type RecapGenerationPayload,
  type RecapGenerationResult,
  type ResultOf,
} from "jobd-client";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function same<A, B>(ok: Same<A, B>): void {
  void ok;
}

// -- the type maps ---------------------------------------------------------------
same<JobType, "ECHO" | "FINE_TUNE_EXPORT" | "PREVIEW_GENERATION" | "RECAP_GENERATION">(true);
same<PayloadOf<"FINE_TUNE_EXPORT">, FineTuneExportPayload>(true);
same<ResultOf<"FINE_TUNE_EXPORT">, FineTuneExportResult>(true);
same<ResultOf<"PREVIEW_GENERATION">, PreviewGenerationResult>(true);
same<PreviewGenerationResult, ChatCompletionResult>(true);
same<ResultOf<"ECHO">, EchoPayload>(true);
same<PayloadOf<"NOT_A_TYPE">, unknown>(true);

// -- Job: typed with a type argument, as before without ----------------------------
same<Job["type"], string>(true);
same<Job["payload"], unknown>(true);
same<Job["result"], unknown>(true);
same<Job<"ECHO">["result"], EchoResult | null>(true);
same<Job<"RECAP_GENERATION">["payload"], RecapGenerationPayload>(true);
same<Job<"RECAP_GENERATION">["result"], RecapGenerationResult | null>(true);
// A type-specific job is a Job.
export const anyJob = (job: Job<"FINE_TUNE_EXPORT">): Job => job;

// -- what the functions infer ------------------------------------------------------
export async function inferred(id: string) {
  same<Awaited<ReturnType<typeof createJob<"RECAP_GENERATION">>>, Job<"RECAP_GENERATION">>(true);
  const echo = await createJob({ type: "ECHO" }); // ECHO's payload is optional (default {})
  same<typeof echo, Job<"ECHO">>(true);
  const any = await createJob({ type: "NOT_BUILT_IN", payload: 42 }); // other types: any payload
  same<typeof any, Job<"NOT_BUILT_IN">>(true);
  same<typeof any.payload, unknown>(true);
  const dynamicType: string = "ECHO";
  const untyped: NewJob = { type: dynamicType, payload: [1, 2] };
  same<typeof untyped.payload, unknown>(true);
  same<Awaited<ReturnType<typeof createJob<string>>>, Job>(true);
  await createJob(untyped);
  const [a, b] = await createJobs([{ type: "ECHO" }, { type: "FINE_TUNE_EXPORT", payload: { samples: [] } }]);
  same<typeof a, Job<"ECHO">>(true);
  same<typeof b, Job<"FINE_TUNE_EXPORT">>(true);
  same<Awaited<ReturnType<typeof getJob>>, Job>(true);
  const typed = await getJob<"FINE_TUNE_EXPORT">(id);
  same<typeof typed.result, FineTuneExportResult | null>(true);
  const page = await listJobs({ type: "PREVIEW_GENERATION", status: "COMPLETED" });
  same<typeof page.jobs, Job<"PREVIEW_GENERATION">[]>(true);
  const all = await listJobs();
  same<typeof all.jobs, Job[]>(true);
  watchJob<"ECHO">(id, (job) => same<typeof job.result, EchoResult | null>(true));
  return [a, b];
}

export function Hooks({ id }: { id: string }) {
  const one = useJob<"RECAP_GENERATION">(id);
  same<typeof one.job, Job<"RECAP_GENERATION"> | null>(true);
  const untyped = useJob(id);
  same<typeof untyped.job, Job | null>(true);
  const list = useJobs({ type: "FINE_TUNE_EXPORT" });
  same<typeof list.jobs, Job<"FINE_TUNE_EXPORT">[]>(true);
  return null;
}

// -- what must not compile -------------------------------------------------------
export async function refused(id: string) {
  // @ts-expect-error TS2561 a typo the handler would silently ignore ("did you mean maxTokens?")
  await createJob({ type: "RECAP_GENERATION", payload: { prompt: "p", max_tokens: 100 } });
  // @ts-expect-error TS2322 the declared result type does not loosen the payload check
  const p: Promise<Job> = createJob({ type: "FINE_TUNE_EXPORT", payload: { samples: [{ prompt: 1, response: "r" }] } });
  // @ts-expect-error TS2322 nor does a declared batch result
  const q: Promise<Job[]> = createJobs([{ type: "ECHO", payload: { fail: "yes" } }]);
  const job = await getJob(id);
  // @ts-expect-error TS18046 an untyped job's payload is unknown
  void job.payload.samples;
  const typed = await getJob<"FINE_TUNE_EXPORT">(id);
  // @ts-expect-error TS18047 the result is null until the job completes
  void typed.result.fileName;
  // @ts-expect-error TS2339 FINE_TUNE_EXPORT's result has no content (that is the chat types')
  void typed.result?.content;
  // @ts-expect-error TS2322 the app's own type is checked like a built-in one (custom-type.ts)
  await createJob({ type: "THUMBNAIL", payload: { url: 1 } });
  return [p, q];
}
