// A PREVIEW/RECAP job against an API that keeps failing, run in a real
// worker: it is retried maxRetries times and then FAILED, and its final
// error does not promise a retry that will never come.
#include "integration/cluster.hpp"

#include "support/fake_openai.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("the final error of a job that used its retries does not say it "
          "will retry",
          "[integration][handlers][exhausted]") {
  fake_openai server;
  server.respond_with([](const fake_openai::request&) {
    fake_openai::response r;
    r.status = 500;
    r.body = fake_openai::error_body("The server had an error while "
                                     "processing your request.");
    return r;
  });
  cluster c{"sqlite"};
  child_process::options env;
  env.env["OPENAI_BASE_URL"] = server.base_url();
  env.env["OPENAI_API_KEY"] = "sk-retry-test-0123456789";
  c.start_worker({"--poll-interval", "50ms", "--set", "retry.base=50ms",
                  "--set", "retry.jitter=0"},
                 env);
  std::map<std::string, int> max_retries; // job id -> maxRetries
  for (int n : {0, 1, 2}) {
    auto r = run_jobd({"jobs", "add", "--type",
                       n % 2 == 0 ? "PREVIEW_GENERATION" : "RECAP_GENERATION",
                       "--payload", R"({"prompt":"p"})", "--max-retries",
                       std::to_string(n), "--db", c.db()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    max_retries[lines_of(r.out).at(0)] = n;
  }
  c.wait_until([&] { return c.count("FAILED") == 3; }, 60s,
               "the 3 jobs are FAILED");
  for (auto& [id, n] : max_retries) {
    auto j = c.get(id);
    INFO(job_to_json(j));
    CHECK(j.retry_count == n); // every retry was used ...
    CHECK(j.attempt == n + 1);
    // ... and the error says what happened, not what will not happen.
    CHECK_THAT(j.error, Catch::Contains("HTTP 500")
                          && Catch::Contains("The server had an error"));
    CHECK_THAT(j.error, !Catch::Contains("will retry", Catch::CaseSensitive::No)
                          && !Catch::Contains("retrying",
                                              Catch::CaseSensitive::No));
  }
  CHECK(server.requests().size() == (0 + 1) + (1 + 1) + (2 + 1));
  c.stop_all();
}
