// `jobd jobs ...` as a user types it: errors are one line on stderr with a
// non-zero exit and change nothing; the happy path goes add -> get -> list
// -> stats -> retry -> delete against a SQLite file.
#include "integration/cluster.hpp"
#include "support/json_checks.hpp"

#include <simdjson.h>

using namespace jobd;
using namespace jobd::test;

namespace {

std::string show(const std::vector<std::string>& args, const run_result& r) {
  std::string cmd = "jobd";
  for (auto& a : args)
    cmd += " " + a;
  return cmd + "\n  exit " + std::to_string(r.exit_code) + "\n  stdout: "
         + r.out + "\n  stderr: " + r.err;
}

// A user-facing error: one line "jobd: ..." on stderr, nothing on stdout,
// exit code non-zero.
void check_one_line_error(const run_result& r, const std::string& needle) {
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code > 0);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("jobd: ", 0) == 0);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(r.err.back() == '\n');
  CHECK(r.err.find(needle) != std::string::npos);
}


} // namespace

TEST_CASE("jobs CLI: each error is one line, exits non-zero, stores nothing",
          "[integration][cli]") {
  cluster c{"sqlite"};
  // A job that is PENDING and one that is PROCESSING, for the conflicts.
  c.enqueue_echo(1);
  auto claimed = c.store().claim("cli-test", 1, 600'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto processing = claimed->front();
  auto pending = c.enqueue_echo(1).front();
  const std::string valid_unknown_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  REQUIRE(is_job_id(valid_unknown_id));
  struct error_case {
    std::vector<std::string> args;
    std::string message; ///< a part of the error line
  };
  std::vector<error_case> cases = {
    {{"get"}, "'jobs get' needs exactly one job id"},
    {{"attempts"}, "'jobs attempts' needs exactly one job id"},
    {{"workers", "--limit", "3"}, "unknown option --limit for 'jobs workers'"},
    {{"attempts", "not-an-id"}, "'not-an-id' is not a job id"},
    {{"attempts", valid_unknown_id},
     "no job with id '" + valid_unknown_id + "'"},
    {{"attempts", pending.id, "--limit", "3"},
     "unknown option --limit for 'jobs attempts'"},
    {{"delete"}, "'jobs delete' needs exactly one job id"},
    {{"get", "not-an-id"}, "'not-an-id' is not a job id"},
    {{"retry", "01ARZ3NDEKTSV4RRFFQ69G5FA!"}, "is not a job id"},
    {{"get", valid_unknown_id}, "no job with id '" + valid_unknown_id + "'"},
    {{"add", "--type", "ECHO", "--payload", "{\"delayMs\":"},
     "--payload is not valid JSON"},
    {{"add", "--type", "ECHO", "--payload", "[1,2]"},
     "payload must be a JSON object"},
    {{"add", "--type", "NOPE"},
     "--type: unknown job type 'NOPE'; known types: ECHO, FINE_TUNE_EXPORT"},
    {{"add", "--type", "ECHO", "--payload", R"({"delayMs":"x"})"},
     "--payload: payload.delayMs must be a whole number"},
    {{"add", "--type", "FINE_TUNE_EXPORT", "--payload",
      R"({"samples":[{"prompt":"p","response":7}]})"},
     "payload.samples[0].response"},
    {{"add", "--type", "ECHO", "--priority", "high"},
     "--priority must be a whole number -1000000..1000000, got 'high'"},
    {{"add", "--type", "ECHO", "--priority", "1000001"}, "--priority"},
    {{"add", "--type", "ECHO", "--max-retries", "101"},
     "--max-retries must be a whole number 0..100, got '101'"},
    {{"add", "--type", "ECHO", "--max-retries", "-1"}, "--max-retries"},
    {{"add", "--type", "ECHO", "--at", "tomorrow"},
     "--at must be an ISO-8601 time with a zone"},
    {{"add", "--type", "ECHO", "--at", "2026-13-01T00:00:00Z"}, "--at"},
    {{"add", "--payload", "{}"}, "jobs add needs --type (one of: ECHO"},
    {{"add", "--type", ""}, "jobs add needs --type"},
    {{"frob"}, "unknown subcommand 'jobs frob'"},
    {{}, "jobs needs a subcommand"},
    {{"list", "--colour", "red"}, "unknown option --colour for 'jobs list'"},
    {{"add", "--type", "ECHO", "--json"}, "unknown option --json for 'jobs add'"},
    {{"list", "--status", "DONE"}, "--status must be PENDING, PROCESSING"},
    {{"list", "--search", std::string(201, 's')},
     "--search: must be at most 200 bytes, got 201"},
    {{"list", "--search", "a\tb"},
     "--search: must not contain control characters"},
    {{"list", "--limit", "0"}, "--limit must be a whole number 1..500"},
    {{"list", "extra"}, "unexpected argument 'extra'"},
    {{"retry", pending.id},
     "job '" + pending.id + "' is PENDING; only a FAILED job can be retried"},
    {{"retry", processing.id}, "is PROCESSING; only a FAILED job"},
    {{"delete", processing.id}, "PROCESSING"},
    {{"add", "--type", "ECHO", "--unique-states", "PENDING,PROCESSING"},
     "--unique-key: unique-states and unique-period-ms need a unique-key"},
    {{"add", "--type", "ECHO", "--unique-key", "k", "--unique-states",
      "PENDING"},
     "--unique-states: must include PENDING and PROCESSING"},
    {{"add", "--type", "ECHO", "--unique-key", "k", "--unique-states",
      "PENDING,DONE"},
     "--unique-states must list PENDING, PROCESSING, COMPLETED or FAILED, "
     "comma-separated, got 'DONE'"},
    {{"add", "--type", "ECHO", "--unique-key", std::string(256, 'k')},
     "--unique-key: at most 255 bytes, got 256"},
    {{"add", "--type", "ECHO", "--unique-key", "a\tb"},
     "--unique-key: must not contain control characters"},
    {{"cancel"}, "'jobs cancel' needs exactly one job id"},
    {{"cancel", valid_unknown_id}, "no job with id '" + valid_unknown_id + "'"},
    {{"cancel", pending.id, "--reason", "a\nb"},
     "--reason must not contain control characters"},
    {{"cancel", pending.id, "--by", std::string(101, 'b')},
     "--by must be at most 100 bytes"},
    {{"add", "--type", "ECHO", "--unique-key", "k", "--unique-period-ms",
      "0"},
     "--unique-period-ms must be a whole number 1..31622400000, got '0'"},
    {{"add", "--type", "ECHO", "--timeout", "0"},
     "--timeout must be a duration from 1ms to 7d (e.g. 90s, 10m, 2h), got "
     "'0'"},
    {{"add", "--type", "ECHO", "--timeout", "8d"},
     "--timeout must be a duration from 1ms to 7d"},
    {{"add", "--type", "ECHO", "--timeout", "soon"},
     "--timeout must be a duration from 1ms to 7d"},
    {{"pause"}, "'jobs pause' needs exactly one job type"},
    {{"resume", "ECHO", "RECAP"}, "'jobs resume' needs exactly one job type"},
    {{"pause", "EHCO"},
     "jobs pause: no job type 'EHCO'; the types are ECHO, FINE_TUNE_EXPORT"},
    {{"pause", "ECHO", "--reason", "a\nb"},
     "--reason must not contain control characters"},
    {{"pause", "ECHO", "--by", std::string(101, 'b')},
     "--by must be at most 100 bytes"},
    {{"pause", "ECHO", "--note", "x"}, "unknown option --note for 'jobs pause'"},
    {{"resume", std::string(101, 'T')},
     "jobs resume: type: must be at most 100 bytes, got 101"},
  };
  for (auto& ec : cases) {
    auto r = jobs_cmd(c, ec.args);
    INFO(show(ec.args, r));
    check_one_line_error(r, ec.message);
    // Nothing stored, nothing changed.
    CHECK(c.all_jobs().size() == 2);
    auto p = c.get(pending.id);
    CHECK(p.status == job_status::pending);
    CHECK(p.updated_at == pending.updated_at);
    auto q = c.get(processing.id);
    CHECK(q.status == job_status::processing);
    CHECK(q.attempt == processing.attempt);
    CHECK(q.updated_at == processing.updated_at);
    CHECK(c.store().counts()->paused.empty());
  }
  {
    // Top-level commands and options.
    for (auto& args : std::vector<std::vector<std::string>>{
           {"frob", "--db", c.db()},
           {"worker", "--bogus", "1", "--db", c.db()},
           {"worker", "stray", "--db", c.db()},
           {"worker", "--workers", "0", "--db", c.db()},
         }) {
      auto r = run_jobd(args, {}, 30s);
      INFO(show(args, r));
      CHECK_FALSE(r.timed_out);
      CHECK(r.exit_code > 0);
      CHECK(r.err.rfind("jobd: ", 0) == 0);
      CHECK(lines_of(r.err).size() == 1);
      CHECK(c.all_jobs().size() == 2);
    }
  }
}

TEST_CASE("jobs CLI: a bad --at or list --type exits 2 and stores nothing",
          "[integration][cli][time]") {
  cluster c{"sqlite"};
  auto kept = c.enqueue_echo(1).front();
  struct usage_case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<usage_case> cases = {
    {{"add", "--type", "ECHO", "--at", "2030-02-30T00:00:00Z"},
     "--at must be an ISO-8601 time with a zone, e.g. 2026-12-01T09:30:00Z, "
     "got '2030-02-30T00:00:00Z': day 30 does not exist in 2030-02 (it has "
     "28 days)"},
    {{"add", "--type", "ECHO", "--at", "2030-04-31T12:00:00Z"},
     "day 31 does not exist in 2030-04"},
    {{"add", "--type", "ECHO", "--at", "2030-02-29"}, "--at"},
    {{"add", "--type", "ECHO", "--at", "2030-01-01T23:59:60Z"},
     "leap seconds are not accepted"},
    {{"add", "--type", "ECHO", "--at", "2030-01-01T24:00:00Z"}, "hour 24"},
    {{"add", "--type", "ECHO", "--at", "2030-01-01T10:60:00Z"}, "minute 60"},
    {{"add", "--type", "ECHO", "--at", "2030-01-01T10:00:00+99:00"},
     "the zone offset must be within -23:59..+23:59"},
    {{"list", "--type", "NOPE"},
     "--type: expected one of ECHO, FINE_TUNE_EXPORT, PREVIEW_GENERATION, "
     "RECAP_GENERATION, got 'NOPE'"},
    {{"list", "--type", "echo", "--json"}, "--type: expected one of"},
    // Other refused flags are usage errors too.
    {{"list", "--status", "DONE"}, "--status"},
    {{"add", "--type", "NOPE"}, "--type"},
  };
  for (auto& uc : cases) {
    auto r = jobs_cmd(c, uc.args);
    INFO(show(uc.args, r));
    check_one_line_error(r, uc.message);
    CHECK(r.exit_code == 2);
    auto all = c.all_jobs();
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == kept.id);
  }
  // The leap day of a leap year is accepted.
  auto r = jobs_cmd(c, {"add", "--type", "ECHO", "--at", "2028-02-29T00:00:00Z"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto id = lines_of(r.out).at(0);
  ms_t at = 0;
  REQUIRE(parse_time("2028-03-01T00:00:00Z", at));
  CHECK(c.get(id).scheduled_for == at - 86'400'000);
  // A failure the store reports is not a usage error: exit 1.
  auto missing = jobs_cmd(c, {"get", "01ARZ3NDEKTSV4RRFFQ69G5FAV"});
  check_one_line_error(missing, "no job with id");
  CHECK(missing.exit_code == 1);
}

TEST_CASE("jobs CLI: add, get, list, stats, retry, delete",
          "[integration][cli]") {
  cluster c{"sqlite"};
  simdjson::dom::parser p;
  auto ok = [&](std::vector<std::string> args) {
    auto r = jobs_cmd(c, args);
    INFO(show(args, r));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    return r.out;
  };
  // add prints the new id and nothing else.
  auto out = ok({"add", "--type", "ECHO", "--payload", R"({"delayMs":5})",
                 "--priority", "7", "--max-retries", "2", "--at",
                 "2030-01-02T03:04:05Z", "--timeout", "90s"});
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 1);
  auto echo_id = lines[0];
  REQUIRE(is_job_id(echo_id));
  auto export_id = lines_of(ok({"add", "--type", "FINE_TUNE_EXPORT", "--at",
                                "2030-01-02T03:04:05+01:00", "--payload",
                                R"({"samples":[{"prompt":"p","response":"r"}]})"}))
                     .at(0);
  REQUIRE(is_job_id(export_id));
  // A unique key: the second add prints the holder's id and says so.
  auto keyed = ok({"add", "--type", "ECHO", "--unique-key", "nightly",
                   "--unique-states", "PENDING,PROCESSING", "--at",
                   "2030-01-02T03:04:05Z"});
  {
    std::vector<std::string> again{"add", "--type", "ECHO", "--unique-key",
                                   "nightly"};
    auto r = jobs_cmd(c, again);
    INFO(show(again, r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == keyed);
    CHECK(r.err == "jobd: duplicate: job " + lines_of(keyed).at(0)
                     + " (PENDING) already holds unique key 'nightly'; "
                       "nothing was added\n");
    auto k = c.get(lines_of(keyed).at(0));
    CHECK(k.unique_key == "nightly");
    CHECK(k.unique_states == active_status_bits);
    REQUIRE_FALSE(c.store().remove(k.id));
  }
  // Stored as given.
  auto j = c.get(echo_id);
  CHECK(j.type == "ECHO");
  CHECK(j.status == job_status::pending);
  CHECK(j.priority == 7);
  CHECK(j.max_retries == 2);
  CHECK(j.timeout_ms == 90'000);
  CHECK(c.get(export_id).timeout_ms == 0); // the type's default
  ms_t at = 0;
  REQUIRE(parse_time("2030-01-02T03:04:05Z", at));
  CHECK(j.scheduled_for == at);
  CHECK(c.get(export_id).scheduled_for == at - 3'600'000);

  SECTION("get prints the job as JSON") {
    auto e = parse(p, ok({"get", echo_id}));
    CHECK(str(e, "id") == echo_id);
    CHECK(str(e, "type") == "ECHO");
    CHECK(str(e, "status") == "PENDING");
    CHECK(num(e, "priority") == 7);
    CHECK(num(e, "maxRetries") == 2);
    CHECK(num(e, "retryCount") == 0);
    CHECK(num(e, "timeoutMs") == 90'000);
    CHECK(str(e, "scheduledFor") == "2030-01-02T03:04:05.000Z");
    CHECK(num(e["payload"], "delayMs") == 5);
  }

  SECTION("attempts lists each attempt, as lines or JSON") {
    CHECK(ok({"attempts", echo_id}) == "not run yet\n");
    // The job due now fails once (another worker), then runs.
    auto now_id = lines_of(ok({"add", "--type", "ECHO"})).at(0);
    auto first = c.store().claim("worker-a", 1, 600'000);
    REQUIRE(first);
    REQUIRE(first->size() == 1);
    REQUIRE(first->front().id == now_id);
    REQUIRE(c.store().fail({now_id, 1}, "worker-a", "disk full", false, 0)
              ->applied);
    REQUIRE(c.store().claim("worker-b", 1, 600'000)->size() == 1);
    auto text = lines_of(ok({"attempts", now_id}));
    REQUIRE(text.size() == 2);
    CHECK(text[0].rfind("#1  failed ", 0) == 0);
    CHECK(text[0].find("worker-a") != std::string::npos);
    CHECK(text[0].find("disk full") != std::string::npos);
    CHECK(text[1].rfind("#2  running ", 0) == 0);
    CHECK(text[1].find("worker-b") != std::string::npos);
    auto e = parse(p, ok({"attempts", now_id, "--json"}));
    CHECK(str(e, "jobId") == now_id);
    auto list = e["attempts"].get_array();
    REQUIRE(list.size() == 2);
    CHECK(str(list.at(0), "outcome") == "failed");
    CHECK(str(list.at(0), "error") == "disk full");
    CHECK(str(list.at(1), "worker") == "worker-b");
  }

  SECTION("workers lists the external workers seen, as lines or JSON") {
    CHECK(ok({"workers"}) == "no external worker seen in the last day\n");
    worker_info w;
    w.id = "sms-1";
    w.host = "box-a";
    w.types = {"SEND_SMS", "SEND_MMS"};
    REQUIRE(c.store().see_workers({w}) == caf::error{});
    auto now_id = lines_of(ok({"add", "--type", "ECHO"})).at(0);
    REQUIRE(c.store().claim_types("sms-1", {"ECHO"}, 1, 600'000)->size()
            == 1);
    auto text = lines_of(ok({"workers"}));
    REQUIRE(text.size() == 1);
    CHECK(text[0].rfind("sms-1  online   box-a  SEND_SMS,SEND_MMS  seen ", 0)
          == 0);
    CHECK(text[0].find(" s ago  1 job: " + now_id) != std::string::npos);
    auto e = parse(p, ok({"workers", "--json"}));
    auto list = e["workers"].get_array();
    REQUIRE(list.size() == 1);
    CHECK(str(list.at(0), "host") == "box-a");
    std::string_view held;
    REQUIRE_FALSE(list.at(0)["jobs"].at(0).get(held));
    CHECK(held == now_id);
  }

  SECTION("list filters by status and type; --json; paging") {
    auto all = ok({"list"});
    CHECK(lines_of(all).size() == 2);
    CHECK(all.find(echo_id) != std::string::npos);
    CHECK(all.find(export_id) != std::string::npos);
    auto pending = ok({"list", "--status", "pending"}); // any case
    CHECK(lines_of(pending).size() == 2);
    CHECK(ok({"list", "--status", "COMPLETED"}).empty());
    auto echo_only = ok({"list", "--type", "ECHO"});
    CHECK(lines_of(echo_only).size() == 1);
    CHECK(echo_only.find(echo_id) != std::string::npos);
    auto e = parse(p, ok({"list", "--type", "FINE_TUNE_EXPORT", "--json"}));
    simdjson::dom::array arr;
    REQUIRE(!e["jobs"].get_array().get(arr));
    REQUIRE(arr.size() == 1);
    CHECK(str(arr.at(0), "id") == export_id);
    CHECK(e["nextCursor"].is_null());
    // Newest first, one per page.
    auto first = ok({"list", "--limit", "1"});
    CHECK(first.find(export_id) != std::string::npos);
    CHECK(first.find("(more: --cursor " + export_id + ")") != std::string::npos);
    auto second = ok({"list", "--limit", "1", "--cursor", export_id});
    CHECK(second.find(echo_id) != std::string::npos);
    CHECK(second.find("(more:") == std::string::npos);
  }

  SECTION("list --search: text in a payload, or an id prefix") {
    auto found = ok({"list", "--search", "\"response\":\"r\""});
    CHECK(lines_of(found).size() == 1);
    CHECK(found.find(export_id) != std::string::npos);
    auto by_prefix = ok({"list", "--search", echo_id.substr(0, 22)});
    CHECK(by_prefix.find(echo_id) != std::string::npos);
    CHECK(by_prefix.find(export_id) == std::string::npos);
    CHECK(ok({"list", "--search", "nowhere to be found"}).empty());
  }

  SECTION("stats counts by status and type") {
    auto text = ok({"stats"});
    CHECK(lines_of(text).size() == 2);
    CHECK(text.find("PENDING     ECHO") != std::string::npos);
    auto e = parse(p, ok({"stats", "--json"}));
    simdjson::dom::array arr;
    REQUIRE(!e.get_array().get(arr));
    REQUIRE(arr.size() == 2);
    for (auto row : arr) {
      CHECK(str(row, "status") == "PENDING");
      CHECK(num(row, "count") == 1);
    }
  }

  SECTION("retry puts a FAILED job back to PENDING; delete removes a job") {
    // Make the export job FAILED the way a worker would.
    job_patch due_now;
    due_now.has_scheduled_for = true;
    due_now.scheduled_for = 1;
    REQUIRE(c.store().update(export_id, due_now));
    auto claimed = c.store().claim("cli-test", 10, 600'000);
    REQUIRE(claimed);
    REQUIRE(claimed->size() == 1);
    auto failed = c.store().fail({export_id, claimed->front().attempt},
                                 "cli-test", "disk on fire", true, 0);
    REQUIRE(failed);
    REQUIRE(c.get(export_id).status == job_status::failed);
    auto e = parse(p, ok({"retry", export_id}));
    CHECK(str(e, "status") == "PENDING");
    CHECK(num(e, "retryCount") == 0);
    CHECK(e["error"].is_null());
    auto after = c.get(export_id);
    CHECK(after.status == job_status::pending);
    CHECK(after.error.empty());

    CHECK(ok({"delete", echo_id}) == "deleted " + echo_id + "\n");
    auto gone = c.store().get(echo_id);
    REQUIRE_FALSE(gone);
    CHECK(code_of(gone.error()) == errc::not_found);
    auto r = jobs_cmd(c, {"get", echo_id});
    check_one_line_error(r, "no job with id");
    CHECK(c.all_jobs().size() == 1);
  }
}

TEST_CASE("jobs CLI: retry, cancel and delete --all act on every matching "
          "job and print the counts; bad flags exit 2 and change nothing",
          "[integration][cli][bulk]") {
  cluster c{"sqlite"};
  auto jobs = c.enqueue_echo(3);
  REQUIRE(jobs.size() == 3);
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  REQUIRE(c.store().update(jobs[0].id, to_failed));
  REQUIRE(c.store().update(jobs[1].id, to_failed));
  struct error_case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<error_case> cases = {
    {{"retry", "--all", jobs[0].id}, "'jobs retry --all' takes no job id"},
    {{"retry", jobs[0].id, "--type", "ECHO"},
     "--type is for 'jobs retry --all'"},
    {{"retry", "--all", "--status", "FAILED"},
     "unknown option --status for 'jobs retry'"},
    {{"retry", "--all", "--type", "NOPE"},
     "--type: expected one of ECHO, FINE_TUNE_EXPORT, PREVIEW_GENERATION, "
     "RECAP_GENERATION, got 'NOPE'"},
    {{"retry", "--all", "--max", "0"}, "--max must be a whole number 1..10000"},
    {{"cancel", "--all", "--status", "failed"},
     "--status: cancel applies to PENDING and PROCESSING jobs only, got "
     "'FAILED'"},
    {{"cancel", "--all", "--reason", "a\nb"},
     "--reason must not contain control characters"},
    {{"delete", "--all", "--status", "PENDING"},
     "--status: delete applies to finished jobs only"},
    {{"delete", "--all", "--finished-before", "soon"},
     "--finished-before must be an age such as 7d or 12h, or an ISO-8601 "
     "time"},
    {{"delete", "--all", "--max", "10001"}, "--max must be a whole number"},
  };
  for (auto& ec : cases) {
    auto r = jobs_cmd(c, ec.args);
    INFO(show(ec.args, r));
    check_one_line_error(r, ec.message);
    CHECK(r.exit_code == 2);
    CHECK(c.get(jobs[0].id).status == job_status::failed);
    CHECK(c.get(jobs[2].id).status == job_status::pending);
    CHECK(c.all_jobs().size() == 3);
  }
  auto ok = [&](std::vector<std::string> args) {
    auto r = jobs_cmd(c, args);
    INFO(show(args, r));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    return r.out;
  };
  CHECK(ok({"retry", "--all", "--type", "ECHO"})
        == "retry: 2 matched, 2 changed, 0 skipped\n");
  CHECK(c.get(jobs[0].id).status == job_status::pending);
  CHECK(ok({"cancel", "--all", "--reason", "bad deploy"})
        == "cancel: 3 matched, 3 changed, 0 skipped\n");
  CHECK(c.get(jobs[1].id).error == "cancelled by cli: bad deploy");
  // Just cancelled: not finished an hour ago.
  CHECK(ok({"delete", "--all", "--finished-before", "1h"})
        == "delete: 0 matched, 0 changed, 0 skipped\n");
  CHECK(ok({"delete", "--all", "--status", "CANCELLED", "--max", "2"})
        == "delete: 2 matched, 2 changed, 0 skipped\n(more match: run it "
           "again, or raise --max up to 10000)\n");
  CHECK(c.all_jobs().size() == 1);
  CHECK(ok({"delete", "--all", "--finished-before", "2999-01-01T00:00:00Z"})
        == "delete: 1 matched, 1 changed, 0 skipped\n");
  CHECK(c.all_jobs().empty());
}
