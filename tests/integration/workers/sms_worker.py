# The Python reference client under test (tests/integration/workers_test.cpp):
#   python3 sms_worker.py JOBD_URL TOKEN WORKER_ID
# Runs SEND_SMS jobs; payload.mode says what the handler does.
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../http/workers"))
from jobd_worker import Worker, Permanent, Retry


def send_sms(payload, job):
    mode = payload.get("mode", "ok")
    if mode == "flaky" and job["attempt"] == 1:
        raise Retry("carrier busy", 50)
    if mode == "bad":
        raise Permanent("invalid number " + payload["to"])
    if mode == "hang-first" and job["attempt"] == 1:
        time.sleep(600)  # killed meanwhile
    if mode == "slow":
        time.sleep(payload.get("seconds", 1.5))
    if mode == "until-cancelled":
        while not job["cancelled"].wait(0.05):
            pass
        return None
    return {"sent": payload["to"], "by": "python", "attempt": job["attempt"]}


url, token, worker_id = sys.argv[1:4]
print("worker ready", flush=True)
Worker(url, token=token, worker_id=worker_id, concurrency=4, wait_ms=2000,
       lease_ms=3000).run({"SEND_SMS": send_sms})
print("worker stopped", flush=True)
