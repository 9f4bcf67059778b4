// Types of jobd's client module (index.js beside it, the package
// jobd-client; jobd serves both at /jobs-client.js and /jobs-client.d.ts).
// Written by hand; `make test` checks them against types generated from
// /openapi.yaml (tests/http/node/types), checks that they declare exactly
// what the module exports, and type-checks an example app against them
// (tests/http/node/example-app), so none of them can drift.

/** A job's status. */
export type JobStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "CANCELLED";

/** The statuses a unique key may be held in (not CANCELLED). */
export type UniqueStatus = Exclude<JobStatus, "CANCELLED">;

// -- job types: what each takes and returns ------------------------------------
// The payloads say what the handlers accept (handlers/*.cpp); jobd checks a
// payload before storing the job and refuses it with the field named.

/**
 * ECHO's payload: any JSON object. It completes with the payload as its
 * result, after `delayMs`, or fails when asked to.
 */
export interface EchoPayload {
  /** Wait this long first: whole milliseconds, 0..3600000; default 0. */
  delayMs?: number;
  /** Fail instead of completing; default false. */
  fail?: boolean;
  /** With `fail`: fail for good, no retries; default false. */
  permanent?: boolean;
  /** With `fail`: the job's error; default "ECHO asked to fail". */
  error?: string;
  /** Any other field is kept, and comes back in the result. */
  [field: string]: unknown;
}

/** ECHO's result: its payload as sent. */
export type EchoResult = EchoPayload;

/** One fine-tuning example: a user message and the answer to learn. */
export interface FineTuneSample {
  /** The user's message. */
  prompt: string;
  /** The assistant's answer. */
  response: string;
}

/**
 * FINE_TUNE_EXPORT's payload. The job writes OpenAI's chat fine-tuning
 * JSONL, one `{"messages": [system?, user, assistant]}` line per sample, to
 * a file in the server's export.directory (the system message is
 * export.system_prompt, if set).
 */
export interface FineTuneExportPayload {
  /** At least one sample (an empty array is refused). */
  samples: FineTuneSample[];
  /**
   * The file's name; ".jsonl" is added unless it ends so. A plain name of
   * at most 100 bytes: no "/" or "\", no "..", not starting with ".", no
   * control or invisible formatting characters. null or absent:
   * "export-<job id>.jsonl".
   */
  exportName?: string | null;
}

/** FINE_TUNE_EXPORT's result: the file written. */
export interface FineTuneExportResult {
  /** The file's name, ending in ".jsonl". */
  fileName: string;
  /** Its absolute path on the server. */
  filePath: string;
  /** Lines written: one per sample. */
  sampleCount: number;
}

/**
 * What PREVIEW_GENERATION and RECAP_GENERATION take: one chat completion
 * from the OpenAI-compatible API at openai.base_url. Other fields are
 * ignored. null or absent optional fields take the type's settings
 * ([preview] or [recap] in the config).
 */
export interface ChatCompletionPayload {
  /** The user's message; must not be empty. */
  prompt: string;
  /** A model id such as "gpt-4o-mini" (not empty); default: the section's model, else openai.model. */
  model?: string | null;
  /** 0..2; default: the section's temperature (preview 0.7, recap 0.3). */
  temperature?: number | null;
  /** A whole number 1..128000; default: the section's max_tokens (preview 512, recap 1024). */
  maxTokens?: number | null;
}

/** Tokens the API reported for a completion; all 0 when it reported none. */
export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What PREVIEW_GENERATION and RECAP_GENERATION return. */
export interface ChatCompletionResult {
  /** The payload's prompt. */
  prompt: string;
  /** The completion's text. */
  content: string;
  /** The model that answered (as the API named it, else the one asked for). */
  model: string;
  usage: ChatCompletionUsage;
}

/** PREVIEW_GENERATION's payload: a description of the content to preview. */
export type PreviewGenerationPayload = ChatCompletionPayload;
/** PREVIEW_GENERATION's result: the preview is `content`. */
export type PreviewGenerationResult = ChatCompletionResult;
/** RECAP_GENERATION's payload: the text to recap. */
export type RecapGenerationPayload = ChatCompletionPayload;
/** RECAP_GENERATION's result: the recap is `content`. */
export type RecapGenerationResult = ChatCompletionResult;

/**
 * Each job type's payload, by type name. An interface, so a project can
 * add its own types by declaration merging:
 *   declare module "jobd-client" { interface JobPayloads { MY_TYPE: {...} } }
 */
export interface JobPayloads {
  ECHO: EchoPayload;
  FINE_TUNE_EXPORT: FineTuneExportPayload;
  PREVIEW_GENERATION: PreviewGenerationPayload;
  RECAP_GENERATION: RecapGenerationPayload;
}

/** Each job type's result, by type name (merge into it like JobPayloads). */
export interface JobResults {
  ECHO: EchoResult;
  FINE_TUNE_EXPORT: FineTuneExportResult;
  PREVIEW_GENERATION: PreviewGenerationResult;
  RECAP_GENERATION: RecapGenerationResult;
}

/** The job types built into jobd. */
export type JobType = "ECHO" | "FINE_TUNE_EXPORT" | "PREVIEW_GENERATION" | "RECAP_GENERATION";

/**
 * A job type's name: one in JobPayloads (editors suggest these) or any
 * other string, whose payload and result are then `unknown`.
 */
export type JobTypeName = Extract<keyof JobPayloads, string> | (string & {});

/** The payload of a job of type T; unknown for a type JobPayloads lacks. */
export type PayloadOf<T extends string> = T extends keyof JobPayloads ? JobPayloads[T] : unknown;

/** The result of a job of type T; unknown for a type JobResults lacks. */
export type ResultOf<T extends string> = T extends keyof JobResults ? JobResults[T] : unknown;

/**
 * How far a running job is, as its handler last reported (stored at most
 * about once a second). A finished job keeps its last attempt's.
 */
export interface JobProgress {
  /** Done so far, 0..1; null when the handler does not know the total. */
  fraction: number | null;
  /** What the handler says ("120 of 300 samples written"), or null. */
  message: string | null;
  /** When it was stored. */
  updatedAt: string;
}

/**
 * A job as the API returns it. Times are ISO-8601 UTC strings. `Job` alone
 * is any job (payload and result unknown); `Job<"FINE_TUNE_EXPORT">` is one
 * of that type, its payload and result typed. Naming T is a claim about the
 * job, as a cast is: the client does not check it.
 */
export interface Job<T extends string = string> {
  /** A ULID: 26 characters, sorted by creation. */
  id: string;
  type: T;
  status: JobStatus;
  /** The payload as sent. */
  payload: PayloadOf<T>;
  /**
   * The handler's result once COMPLETED, else null. (A PATCH may store any
   * JSON here; the type assumes the handler's.)
   */
  result: ResultOf<T> | null;
  /** The last error, or null. */
  error: string | null;
  retryCount: number;
  maxRetries: number;
  /** Higher runs sooner. */
  priority: number;
  scheduledFor: string | null;
  startedAt: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Claims so far (the fencing token). */
  attempt: number;
  /** The worker holding the job, or null. */
  lockedBy: string | null;
  leaseExpiresAt: string | null;
  /** The job's unique key, or null (see NewJob.uniqueKey). */
  uniqueKey: string | null;
  /** The statuses in which it holds its key; null without a key. */
  uniqueStates: JobStatus[] | null;
  /** The end of the key's period; null without a period. */
  uniqueUntil: string | null;
  /** The job's own attempt timeout in ms; null for its type's default. */
  timeoutMs: number | null;
  /** How far the current (or last) attempt got; null until it reports. */
  progress: JobProgress | null;
  /**
   * Only in createJob / createJobs replies: true when this is an existing
   * job returned in place of a new one with the same unique key.
   */
  duplicate?: boolean;
}

/**
 * NewJob's payload field for type T: required when the type's payload has
 * required fields, optional (default {}) otherwise; unknown for other types.
 */
export type NewJobPayload<T extends string> = T extends keyof JobPayloads
  ? {} extends JobPayloads[T]
    ? { payload?: JobPayloads[T] }
    : { payload: JobPayloads[T] }
  : { payload?: unknown };

/**
 * What createJob / createJobs take. With a known type the payload is
 * checked against it (JobPayloads); `NewJob` alone takes any type and
 * payload.
 */
export type NewJob<T extends string = string> = NewJobFields<T> & NewJobPayload<T>;

/** NewJob's fields other than payload. */
export interface NewJobFields<T extends string = string> {
  /** A registered job type: ECHO, FINE_TUNE_EXPORT, PREVIEW_GENERATION, RECAP_GENERATION. */
  type: T;
  /** Default 0; higher runs sooner. */
  priority?: number;
  /** Not run before this time; null or absent: now. */
  scheduledFor?: string | null;
  /** 0..100, default 3. */
  maxRetries?: number;
  /**
   * Idempotency: while a job with this key holds it (is in one of its
   * uniqueStates, within the same period), creating another returns that
   * job with duplicate: true. 1..255 bytes, no control characters.
   */
  uniqueKey?: string | null;
  /** Must include PENDING and PROCESSING; default all four. Needs uniqueKey. */
  uniqueStates?: JobStatus[] | null;
  /** The key is held only within periods of this many ms from the epoch. Needs uniqueKey. */
  uniquePeriodMs?: number | null;
  /**
   * How long one attempt may run (1..604800000 ms); past it the attempt
   * fails, retryably. Null or absent: the type's default.
   */
  timeoutMs?: number | null;
}

/** What cancelJob may say: who and why (shown in the job's error). */
export interface CancelRequest {
  /** At most 500 bytes. */
  reason?: string | null;
  /** At most 100 bytes. */
  by?: string | null;
}

/** What bulkJobs acts on: one action and the jobs it applies to. */
export interface BulkRequest<T extends string = string> {
  action: "retry" | "cancel" | "delete";
  /**
   * Only jobs in this status, one the action applies to; absent: all it
   * applies to (retry: FAILED; cancel: PENDING and PROCESSING; delete:
   * COMPLETED, FAILED, CANCELLED).
   */
  status?: JobStatus;
  /** Only jobs of this type. */
  type?: T | null;
  /** delete only: only jobs that finished before this time (ISO-8601). */
  finishedBefore?: string | null;
  /** The most jobs to act on: 1..10000, default 1000. */
  max?: number;
  /** cancel only: why (at most 500 bytes). */
  reason?: string | null;
  /** cancel only: who (at most 100 bytes). */
  by?: string | null;
}

/** bulkJobs' answer. */
export interface BulkResult {
  action: "retry" | "cancel" | "delete";
  /** Jobs that matched and were acted on (at most max). */
  matched: number;
  /** Of those, how many were retried, cancelled or deleted. */
  changed: number;
  /** Of those, how many were left as they were (a unique key taken, or changed meanwhile). */
  skipped: number;
  /** More jobs match than max allowed: call again for the rest. */
  more: boolean;
}

/** What patchJob takes: at least one field. */
export interface JobPatch {
  status?: JobStatus;
  priority?: number;
  scheduledFor?: string | null;
  maxRetries?: number;
  /** Any JSON; null clears it. */
  result?: unknown;
  error?: string | null;
}

/** listJobs' filter. */
export interface JobFilter<T extends string = string> {
  status?: JobStatus;
  /** Only jobs of this type (which types the page's jobs then have). */
  type?: T;
  /** 1..500, default 50. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
  /**
   * Search: an id prefix (any case; all jobs), or text in the payload or
   * error (exact; the newest 10,000 jobs). At most 200 bytes.
   */
  q?: string;
}

/** A page of jobs, newest first. */
export interface JobPage<T extends string = string> {
  jobs: Job<T>[];
  /** Pass as cursor for the next page; null at the end. */
  nextCursor: string | null;
}

/** Counts per status. */
export interface StatusCounts {
  PENDING: number;
  PROCESSING: number;
  COMPLETED: number;
  FAILED: number;
  CANCELLED: number;
}

/** getStats' answer. */
export interface Stats {
  total: number;
  byStatus: StatusCounts;
  byType: { [type: string]: StatusCounts & { total: number } };
  throughput: {
    bucketSeconds: number;
    completedLastMinute: number;
    failedLastMinute: number;
    /** Average over 5 minutes. */
    completedPerMinute: number;
    buckets: { start: string; completed: number; failed: number }[];
  };
  /** The paused job types, by name. */
  paused: TypePause[];
  /** Open /api/events streams. */
  eventStreams: number;
}

/** A paused job type (pauseType, getStats().paused). */
export interface TypePause {
  type: string;
  paused: true;
  pausedAt: string;
  /** Who and why: "paused by <by>: <reason>". */
  note: string;
}

/** resumeType's answer. */
export interface TypeResumed {
  type: string;
  paused: false;
  /** Whether it was paused. */
  wasPaused: boolean;
}

/** A recurring schedule (putSchedule, listSchedules). */
export interface Schedule {
  name: string;
  /** Five cron fields or an alias such as @daily. */
  cron: string;
  /** IANA time zone the fields are read in. */
  timeZone: string;
  type: string;
  payload: Record<string, unknown>;
  priority: number;
  maxRetries: number;
  /** Runs found late: skip (at most a minute late) or catch_up (within catchUpMs). */
  missed: "skip" | "catch_up";
  catchUpMs: number;
  paused: boolean;
  /** A [schedule.NAME] section of the config file, or the API/CLI. */
  source: "config" | "api";
  createdAt: string;
  updatedAt: string;
  /** The latest cron run created (runs by hand do not count). */
  lastRunAt: string | null;
  /** The job of the latest run, by cron or by hand. */
  lastJobId: string | null;
  /** The next cron run (null while paused). */
  nextRunAt: string | null;
}

/** putSchedule's definition. */
export interface ScheduleDefinition {
  cron: string;
  type: string;
  payload?: Record<string, unknown>;
  timeZone?: string;
  priority?: number;
  maxRetries?: number;
  missed?: "skip" | "catch_up";
  catchUpMs?: number;
}

/** error.code of an API error. */
export type ErrorCode =
  | "bad_json"
  | "invalid_field"
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "body_too_large"
  | "unsupported_media_type"
  | "header_too_large"
  | "internal"
  | "busy"
  | "unavailable"
  | "shutting_down"
  | "timeout"
  | "storage_full"
  | "too_many_connections";

/** The body of every API error. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** The offending field's path; "" for the body as a whole. */
    field?: string;
  };
}

/** What API calls reject with when the server answers an error. */
export declare class JobsApiError extends Error {
  constructor(status: number, body: ErrorBody | null);
  name: "JobsApiError";
  /** The HTTP status. */
  status: number;
  /** error.code, or "http_<status>" when the body had none. */
  code: ErrorCode | `http_${number}`;
  field: string | undefined;
}

export interface ClientOptions {
  /** "" (the default) means the page's own origin. */
  baseUrl?: string;
  /** Sent as "Authorization: Bearer <token>". */
  token?: string | null;
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch | null;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export function configure(options?: ClientOptions): void;

/** True when a job will not change any more by itself. */
export function isFinished(job: Job | null | undefined): boolean;

/** Jobs of the given types, position by position: JobsOf<["ECHO", "RECAP_GENERATION"]>. */
export type JobsOf<T extends string[]> = { [I in keyof T]: Job<T[I]> };

/**
 * Enqueues one job; its payload is checked against its type's, and it
 * resolves to a Job of that type. (NoInfer: a declared result type such as
 * Promise<Job> cannot loosen the check.)
 */
export function createJob<T extends JobTypeName>(job: NewJob<T>, opts?: RequestOptions): Promise<Job<NoInfer<T>>>;
/** Many jobs in one transaction, all or none; each payload checked against its type's. */
export function createJobs<T extends JobTypeName[]>(
  jobs: [...{ [I in keyof T]: NewJob<T[I]> }],
  opts?: RequestOptions,
): Promise<JobsOf<NoInfer<T>>>;
/** The job; getJob<"ECHO">(id) types its payload and result. */
export function getJob<T extends JobTypeName = string>(id: string, opts?: RequestOptions): Promise<Job<T>>;
/** A page of jobs; with filter.type the jobs are of that type. */
export function listJobs<T extends JobTypeName = string>(filter?: JobFilter<T>, opts?: RequestOptions): Promise<JobPage<T>>;
export function patchJob<T extends JobTypeName = string>(id: string, patch: JobPatch, opts?: RequestOptions): Promise<Job<T>>;
export function retryJob<T extends JobTypeName = string>(id: string, opts?: RequestOptions): Promise<Job<T>>;
/**
 * Cancels a PENDING or PROCESSING job: it resolves to the job, CANCELLED
 * (a running handler is told to stop). A finished job rejects with 409.
 */
/** How an attempt ended (running: not yet). */
export type AttemptOutcome = "running" | "completed" | "failed" | "lease_expired" | "released" | "cancelled";

/** One attempt of a job. */
export interface Attempt {
  /** 1, 2, ...: the job's fencing token while it ran. */
  attempt: number;
  /** The worker that claimed it; null when unknown. */
  worker: string | null;
  startedAt: string | null;
  /** Null while it runs. */
  endedAt: string | null;
  outcome: AttemptOutcome;
  /** Why it ended, if not completed by its handler; else null. */
  error: string | null;
}

/** A job's attempts, oldest first (the newest 100). */
export interface AttemptHistory {
  jobId: string;
  attempts: Attempt[];
  /** Older attempts exist than those listed. */
  truncated: boolean;
}

/** A job's attempts: who ran each, when, and how it ended. */
export function getJobAttempts(id: string, opts?: RequestOptions): Promise<AttemptHistory>;

/** An external worker (one running jobs over /api/worker/*) as last seen. */
export interface Worker {
  /** The worker id its calls carry. */
  id: string;
  /** The host its fetch named, else the address it called from; null before its first fetch. */
  host: string | null;
  /** The types its last fetch asked for. */
  types: string[];
  firstSeenAt: string;
  /** Its latest call, to within 5 s. */
  lastSeenAt: string;
  /** Seen within the last 30 s, or holding a job. */
  online: boolean;
  /** The ids of the jobs it holds now, oldest claim first (at most 100). */
  jobs: string[];
}

/** The external workers seen in the last day, most recently seen first. */
export interface WorkerList {
  workers: Worker[];
  /** The database's time the list was read at. */
  asOf: string;
  /** More workers were seen than the 500 listed. */
  truncated: boolean;
}

/** The external workers seen in the last day, with the jobs each holds. */
export function listWorkers(opts?: RequestOptions): Promise<WorkerList>;

export function cancelJob<T extends JobTypeName = string>(id: string, request?: CancelRequest, opts?: RequestOptions): Promise<Job<T>>;
/**
 * Retries, cancels or deletes every job matching a filter, newest first,
 * at most max (default 1000); more: call again for the rest. A bad field
 * rejects with a JobsApiError naming it (status for a retry of PENDING).
 */
export function bulkJobs(request: BulkRequest, opts?: RequestOptions): Promise<BulkResult>;
/** Resolves to null (204). */
export function deleteJob(id: string, opts?: RequestOptions): Promise<null>;
export function getStats(opts?: RequestOptions): Promise<Stats>;
/**
 * Pauses a job type for every worker process: its jobs wait as PENDING
 * (they can still be created) until resumeType; running ones finish.
 */
export function pauseType(type: JobTypeName, request?: CancelRequest, opts?: RequestOptions): Promise<TypePause>;
/** Resumes a paused job type; its due jobs run at once. */
export function resumeType(type: JobTypeName, opts?: RequestOptions): Promise<TypeResumed>;

/** Every schedule, by name. */
export function listSchedules(opts?: RequestOptions): Promise<{ schedules: Schedule[] }>;
export function getSchedule(name: string, opts?: RequestOptions): Promise<Schedule>;
/** Creates or redefines a schedule (keeping its pause and last run). */
export function putSchedule(name: string, definition: ScheduleDefinition, opts?: RequestOptions): Promise<Schedule>;
/** Resolves to null (204); the jobs its runs created stay. */
export function deleteSchedule(name: string, opts?: RequestOptions): Promise<null>;
export function pauseSchedule(name: string, opts?: RequestOptions): Promise<Schedule>;
export function resumeSchedule(name: string, opts?: RequestOptions): Promise<Schedule>;
/** Runs the schedule now (paused or not); resolves to the job created. */
export function runSchedule<T extends JobTypeName = string>(name: string, opts?: RequestOptions): Promise<Job<T>>;

export interface WatchOptions {
  /** Milliseconds between polls; default 1000. */
  interval?: number;
  onError?: (err: unknown) => void;
}

/** Polls until the job is finished; returns stop(). watchJob<"ECHO">(...) types the job. */
export function watchJob<T extends JobTypeName = string>(
  id: string,
  onChange: (job: Job<T>) => void,
  options?: WatchOptions,
): () => void;

export interface EventHandlers {
  onJob?: (job: Job) => void;
  onDeleted?: (id: string) => void;
  /** Changes were missed (the server fell behind): reload what you show. */
  onReset?: () => void;
  onOpen?: () => void;
  onError?: (err: Event) => void;
}

/** Live changes over Server-Sent Events; returns close(), or null without EventSource. */
export function subscribe(handlers?: EventHandlers): (() => void) | null;

/** The part of React the hooks use. */
export interface ReactLike {
  useState<S>(initial: S | (() => S)): [S, (next: S | ((prev: S) => S)) => void];
  useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
  useCallback<F extends (...args: never[]) => unknown>(fn: F, deps: readonly unknown[]): F;
}

export function setReact(React: ReactLike): void;

export interface HookOptions {
  /** Milliseconds between polls. */
  interval?: number;
  React?: ReactLike;
}

export interface JobState<T extends string = string> {
  job: Job<T> | null;
  error: unknown;
  loading: boolean;
  /** job.progress: how far it is, null until its handler reports. */
  progress: JobProgress | null;
  /** Cancels the job (cancelJob); the state shows it CANCELLED at once. */
  cancel: (request?: CancelRequest) => Promise<Job<T>>;
}

/** The job, polled until finished or unmounted; useJob<"ECHO">(id) types it. */
export function useJob<T extends JobTypeName = string>(id: string | null | undefined, opts?: HookOptions): JobState<T>;

export interface JobsState<T extends string = string> {
  jobs: Job<T>[];
  nextCursor: string | null;
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

/** A page of jobs, reloaded every interval (0: once); with filter.type the jobs are of that type. */
export function useJobs<T extends JobTypeName = string>(
  filter?: JobFilter<T>,
  opts?: HookOptions & { untilFinished?: boolean },
): JobsState<T>;

export interface AttemptsState {
  attempts: Attempt[];
  truncated: boolean;
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

/** A job's attempts, reloaded every interval (default 2000 ms; 0: once) until the job is finished. */
export function useJobAttempts(id: string | null | undefined, opts?: HookOptions): AttemptsState;

export interface SchedulesState {
  schedules: Schedule[];
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

/** The schedules, reloaded every interval (default 5000 ms; 0: once). */
export function useSchedules(opts?: HookOptions): SchedulesState;
