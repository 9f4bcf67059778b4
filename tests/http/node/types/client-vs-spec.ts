// The client module's hand-written types (http/client/index.d.ts)
// must say what http/openapi.yaml says: each line below fails to compile
// when a type or a function's parameter or result differs from what
// openapi-typescript generates from the spec (../generated/openapi.d.ts).
import type { components, operations } from "../generated/openapi.js";
import type * as client from "../../../../http/client/index.js";

type Schemas = components["schemas"];

// True when each type is assignable to the other (the same values).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compiles only for `true`: the failure names the two types.
function same<A, B>(ok: Same<A, B>): void {
  void ok;
}

type JsonBody<Op> = Op extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type JsonResponse<Op, S extends number> = Op extends {
  responses: { [K in S]: { content: { "application/json": infer R } } };
}
  ? R
  : never;
type Result<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

// -- the types ----------------------------------------------------------------
same<client.JobStatus, Schemas["Status"]>(true);
same<client.Job, Schemas["Job"]>(true);
same<client.NewJob, Schemas["NewJob"]>(true);
same<client.JobPatch, Schemas["JobPatch"]>(true);
same<client.JobPage, Schemas["JobPage"]>(true);
same<client.Stats, Schemas["Stats"]>(true);
same<client.ErrorBody, Schemas["Error"]>(true);
same<client.ErrorCode, Schemas["Error"]["error"]["code"]>(true);
same<client.JobFilter, NonNullable<operations["listJobs"]["parameters"]["query"]>>(true);

// -- the functions: what each sends and what it resolves to -------------------
same<Parameters<typeof client.createJob>[0], Extract<JsonBody<operations["createJob"]>, { type: string }>>(true);
// The client never sends Prefer: return=minimal, so it gets whole jobs.
same<Result<typeof client.createJob>, Extract<JsonResponse<operations["createJob"], 201>, { id: string; type: string }>>(true);
same<{ jobs: Parameters<typeof client.createJobs>[0] }, JsonBody<operations["createJobBatch"]>>(true);
same<{ jobs: Result<typeof client.createJobs> }, Exclude<JsonResponse<operations["createJobBatch"], 201>, Schemas["JobIds"]>>(true);
same<Parameters<typeof client.getJob>[0], operations["getJob"]["parameters"]["path"]["id"]>(true);
same<Result<typeof client.getJob>, JsonResponse<operations["getJob"], 200>>(true);
same<Parameters<typeof client.listJobs>[0], operations["listJobs"]["parameters"]["query"]>(true);
same<Result<typeof client.listJobs>, JsonResponse<operations["listJobs"], 200>>(true);
same<Parameters<typeof client.patchJob>[0], operations["patchJob"]["parameters"]["path"]["id"]>(true);
same<Parameters<typeof client.patchJob>[1], JsonBody<operations["patchJob"]>>(true);
same<Result<typeof client.patchJob>, JsonResponse<operations["patchJob"], 200>>(true);
same<Parameters<typeof client.retryJob>[0], operations["retryJob"]["parameters"]["path"]["id"]>(true);
same<Result<typeof client.retryJob>, JsonResponse<operations["retryJob"], 200>>(true);
same<client.Attempt, Schemas["Attempt"]>(true);
same<client.AttemptHistory, Schemas["AttemptHistory"]>(true);
same<Parameters<typeof client.getJobAttempts>[0], operations["getJobAttempts"]["parameters"]["path"]["id"]>(true);
same<Result<typeof client.getJobAttempts>, JsonResponse<operations["getJobAttempts"], 200>>(true);
same<Parameters<typeof client.cancelJob>[0], operations["cancelJob"]["parameters"]["path"]["id"]>(true);
// The body is optional: requestBody?.
same<NonNullable<Parameters<typeof client.cancelJob>[1]>, NonNullable<operations["cancelJob"]["requestBody"]>["content"]["application/json"]>(true);
same<Result<typeof client.cancelJob>, JsonResponse<operations["cancelJob"], 200>>(true);
same<Parameters<typeof client.deleteJob>[0], operations["deleteJob"]["parameters"]["path"]["id"]>(true);
// 204 has no body: the client resolves to null.
same<NonNullable<operations["deleteJob"]["responses"][204]["content"]>, never>(true);
same<Result<typeof client.deleteJob>, null>(true);
same<Result<typeof client.getStats>, JsonResponse<operations["getStats"], 200>>(true);
same<client.TypePause, Schemas["TypePause"]>(true);
same<NonNullable<Parameters<typeof client.pauseType>[1]>, NonNullable<operations["pauseType"]["requestBody"]>["content"]["application/json"]>(true);
same<Result<typeof client.pauseType>, JsonResponse<operations["pauseType"], 200>>(true);
same<Result<typeof client.resumeType>, JsonResponse<operations["resumeType"], 200>>(true);
same<client.BulkRequest, Schemas["BulkRequest"]>(true);
same<client.BulkResult, Schemas["BulkResult"]>(true);
same<Parameters<typeof client.bulkJobs>[0], JsonBody<operations["bulkJobs"]>>(true);
same<Result<typeof client.bulkJobs>, JsonResponse<operations["bulkJobs"], 200>>(true);
same<client.Schedule, Schemas["Schedule"]>(true);
same<client.ScheduleDefinition, NonNullable<operations["putSchedule"]["requestBody"]>["content"]["application/json"]>(true);
same<Result<typeof client.listSchedules>, JsonResponse<operations["listSchedules"], 200>>(true);
same<client.Worker, Schemas["Worker"]>(true);
same<client.WorkerList, Schemas["WorkerList"]>(true);
same<Result<typeof client.listWorkers>, JsonResponse<operations["listWorkers"], 200>>(true);
same<Result<typeof client.getSchedule>, JsonResponse<operations["getSchedule"], 200>>(true);
same<Result<typeof client.putSchedule>, JsonResponse<operations["putSchedule"], 200>>(true);
same<Result<typeof client.putSchedule>, JsonResponse<operations["putSchedule"], 201>>(true);
same<Result<typeof client.deleteSchedule>, null>(true);
same<Result<typeof client.pauseSchedule>, JsonResponse<operations["pauseSchedule"], 200>>(true);
same<Result<typeof client.resumeSchedule>, JsonResponse<operations["resumeSchedule"], 200>>(true);
same<Result<typeof client.runSchedule>, JsonResponse<operations["runSchedule"], 201>>(true);

// Errors: JobsApiError carries the Error body's code and field.
same<client.JobsApiError["field"], Schemas["Error"]["error"]["field"]>(true);
same<Extract<client.JobsApiError["code"], client.ErrorCode>, Schemas["Error"]["error"]["code"]>(true);
