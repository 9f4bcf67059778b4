// Types of jobd's client module (index.js beside it, the package
// jobd-client; jobd serves both at /jobs-client.js and /jobs-client.d.ts).
// Written by hand; `make test` checks them against types generated from
// /openapi.yaml (tests/http/node/types) and checks that they declare exactly
// what the module exports, so neither can drift.

/** A job's status. */
export type JobStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED";

/** A job as the API returns it. Times are ISO-8601 UTC strings. */
export interface Job {
  /** A ULID: 26 characters, sorted by creation. */
  id: string;
  type: string;
  status: JobStatus;
  payload: unknown;
  /** The handler's result, or null. */
  result: unknown;
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
}

/** What createJob / createJobs take. */
export interface NewJob {
  /** ECHO, FINE_TUNE_EXPORT, PREVIEW_GENERATION, RECAP_GENERATION. */
  type: string;
  /** Checked by the job type's handler; default {}. */
  payload?: unknown;
  /** Default 0; higher runs sooner. */
  priority?: number;
  /** Not run before this time; null or absent: now. */
  scheduledFor?: string | null;
  /** 0..100, default 3. */
  maxRetries?: number;
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
export interface JobFilter {
  status?: JobStatus;
  type?: string;
  /** 1..500, default 50. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

/** A page of jobs, newest first. */
export interface JobPage {
  jobs: Job[];
  /** Pass as cursor for the next page; null at the end. */
  nextCursor: string | null;
}

/** Counts per status. */
export interface StatusCounts {
  PENDING: number;
  PROCESSING: number;
  COMPLETED: number;
  FAILED: number;
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
  /** Open /api/events streams. */
  eventStreams: number;
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

export function createJob(job: NewJob, opts?: RequestOptions): Promise<Job>;
/** Many jobs in one transaction, all or none. */
export function createJobs(jobs: NewJob[], opts?: RequestOptions): Promise<Job[]>;
export function getJob(id: string, opts?: RequestOptions): Promise<Job>;
export function listJobs(filter?: JobFilter, opts?: RequestOptions): Promise<JobPage>;
export function patchJob(id: string, patch: JobPatch, opts?: RequestOptions): Promise<Job>;
export function retryJob(id: string, opts?: RequestOptions): Promise<Job>;
/** Resolves to null (204). */
export function deleteJob(id: string, opts?: RequestOptions): Promise<null>;
export function getStats(opts?: RequestOptions): Promise<Stats>;

export interface WatchOptions {
  /** Milliseconds between polls; default 1000. */
  interval?: number;
  onError?: (err: unknown) => void;
}

/** Polls until the job is finished; returns stop(). */
export function watchJob(id: string, onChange: (job: Job) => void, options?: WatchOptions): () => void;

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

export interface JobState {
  job: Job | null;
  error: unknown;
  loading: boolean;
}

/** The job, polled until finished or unmounted. */
export function useJob(id: string | null | undefined, opts?: HookOptions): JobState;

export interface JobsState {
  jobs: Job[];
  nextCursor: string | null;
  error: unknown;
  loading: boolean;
  refresh: () => void;
}

/** A page of jobs, reloaded every interval (0: once). */
export function useJobs(filter?: JobFilter, opts?: HookOptions & { untilFinished?: boolean }): JobsState;
