// A job type of the app's own (should jobd run one): declaration merging
// adds it to the package's type maps, and createJob, Job<"THUMBNAIL"> and
// the hooks type it like a built-in one.
import { createJob } from "jobd-client";

declare module "jobd-client" {
  interface JobPayloads {
    THUMBNAIL: { url: string; width?: number };
  }
  interface JobResults {
    THUMBNAIL: { thumbnailUrl: string };
  }
}

export async function thumbnail(url: string): Promise<string | undefined> {
  const job = await createJob({ type: "THUMBNAIL", payload: { url, width: 320 } });
  return job.result?.thumbnailUrl;
}
