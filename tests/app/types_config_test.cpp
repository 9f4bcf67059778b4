// [types.NAME] sections: a good file defines the types (registered next to
// the built-in ones, with their timeouts in the pool), and every bad key or
// section is refused in one line naming the setting.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "app/config.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// Loads `text` as a config file and validates it as start-up does; returns
// "" or the one error.
std::string load(const std::string& text, jobd_config& cfg) {
  temp_dir dir;
  auto path = dir.file("jobd.ini");
  std::ofstream{path} << text;
  settings s;
  add_core_settings(s, cfg);
  auto err = s.load_file(path);
  if (!err.empty())
    return err;
  derive_settings(cfg);
  return validate_config(cfg);
}

std::string load(const std::string& text) {
  jobd_config cfg;
  return load(text, cfg);
}

const char* const good = R"(
[types.SEND_EMAIL]
handler = webhook
url = https://mail.example.com/jobs
secret_env = JOBD_TEST_HOOK_SECRET
schema = {"required":["to"],"properties":{"to":{"type":"string"}}}
timeout_ms = 5000
max_concurrency = 3

[types.THUMBNAIL]
handler = exec
command = ["/bin/cat"]
cwd = /tmp
max_output_bytes = 4096

[types.SEND_SMS]
handler = external
schema = {"required":["to"]}
)";

} // namespace

TEST_CASE("[types.NAME] sections define job types next to the built-in ones",
          "[config][types]") {
  ::setenv("JOBD_TEST_HOOK_SECRET", "s3cret-value-0123456789", 1);
  jobd_config cfg;
  REQUIRE(load(good, cfg).empty());
  REQUIRE(cfg.types.size() == 3);
  CHECK(cfg.types["SEND_EMAIL"].url == "https://mail.example.com/jobs");
  CHECK(cfg.types["THUMBNAIL"].command == std::vector<std::string>{"/bin/cat"});
  // The type's timeout is its attempt timeout in the pool too; exec's
  // default is 60 s.
  CHECK(cfg.runtime.pool.timeout_by_type["SEND_EMAIL"] == 5000);
  CHECK(cfg.runtime.pool.timeout_by_type["THUMBNAIL"] == 60'000);
  CHECK(cfg.runtime.pool.timeout_by_type.count("SEND_SMS") == 0);
  handler_registry reg;
  register_configured_handlers(reg, cfg,
                               std::make_shared<system_clock_source>());
  CHECK(reg.types()
        == std::vector<std::string>{"ECHO", "FINE_TUNE_EXPORT",
                                    "PREVIEW_GENERATION", "RECAP_GENERATION",
                                    "SEND_EMAIL", "SEND_SMS", "THUMBNAIL"});
  // An external type is enqueued and checked here, run elsewhere.
  CHECK(reg.external_types() == std::vector<std::string>{"SEND_SMS"});
  CHECK(reg.in_process_types()
        == std::vector<std::string>{"ECHO", "FINE_TUNE_EXPORT",
                                    "PREVIEW_GENERATION", "RECAP_GENERATION",
                                    "SEND_EMAIL", "THUMBNAIL"});
  CHECK_FALSE(reg.find("SEND_SMS")->in_process());
  CHECK(reg.validate("SEND_SMS", "{}")->field == "payload.to");
  CHECK_FALSE(reg.validate("SEND_SMS", R"({"to":"+1555"})"));
  CHECK(reg.find("SEND_EMAIL")->max_concurrency() == 3);
  CHECK(reg.find("THUMBNAIL")->max_concurrency() == 0);
  // The schema is checked at enqueue.
  auto err = reg.validate("SEND_EMAIL", R"({"to":5})");
  REQUIRE(err);
  CHECK(err->field == "payload.to");
  CHECK(err->message == "must be a string");
  CHECK_FALSE(reg.validate("SEND_EMAIL", R"({"to":"a@b"})"));
  CHECK(reg.validate("THUMBNAIL", "[]"));
  CHECK_FALSE(reg.validate("THUMBNAIL", R"({"any":1})"));
  ::unsetenv("JOBD_TEST_HOOK_SECRET");
}

TEST_CASE("a bad [types.NAME] section is refused in one line naming the "
          "setting",
          "[config][types]") {
  ::setenv("JOBD_TEST_HOOK_SECRET", "s3cret-value-0123456789", 1);
  ::setenv("JOBD_TEST_EMPTY", "", 1);
  const std::string hook = "[types.SEND_EMAIL]\nhandler = webhook\n"
                           "url = https://h.example/x\n";
  const std::string exec = "[types.THUMB]\nhandler = exec\n"
                           "command = [\"/bin/cat\"]\n";
  struct bad {
    std::string text, message;
  };
  for (auto& b : std::vector<bad>{
         {"[types.SEND_EMAIL]\nurl = https://h/x\n",
          "types.SEND_EMAIL.handler: missing"},
         {"[types.SEND_EMAIL]\nhandler = lambda\n",
          "types.SEND_EMAIL.handler = 'lambda' is not valid: expected "
          "webhook, exec or external"},
         {"[types.SEND_EMAIL]\nhandler = external\nurl = https://h/x\n",
          "types.SEND_EMAIL.url: not a setting of handler = external"},
         {"[types.SEND_EMAIL]\nhandler = external\ntimeout_ms = 5\n",
          "types.SEND_EMAIL.timeout_ms: not a setting of handler = external"},
         {"[types.SEND_EMAIL]\nhandler = external\nschema = {\"format\":1}\n",
          "types.SEND_EMAIL.schema"},
         {"[types.SEND_EMAIL]\nhandler = webhook\n",
          "types.SEND_EMAIL.url: missing"},
         {"[types.SEND_EMAIL]\nhandler = webhook\nurl = ftp://h/x\n",
          "types.SEND_EMAIL.url = 'ftp://h/x' is not valid: must start with "
          "http:// or https://"},
         {"[types.SEND_EMAIL]\nhandler = webhook\nurl = https://u:p@h/x\n",
          "types.SEND_EMAIL.url = 'https://u:p@h/x' is not valid: must not "
          "hold a user or password"},
         {"[types.SEND_EMAIL]\nhandler = webhook\nurl = https:///x\n",
          "needs a host"},
         {hook + "timeout_ms = 0\n",
          "types.SEND_EMAIL.timeout_ms = '0' is not valid: expected a whole "
          "number of milliseconds 1..3600000"},
         {hook + "max_concurrency = -1\n",
          "types.SEND_EMAIL.max_concurrency = '-1' is not valid"},
         {hook + "secret_env = 1BAD\n",
          "types.SEND_EMAIL.secret_env = '1BAD' is not valid"},
         {hook + "secret_env = JOBD_TEST_UNSET_VARIABLE\n",
          "types.SEND_EMAIL.secret_env: the environment variable "
          "JOBD_TEST_UNSET_VARIABLE is not set or empty"},
         {hook + "secret_env = JOBD_TEST_EMPTY\n",
          "types.SEND_EMAIL.secret_env: the environment variable "
          "JOBD_TEST_EMPTY is not set"},
         {hook + "secret = has space-0123\n",
          "types.SEND_EMAIL.secret: the secret must be printable ASCII"},
         {hook + "secret = abc\nsecret_env = JOBD_TEST_HOOK_SECRET\n",
          "types.SEND_EMAIL.secret: set secret or secret_env, not both"},
         {hook + "command = [\"/bin/cat\"]\n",
          "types.SEND_EMAIL.command: not a setting of handler = webhook"},
         {hook + "schema = {\"properties\":{\"to\":{\"type\":\"string\","
                 "\"format\":\"email\"}}}\n",
          "types.SEND_EMAIL.schema = '{\"properties\":{\"to\":{\"type\":"
          "\"string\",\"format\":\"email\"}}}' is not valid: unsupported "
          "keyword \"format\" in properties.to"},
         {hook + "schema = {\"type\":\"array\"}\n",
          "types.SEND_EMAIL.schema = '{\"type\":\"array\"}' is not valid: "
          "type: must be \"object\""},
         {hook + "colour = blue\n",
          "unknown setting 'colour' in [types.SEND_EMAIL]; its settings: "
          "handler, schema, timeout_ms, max_concurrency, url, secret, "
          "secret_env, command, cwd, max_output_bytes"},
         {"[types.THUMB]\nhandler = exec\n", "types.THUMB.command: missing"},
         {"[types.THUMB]\nhandler = exec\ncommand = /bin/cat x\n",
          "types.THUMB.command = '/bin/cat x' is not valid: expected the "
          "program and its arguments as a JSON array of strings"},
         {"[types.THUMB]\nhandler = exec\ncommand = []\n",
          "types.THUMB.command = '[]' is not valid"},
         {"[types.THUMB]\nhandler = exec\ncommand = [\"/bin/cat\", 1]\n",
          "types.THUMB.command = '[\"/bin/cat\", 1]' is not valid"},
         {"[types.THUMB]\nhandler = exec\ncommand = [\"/nonexistent/x\"]\n",
          "types.THUMB.command: '/nonexistent/x' is not an executable file"},
         {exec + "cwd = /nonexistent-dir\n",
          "types.THUMB.cwd: '/nonexistent-dir' is not a directory"},
         {"[types.THUMB]\nhandler = exec\ncommand = [\"/bin/c\\nat\"]\n",
          "the program (the first element) must not be empty or hold "
          "control characters"},
         {exec + "max_output_bytes = 0\n",
          "types.THUMB.max_output_bytes = '0' is not valid"},
         {exec + "url = https://h/x\n",
          "types.THUMB.url: not a setting of handler = exec"},
         {exec + "secret = abc\n",
          "types.THUMB.secret: not a setting of handler = exec"},
         {"[types.ECHO]\nhandler = exec\ncommand = [\"/bin/cat\"]\n",
          "[types.ECHO]: ECHO is a built-in job type"},
         {"[types.send_email]\nhandler = exec\ncommand = [\"/bin/cat\"]\n",
          "[types.send_email]: a job type's name must be"},
         {"[types.9LIVES]\nhandler = exec\ncommand = [\"/bin/cat\"]\n",
          "[types.9LIVES]: a job type's name must be"},
       }) {
    INFO(b.text);
    auto err = load(b.text);
    CHECK_THAT(err, Catch::Contains(b.message));
    CHECK(err.find('\n') == std::string::npos);
  }
  ::unsetenv("JOBD_TEST_HOOK_SECRET");
  ::unsetenv("JOBD_TEST_EMPTY");
}

TEST_CASE("a refused secret is never quoted", "[config][types]") {
  const std::string secret = "bad secret-0123456789";
  auto err = load("[types.SEND_EMAIL]\nhandler = webhook\nurl = https://h/x\n"
                  "secret = " + secret + "\n");
  CHECK_THAT(err, Catch::Contains("types.SEND_EMAIL.secret"));
  CHECK(err.find("0123456789") == std::string::npos);
}
