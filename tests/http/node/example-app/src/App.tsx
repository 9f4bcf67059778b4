// A small React app on the jobd-client package: it starts a fine-tuning
// export, shows its progress and lists recent recaps. Only type-checked
// (tsc --noEmit); it shows what the types give an app written against them.
import * as React from "react";
import {
  configure,
  createJob,
  createJobs,
  isFinished,
  JobsApiError,
  setReact,
  useJob,
  useJobs,
  watchJob,
  type FineTuneSample,
  type Job,
} from "jobd-client";
import { previewJob, recapJob } from "./jobs.js";

configure({ baseUrl: "http://127.0.0.1:8080" });
// The real React satisfies the hooks' ReactLike.
setReact(React);

/** Starts a FINE_TUNE_EXPORT job; its payload is checked against FineTuneExportPayload. */
export function ExportButton(props: { samples: FineTuneSample[]; onStarted: (id: string) => void }) {
  const [error, setError] = React.useState<string | null>(null);
  const start = async () => {
    try {
      const job = await createJob({
        type: "FINE_TUNE_EXPORT",
        payload: { samples: props.samples, exportName: "support-chats" },
      });
      // createJob resolves to a Job<"FINE_TUNE_EXPORT">: its payload is typed.
      const count: number = job.payload.samples.length;
      props.onStarted(job.id);
      setError(count > 0 ? null : "nothing to export");
    } catch (err) {
      setError(err instanceof JobsApiError ? `${err.field ?? ""}: ${err.message}` : String(err));
    }
  };
  return (
    <div>
      <button onClick={start}>Export {props.samples.length} samples</button>
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

/** One export's progress; useJob<"FINE_TUNE_EXPORT"> types its result. */
export function ExportStatus({ id }: { id: string }) {
  const { job, progress, error, loading } = useJob<"FINE_TUNE_EXPORT">(id, { interval: 500 });
  if (loading) return <p>Loading…</p>;
  if (!job) return <p role="alert">{error instanceof Error ? error.message : "not found"}</p>;
  if (job.status === "COMPLETED" && job.result)
    return (
      <p>
        {job.result.sampleCount} samples in <code>{job.result.filePath}</code>
      </p>
    );
  // progress: { fraction: number | null; message: string | null } | null
  const percent: number | null = progress?.fraction != null ? Math.round(progress.fraction * 100) : null;
  return (
    <p>
      {job.status}
      {job.status === "PROCESSING" && progress && (
        <>
          {" "}
          <progress max={1} value={progress.fraction ?? undefined} /> {percent !== null && `${percent}%`} {progress.message}
        </>
      )}
      {job.error && ` (${job.error})`}
    </p>
  );
}

/** Recent recaps: the type filter types the listed jobs. */
export function RecentRecaps() {
  const { jobs, loading, refresh } = useJobs({ type: "RECAP_GENERATION", limit: 10 }, { untilFinished: true });
  return (
    <section>
      <button onClick={refresh} disabled={loading}>
        Reload
      </button>
      <ul>
        {jobs.map((job) => (
          <li key={job.id}>
            {job.payload.prompt.slice(0, 40)}: {job.result ? job.result.content : job.status}
            {job.result && <small> ({job.result.usage.total_tokens} tokens)</small>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Any jobs, untyped: `Job` alone is any job type, as before. */
export function FailedJobs() {
  const { jobs } = useJobs({ status: "FAILED" });
  const first: Job | undefined = jobs[0];
  return <p>{first ? `${first.type}: ${first.error ?? ""}` : "no failures"}</p>;
}

/** Resolves to a recap's text once the job completes (watchJob outside React). */
export function recapText(id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stop = watchJob<"RECAP_GENERATION">(
      id,
      (job) => {
        if (job.status === "COMPLETED" && job.result) resolve(job.result.content);
        else if (job.status === "FAILED") reject(new Error(job.error ?? "failed"));
        if (isFinished(job)) stop();
      },
      { interval: 1000, onError: reject },
    );
  });
}

/** Queues a preview and a recap in one transaction; each result is typed by its position. */
export async function queueChatJobs(): Promise<[string, string]> {
  const [preview, recap] = await createJobs([previewJob, recapJob]);
  const previewModel: string | undefined = preview.result?.model;
  const recapPrompt: string = recap.payload.prompt;
  return [previewModel ?? preview.id, recapPrompt];
}

export function App() {
  const [exportId, setExportId] = React.useState<string | null>(null);
  const samples: FineTuneSample[] = [{ prompt: "Hello?", response: "Hello! How can I help?" }];
  return (
    <main>
      <ExportButton samples={samples} onStarted={setExportId} />
      {exportId && <ExportStatus id={exportId} />}
      <RecentRecaps />
      <FailedJobs />
    </main>
  );
}
