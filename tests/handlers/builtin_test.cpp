// The built-in job types and their config check.
#include <catch2/catch.hpp>

#include "handlers/builtin.hpp"
#include "storage/clock.hpp"

using namespace jobd;

TEST_CASE("register_builtin_handlers registers the four types",
          "[handlers][builtin]") {
  handler_registry reg;
  builtin_config cfg;
  REQUIRE_FALSE(validate_builtin_config(cfg));
  register_builtin_handlers(reg, cfg, std::make_shared<system_clock_source>());
  CHECK(reg.types()
        == std::vector<std::string>{"ECHO", "FINE_TUNE_EXPORT",
                                    "PREVIEW_GENERATION", "RECAP_GENERATION"});
  CHECK(reg.find("PREVIEW_GENERATION")->max_concurrency() == 4);
  CHECK(reg.find("RECAP_GENERATION")->max_concurrency() == 2);
  // Payloads are checked by the type's own rules.
  auto err = reg.validate("FINE_TUNE_EXPORT", R"({"samples":[{"prompt":1}]})");
  REQUIRE(err);
  CHECK(err->field == "payload.samples[0].prompt");
  err = reg.validate("RECAP_GENERATION", R"({"prompt":""})");
  REQUIRE(err);
  CHECK(err->field == "payload.prompt");
  CHECK_FALSE(reg.validate("ECHO", "{}"));
}

TEST_CASE("validate_builtin_config reports the first bad setting by name",
          "[handlers][builtin][config]") {
  builtin_config cfg;
  cfg.recap.timeout_ms = 0;
  REQUIRE(validate_builtin_config(cfg));
  CHECK_THAT(*validate_builtin_config(cfg), Catch::StartsWith("recap.timeout_ms"));
  cfg.preview.max_tokens = 0;
  CHECK_THAT(*validate_builtin_config(cfg), Catch::StartsWith("preview.max_tokens"));
  cfg.fine_tune_export.directory.clear();
  CHECK_THAT(*validate_builtin_config(cfg), Catch::StartsWith("export.directory"));
  cfg.openai.base_url = "nope";
  CHECK_THAT(*validate_builtin_config(cfg), Catch::StartsWith("openai.base_url"));
}
