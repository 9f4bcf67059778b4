// Live updates over Server-Sent Events.
#include <catch2/catch.hpp>

#include <regex>

#include "http/events.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

TEST_CASE("GET /api/events streams job changes and heartbeats", "[http][sse]") {
  http_env env; // heartbeat every 200 ms
  raw_connection stream{env.port()};
  stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = stream.read_until(
    [](const std::string& s) { return s.find(": connected") != std::string::npos; },
    5s);
  CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(head, Catch::Contains("Content-Type: text/event-stream"));
  // The stream has joined the feed once ": connected" came; a job created
  // now must show up created, claimed and completed.
  http_client c{env.port()};
  auto id = *json_at(c.post("/api/jobs", R"({"type":"ECHO","payload":{"k":1}})").body,
                     "/id");
  auto seen = stream.read_until(
    [&](const std::string& s) {
      return s.find("\"id\":\"" + id + "\",\"type\":\"ECHO\",\"status\":\"COMPLETED\"")
             != std::string::npos;
    },
    10s);
  CHECK_THAT(seen, Catch::Contains("event: job\ndata: {\"id\":\"" + id
                                   + "\",\"type\":\"ECHO\",\"status\":\"PENDING\""));
  CHECK_THAT(seen, Catch::Contains("\"status\":\"COMPLETED\""));

  auto pings = stream.read_until(
    [](const std::string& s) { return s.find(": ping") != std::string::npos; },
    5s);
  CHECK_THAT(pings, Catch::Contains(": ping\n\n"));

  // Deletions made through the API are announced too.
  CHECK(c.request("DELETE", "/api/jobs/" + id).status == 204);
  auto gone = stream.read_until(
    [&](const std::string& s) {
      return s.find("event: deleted\ndata: {\"id\":\"" + id + "\"}")
             != std::string::npos;
    },
    5s);
  CHECK_THAT(gone, Catch::Contains("event: deleted"));
  CHECK_THAT(c.get("/metrics").body, Catch::Contains("jobd_http_event_streams_open 1"));
}

TEST_CASE("a closed event stream is forgotten", "[http][sse]") {
  http_env env;
  http_client c{env.port()};
  {
    raw_connection stream{env.port()};
    stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.read_until(
      [](const std::string& s) { return s.find(": connected") != std::string::npos; },
      5s);
    CHECK_THAT(c.get("/metrics").body,
               Catch::Contains("jobd_http_event_streams_open 1"));
  }
  CHECK(wait_until([&] {
    return c.get("/metrics").body.find("jobd_http_event_streams_open 0")
           != std::string::npos;
  }));
}

namespace {

/// The SSE frames of a stream's text that concern job `id`, as
/// (id: position, event name, status or "deleted"), in arrival order.
struct frame_seen {
  int64_t position;
  std::string event;
  std::string status;
};

std::vector<frame_seen> frames_of(const std::string& text,
                                  const std::string& id) {
  std::vector<frame_seen> out;
  static const std::regex frame{
    "id: ([0-9]+)\nevent: (job|deleted)\ndata: (\\{[^\n]*\\})\n\n"};
  for (std::sregex_iterator i{text.begin(), text.end(), frame}, end; i != end;
       ++i) {
    auto data = (*i)[3].str();
    if (data.find("\"id\":\"" + id + "\"") == std::string::npos)
      continue;
    std::string status = "deleted";
    if ((*i)[2] == "job") {
      auto at = data.find("\"status\":\"");
      REQUIRE(at != std::string::npos);
      status = data.substr(at + 10, data.find('"', at + 10) - at - 10);
    }
    out.push_back({std::stoll((*i)[1]), (*i)[2], status});
  }
  return out;
}

/// Another process on the server's database: a second connection of its
/// own, writing with the system clock.
std::unique_ptr<job_store> other_process(http_env& env) {
  store_options opts;
  opts.url = env.dir.file("jobs.db");
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  REQUIRE(st);
  return std::move(*st);
}

/// An ECHO job due in an hour: the server's workers leave it alone.
new_job not_due() {
  new_job nj;
  nj.type = "ECHO";
  nj.scheduled_for = system_clock_source{}.now_ms() + 3'600'000;
  return nj;
}

} // namespace

TEST_CASE("GET /api/events streams the changes of other processes and of "
          "retention, in commit order, each with its feed position",
          "[http][sse]") {
  http_env env;
  raw_connection stream{env.port()};
  stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  stream.read_until(
    [](const std::string& s) { return s.find(": connected") != std::string::npos; },
    5s);
  auto other = other_process(env);
  auto& st = *other;
  auto clk = std::make_shared<system_clock_source>();
  auto nj = not_due();
  auto added = st.enqueue({nj});
  REQUIRE(added);
  auto id = added->front().id;
  std::string text;
  auto wait_for = [&](const std::string& status) {
    INFO("waiting for " << status);
    text += stream.read_until(
      [&](const std::string& s) {
        auto fs = frames_of(text + s, id);
        return !fs.empty() && fs.back().status == status;
      },
      5s);
    auto fs = frames_of(text, id);
    INFO(text);
    REQUIRE(!fs.empty());
    REQUIRE(fs.back().status == status);
  };
  wait_for("PENDING");
  job_patch fail;
  fail.has_status = true;
  fail.status = job_status::failed;
  fail.has_error = true;
  fail.error = "by hand";
  REQUIRE(st.update(id, fail));
  wait_for("FAILED");
  job_patch again; // back to PENDING, still not due
  again.has_status = true;
  again.status = job_status::pending;
  again.has_scheduled_for = true;
  again.scheduled_for = nj.scheduled_for;
  REQUIRE(st.update(id, again));
  wait_for("PENDING");
  job_patch done;
  done.has_status = true;
  done.status = job_status::completed;
  done.has_result = true;
  done.result = R"({"by":"hand"})";
  REQUIRE(st.update(id, done));
  wait_for("COMPLETED");
  // Retention in the other process deletes it.
  auto pruned = st.prune(clk->now_ms() + 1, 100);
  REQUIRE(pruned);
  CHECK(*pruned >= 1);
  wait_for("deleted");
  auto fs = frames_of(text, id);
  std::vector<std::string> statuses;
  for (size_t i = 0; i < fs.size(); ++i) {
    statuses.push_back(fs[i].status);
    if (i > 0)
      CHECK(fs[i].position > fs[i - 1].position);
  }
  CHECK(statuses
        == std::vector<std::string>{"PENDING", "FAILED", "PENDING",
                                    "COMPLETED", "deleted"});
}

TEST_CASE("a page of the change feed becomes SSE frames: a reset first for a "
          "gap, then one frame per change with its position",
          "[http][sse]") {
  struct sink final : event_sink {
    std::vector<std::string> frames;
    void push(std::shared_ptr<const std::string> f, int64_t) override {
      frames.push_back(*f);
    }
  };
  event_hub hub;
  auto s = std::make_shared<sink>();
  hub.add(s);
  auto s2 = std::make_shared<sink>();
  hub.add(s2);
  change_page page;
  page.gap = true;
  job_change gone;
  gone.seq = 7;
  gone.deleted = true;
  gone.job.id = "01M8VN72BABDT0N9R3F077749M";
  job_change changed;
  changed.seq = 9;
  changed.job.id = "01M8VN72BABDT0N9R3F077749N";
  changed.job.type = "ECHO";
  changed.job.status = job_status::failed;
  page.changes = {gone, changed};
  hub.feed(page);
  REQUIRE(s->frames.size() == 3);
  CHECK(s->frames[0] == "event: reset\ndata: {}\n\n");
  CHECK(s->frames[1]
        == "id: 7\nevent: deleted\ndata: {\"id\":\"01M8VN72BABDT0N9R3F077749M\"}\n\n");
  CHECK_THAT(s->frames[2],
             Catch::StartsWith("id: 9\nevent: job\ndata: {\"id\":\"01M8VN72BABDT0N9R3F077749N\",\"type\":\"ECHO\",\"status\":\"FAILED\""));
  CHECK(s2->frames == s->frames);
  // Once every stream is gone, nobody wants the feed.
  CHECK(hub.has_streams());
  s.reset();
  s2.reset();
  CHECK_FALSE(hub.has_streams());
}

TEST_CASE("a stream reconnecting with Last-Event-ID gets the changes it "
          "missed, in order, before the live ones",
          "[http][sse]") {
  http_env env;
  auto other = other_process(env);
  auto& st = *other;
  auto later = not_due();
  auto seen = [](const std::string& text, const std::string& id) {
    return frames_of(text, id);
  };
  std::string last_id;
  std::string first_job;
  {
    raw_connection stream{env.port()};
    stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.read_until(
      [](const std::string& s) { return s.find(": connected") != std::string::npos; },
      5s);
    auto added = st.enqueue({later});
    REQUIRE(added);
    first_job = added->front().id;
    auto text = stream.read_until(
      [&](const std::string& s) { return !seen(s, first_job).empty(); }, 5s);
    auto fs = seen(text, first_job);
    REQUIRE(fs.size() == 1);
    last_id = std::to_string(fs[0].position);
  } // the client goes away
  // While it is gone: one job changes, one is made, one is deleted.
  job_patch fail;
  fail.has_status = true;
  fail.status = job_status::failed;
  REQUIRE(st.update(first_job, fail));
  auto made = st.enqueue({later});
  REQUIRE(made);
  auto doomed = st.enqueue({later});
  REQUIRE(doomed);
  REQUIRE_FALSE(st.remove(doomed->front().id));
  auto reconnect = [&](const std::string& header) {
    auto stream = std::make_unique<raw_connection>(env.port());
    stream->send("GET /api/events HTTP/1.1\r\nHost: x\r\n" + header + "\r\n");
    return stream;
  };
  SECTION("what it missed comes first, each change once, then live") {
    auto stream = reconnect("Last-Event-ID: " + last_id + "\r\n");
    auto text = stream->read_until(
      [&](const std::string& s) { return !seen(s, doomed->front().id).empty(); },
      5s);
    auto a = seen(text, first_job);
    auto b = seen(text, made->front().id);
    auto c = seen(text, doomed->front().id);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 1);
    REQUIRE(c.size() == 1);
    CHECK(a[0].status == "FAILED");
    CHECK(b[0].status == "PENDING");
    CHECK(c[0].status == "deleted");
    CHECK(a[0].position > std::stoll(last_id));
    CHECK(a[0].position < b[0].position);
    CHECK(b[0].position < c[0].position);
    // Live from here, with no repeat of the replay.
    REQUIRE(st.retry(first_job)); // due now: this server runs it
    text += stream->read_until(
      [&](const std::string& s) {
        auto fs = seen(text + s, first_job);
        return !fs.empty() && fs.back().status == "COMPLETED";
      },
      10s);
    CHECK(seen(text, made->front().id).size() == 1);
    CHECK(seen(text, doomed->front().id).size() == 1);
    CHECK(text.find("event: reset") == std::string::npos);
  }
  SECTION("an id this server never sent: a reset, then live") {
    for (auto header : {"Last-Event-ID: 99999999999\r\n",
                        "Last-Event-ID: twelve\r\n"}) {
      INFO(header);
      auto stream = reconnect(header);
      auto text = stream->read_until(
        [](const std::string& s) { return s.find(": connected") != std::string::npos; },
        5s);
      // A made-up number is ahead of the feed: reload (the reset comes
      // before ": connected"). Not a number: a fresh stream (no replay, no
      // reset).
      bool number = std::string{header}.find("twelve") == std::string::npos;
      CHECK((text.find("event: reset") != std::string::npos) == number);
      CHECK(seen(text, made->front().id).empty());
    }
  }
}
