// A web page on another origin uses jobd from chromium (CORS), as a
// front end would: it imports /jobs-client.js from jobd, creates a job
// with a bearer token (a preflighted request), reads the job back, and
// opens the event stream. A page of an origin jobd does not list is kept
// out by the browser. Each page comes from a small server of this script
// on loopback, at the port its origin names (a real server: chromium
// treats a page it cannot place on the network as public, and keeps it
// from loopback addresses whatever CORS says).
//   node cors.mjs <jobd url> <cdp url> <allowed origin> <other origin> <token>
// Exits non-zero with a message on the first failure.
import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [base, cdp, allowed, other, token] = process.argv.slice(2);
if (!base || !cdp || !allowed || !other || !token) {
  console.error("usage: node cors.mjs <jobd url> <cdp url> <allowed origin> "
                + "<other origin> <token>");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
}

// Serves the page of `origin` (http://host:port) until the script ends.
function serve(origin) {
  const port = Number(new URL(origin).port);
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end("<!doctype html><title>app</title><p>app</p>");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function pageAt(context, origin) {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  await page.goto(origin + "/");
  return page;
}

const servers = [await serve(allowed), await serve(other)];
const browser = await chromium.connectOverCDP(cdp);
let failed = false;
try {
  const context = browser.contexts()[0] || (await browser.newContext());

  const app = await pageAt(context, allowed);
  check((await app.evaluate(() => location.origin)) === allowed,
        "the app page runs at " + allowed);
  const made = await app.evaluate(async ({ base, token }) => {
    const client = await import(base + "/jobs-client.js");
    client.configure({ baseUrl: base, token });
    const job = await client.createJob({ type: "ECHO", payload: { from: "app" } });
    const again = await client.getJob(job.id);
    // A header the page may only read when jobd exposes it.
    const raw = await fetch(base + "/api/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json",
                 Authorization: "Bearer " + token },
      body: JSON.stringify({ type: "ECHO" }),
    });
    return { id: job.id, status: again.status, type: again.type,
             code: raw.status, location: raw.headers.get("Location") };
  }, { base, token });
  check(typeof made.id === "string" && made.id.length > 0,
        "the imported client created a job through a preflighted request");
  check(made.type === "ECHO" && ["PENDING", "PROCESSING", "COMPLETED"]
          .includes(made.status),
        "the page read the job back (" + made.status + ")");
  check(made.code === 201 && /^\/api\/jobs\//.test(made.location || ""),
        "the page can read the Location header");
  const opened = await app.evaluate(({ base, token }) =>
    new Promise((resolve) => {
      const es = new EventSource(base + "/api/events?token="
                                 + encodeURIComponent(token));
      const timer = setTimeout(() => { es.close(); resolve("timeout"); }, 5000);
      es.onopen = () => { clearTimeout(timer); es.close(); resolve("open"); };
      es.onerror = () => { clearTimeout(timer); es.close(); resolve("error"); };
    }), { base, token });
  check(opened === "open", "the page opened the event stream");

  const stranger = await pageAt(context, other);
  const blocked = await stranger.evaluate(async ({ base, token }) => {
    const out = {};
    try {
      await fetch(base + "/api/jobs", {
        method: "POST",
        headers: { "Content-Type": "application/json",
                   Authorization: "Bearer " + token },
        body: JSON.stringify({ type: "ECHO", payload: { from: "other" } }),
      });
      out.post = "sent";
    } catch (e) {
      out.post = "blocked";
    }
    try {
      await fetch(base + "/api/jobs");
      out.get = "read";
    } catch (e) {
      out.get = "blocked";
    }
    return out;
  }, { base, token });
  check(blocked.post === "blocked", "a page of another origin cannot POST");
  check(blocked.get === "blocked", "nor read the job list");
} catch (e) {
  console.error(e.stack || String(e));
  failed = true;
} finally {
  await browser.close().catch(() => {});
  for (const s of servers) s.close();
}
process.exit(failed ? 1 : 0);
