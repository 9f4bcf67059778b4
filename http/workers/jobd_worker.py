"""A jobd worker in Python (standard library only): runs the jobs of types
declared `handler = external` through jobd's worker protocol
(POST /api/worker/fetch, heartbeat, complete, fail; README "Workers in any
language").

    from jobd_worker import Worker, Permanent, Retry

    def send_sms(payload, job):
        if not payload["to"].startswith("+"):
            raise Permanent("not a phone number")     # FAILED at once
        ...                                             # any other exception: retried
        return {"sid": "SM1"}                           # the job's result

    Worker("http://127.0.0.1:8080", token="...").run({"SEND_SMS": send_sms})

run() fetches with a long poll, runs up to `concurrency` jobs at once in
threads, renews their leases every lease/3 and reports each outcome. A job
lost at a heartbeat (cancelled, or its lease taken) has job["cancelled"]
set (a threading.Event) and its outcome is not sent. stop(), SIGTERM or
SIGINT ends fetching; run() returns once the running jobs are reported.
"""
import json, os, signal, socket, sys, threading, urllib.error, urllib.request


class Permanent(Exception):
    """The job cannot succeed: it fails at once, without retries."""


class Retry(Exception):
    """Retry the job, no sooner than retry_after_ms."""
    def __init__(self, message, retry_after_ms=0):
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class Worker:
    def __init__(self, url, token=None, worker_id=None, concurrency=1,
                 wait_ms=5000, lease_ms=30000):
        self.url, self.token = url.rstrip("/"), token
        self.id = worker_id or "%s:%d" % (socket.gethostname(), os.getpid())
        self.concurrency, self.wait_ms, self.lease_ms = concurrency, wait_ms, lease_ms
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running = {}  # job id -> job (with its "cancelled" Event)

    def call(self, op, body):
        req = urllib.request.Request(
            self.url + "/api/worker/" + op, json.dumps(body).encode(),
            {"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.wait_ms / 1000 + 30) as res:
                return json.load(res)
        except urllib.error.HTTPError as e:
            if e.code == 409:  # the attempt is no longer ours: drop it
                return None
            raise

    def stop(self, *_):
        self._stop.set()

    def run(self, handlers):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        beat = threading.Thread(target=self._heartbeat, daemon=True)
        beat.start()
        threads = []
        while not self._stop.is_set():
            with self._lock:
                free = self.concurrency - len(self._running)
            if free <= 0:
                self._stop.wait(0.05)
                continue
            try:
                jobs = self.call("fetch", {"worker": self.id, "types": list(handlers),
                                           "max": free, "waitMs": self.wait_ms,
                                           "leaseMs": self.lease_ms,
                                           "host": socket.gethostname()[:255] or "?"})["jobs"]
            except (OSError, urllib.error.URLError) as e:
                print("jobd worker %s: fetch failed (%s); retrying in 1 s" % (self.id, e),
                      file=sys.stderr, flush=True)
                self._stop.wait(1)  # jobd restarting, or a bad request: try again
                continue
            for job in jobs:  # fetched jobs are ours: run them, stopping or not
                job["cancelled"] = threading.Event()
                with self._lock:
                    self._running[job["id"]] = job
                t = threading.Thread(target=self._run_one, args=(handlers[job["type"]], job))
                t.start()
                threads.append(t)
            threads = [t for t in threads if t.is_alive()]
        for t in threads:
            t.join()

    def _run_one(self, handler, job):
        ref = {"worker": self.id, "id": job["id"], "attempt": job["attempt"]}
        try:
            try:
                result = handler(job["payload"], job)
                if not job["cancelled"].is_set():
                    self.call("complete", dict(ref, result=result))
            except Exception as e:
                if not job["cancelled"].is_set():
                    self.call("fail", dict(ref, error=str(e) or type(e).__name__,
                                           retryable=not isinstance(e, Permanent),
                                           retryAfterMs=getattr(e, "retry_after_ms", 0)))
        except (OSError, urllib.error.URLError):
            pass  # unreported: the lease runs out and jobd runs it again
        finally:
            with self._lock:
                self._running.pop(job["id"], None)

    def _heartbeat(self):
        while True:
            threading.Event().wait(self.lease_ms / 3000)
            with self._lock:
                held = [{"id": j["id"], "attempt": j["attempt"]} for j in self._running.values()]
            if not held:
                continue
            try:
                lost = self.call("heartbeat", {"worker": self.id, "jobs": held,
                                               "leaseMs": self.lease_ms})["lost"]
            except (OSError, urllib.error.URLError):
                continue
            with self._lock:
                for job_id in lost:
                    if job_id in self._running:
                        self._running[job_id]["cancelled"].set()
