#include "handlers/configured_types.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include "handlers/echo.hpp"
#include "handlers/payload_schema.hpp"

namespace jobd {

namespace {

constexpr int32_t webhook_default_timeout_ms = 30'000;
constexpr int32_t exec_default_timeout_ms = 60'000;
constexpr int32_t max_type_timeout_ms = 3'600'000;
constexpr size_t max_secret_bytes = 1024;
constexpr size_t max_type_name = 64;

const std::vector<std::string> webhook_keys = {"url", "secret", "secret_env"};
const std::vector<std::string> exec_keys = {"command", "cwd",
                                            "max_output_bytes"};

std::optional<int64_t> whole(const std::string& v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  auto n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
    return std::nullopt;
  return n;
}

// Whether `v` holds a control character (it would reach error messages).
bool has_control(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool is_env_name(const std::string& v) {
  return !v.empty() && !std::isdigit(static_cast<unsigned char>(v[0]))
         && std::all_of(v.begin(), v.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            });
}

std::string getenv_of(const getenv_fn& getenv, const std::string& name) {
  const char* v = getenv ? getenv(name.c_str()) : std::getenv(name.c_str());
  return v == nullptr ? std::string{} : std::string{v};
}

// What is wrong with a webhook URL, or "".
std::string url_problem(const std::string& url) {
  std::string rest;
  if (url.rfind("http://", 0) == 0)
    rest = url.substr(7);
  else if (url.rfind("https://", 0) == 0)
    rest = url.substr(8);
  else
    return "must start with http:// or https://";
  if (std::any_of(url.begin(), url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      }))
    return "must not contain spaces or control characters (write %20)";
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty())
    return "needs a host, e.g. https://hooks.example.com/jobs";
  if (authority.find('@') != std::string::npos)
    return "must not hold a user or password (user@host): sign requests with "
           "secret_env instead";
  return {};
}

} // namespace

const std::vector<std::string>& type_setting_keys() {
  static const std::vector<std::string> keys = {
    "handler", "schema", "timeout_ms", "max_concurrency", "url", "secret",
    "secret_env", "command", "cwd", "max_output_bytes"};
  return keys;
}

std::string set_type_setting(type_config& t, const std::string& key,
                             const std::string& value) {
  if (std::find(t.keys.begin(), t.keys.end(), key) == t.keys.end())
    t.keys.push_back(key);
  if (key == "handler") {
    if (value != "webhook" && value != "exec" && value != "external")
      return "expected webhook, exec or external";
    t.handler = value;
  } else if (key == "schema") {
    std::string why;
    if (!payload_schema::parse(value, why))
      return why;
    t.schema = value;
  } else if (key == "timeout_ms") {
    auto n = whole(value, 1, max_type_timeout_ms);
    if (!n)
      return "expected a whole number of milliseconds 1..3600000";
    t.timeout_ms = static_cast<int32_t>(*n);
  } else if (key == "max_concurrency") {
    auto n = whole(value, 0, 1024);
    if (!n)
      return "expected a whole number 0..1024 (0 = only the pool size "
             "limits it)";
    t.max_concurrency = static_cast<int32_t>(*n);
  } else if (key == "url") {
    auto why = url_problem(value);
    if (!why.empty())
      return why;
    t.url = value;
  } else if (key == "secret") {
    t.secret = value; // checked by validate_type_config, never quoted
  } else if (key == "secret_env") {
    if (!is_env_name(value))
      return "expected the name of an environment variable (letters, "
             "digits, _)";
    t.secret_env = value;
  } else if (key == "command") {
    simdjson::dom::parser parser;
    simdjson::padded_string padded{value};
    simdjson::dom::element doc;
    simdjson::dom::array arr;
    const char* expected
      = "expected the program and its arguments as a JSON array of strings "
        "on one line, e.g. [\"/usr/bin/python3\", \"send.py\"] (no shell)";
    if (parser.parse(padded).get(doc) || doc.get_array().get(arr)
        || arr.size() == 0)
      return expected;
    std::vector<std::string> argv;
    for (auto a : arr) {
      std::string_view s;
      if (a.get_string().get(s))
        return expected;
      if (s.find('\0') != std::string_view::npos)
        return "an argument must not contain a NUL character";
      argv.emplace_back(s);
    }
    if (argv[0].empty() || has_control(argv[0]))
      return "the program (the first element) must not be empty or hold "
             "control characters";
    t.command = std::move(argv);
  } else if (key == "cwd") {
    if (value.empty() || has_control(value))
      return "expected a directory (without control characters)";
    t.cwd = value;
  } else if (key == "max_output_bytes") {
    auto n = whole(value, 1, int64_t{1} << 30);
    if (!n)
      return "expected a whole number of bytes 1..1073741824";
    t.max_output_bytes = *n;
  }
  return {};
}

int32_t type_timeout_ms(const type_config& t) {
  if (t.timeout_ms)
    return *t.timeout_ms;
  return t.handler == "exec" ? exec_default_timeout_ms
                             : webhook_default_timeout_ms;
}

std::optional<std::string> validate_type_config(const std::string& name,
                                                const type_config& t,
                                                const getenv_fn& getenv) {
  const auto where = "types." + name;
  auto at = [&](const char* key) { return where + "." + key + ": "; };
  bool good_name
    = !name.empty() && name.size() <= max_type_name
      && std::isupper(static_cast<unsigned char>(name[0]))
      && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
  if (!good_name)
    return "[" + where + "]: a job type's name must be 1..64 upper-case "
           "letters, digits and underscores, starting with a letter (e.g. "
           "SEND_EMAIL)";
  for (auto& b : builtin_type_names())
    if (name == b)
      return "[" + where + "]: " + name
             + " is a built-in job type; give the configured type another "
               "name";
  if (t.handler.empty())
    return at("handler") + "missing; set handler = webhook, exec or external";
  if (t.handler == "external") {
    // Run by workers outside jobd (POST /api/worker/fetch): only what an
    // enqueue checks applies here.
    for (auto& k : t.keys)
      if (k != "handler" && k != "schema")
        return at(k.c_str())
               + "not a setting of handler = external (its workers choose "
                 "their own limits; only schema applies)";
    return std::nullopt;
  }
  const auto& other = t.handler == "webhook" ? exec_keys : webhook_keys;
  for (auto& k : t.keys)
    if (std::find(other.begin(), other.end(), k) != other.end())
      return at(k.c_str()) + "not a setting of handler = " + t.handler;
  if (t.handler == "webhook") {
    if (t.url.empty())
      return at("url") + "missing; set the URL jobs are POSTed to";
    if (!t.secret.empty() && !t.secret_env.empty())
      return at("secret") + "set secret or secret_env, not both (prefer "
                            "secret_env)";
    std::string secret = t.secret;
    const char* secret_key = "secret";
    if (!t.secret_env.empty()) {
      secret = getenv_of(getenv, t.secret_env);
      secret_key = "secret_env";
      if (secret.empty())
        return at("secret_env") + "the environment variable " + t.secret_env
               + " is not set or empty";
    }
    bool printable = std::all_of(secret.begin(), secret.end(), [](char c) {
      return c > 0x20 && c < 0x7f;
    });
    if (!printable || secret.size() > max_secret_bytes)
      return at(secret_key)
             + "the secret must be printable ASCII without spaces, at most "
               "1024 characters";
    return std::nullopt;
  }
  // exec
  if (t.command.empty())
    return at("command") + "missing; set command = [\"/path/to/program\", "
                           "\"arg\", ...]";
  if (!t.cwd.empty()) {
    struct stat st;
    if (::stat(t.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return at("cwd") + "'" + t.cwd + "' is not a directory";
  }
  const auto& program = t.command[0];
  if (program[0] == '/') {
    struct stat st;
    if (::stat(program.c_str(), &st) != 0 || !S_ISREG(st.st_mode)
        || ::access(program.c_str(), X_OK) != 0)
      return at("command") + "'" + program + "' is not an executable file";
  }
  return std::nullopt;
}

std::optional<field_error>
external_handler::validate(std::string_view payload) const {
  if (auto err = job_handler::validate(payload))
    return err;
  return schema_ ? schema_->check(payload) : std::nullopt;
}

outcome external_handler::run(const job&, run_context&) {
  return outcome::failure(type_ + " is served by external workers (handler "
                                  "= external); jobd does not run it itself",
                          true);
}

void register_handlers(handler_registry& registry,
                       const builtin_config& builtin,
                       const std::map<std::string, type_config>& types,
                       std::shared_ptr<const clock_source> clock,
                       const getenv_fn& getenv) {
  register_builtin_handlers(registry, builtin, clock);
  std::vector<std::string> secret_vars;
  for (auto& kv : types)
    if (!kv.second.secret_env.empty())
      secret_vars.push_back(kv.second.secret_env);
  for (auto& [name, t] : types) {
    std::optional<payload_schema> schema;
    if (!t.schema.empty()) {
      std::string why;
      schema = payload_schema::parse(t.schema, why);
    }
    if (t.handler == "external") {
      registry.add(name, std::make_shared<external_handler>(
                           name, std::move(schema)));
    } else if (t.handler == "webhook") {
      webhook_config w;
      w.url = t.url;
      w.timeout_ms = type_timeout_ms(t);
      w.secret = t.secret_env.empty() ? t.secret
                                      : getenv_of(getenv, t.secret_env);
      w.max_concurrency = t.max_concurrency;
      registry.add(name, std::make_shared<webhook_handler>(
                           name, std::move(w), std::move(schema), clock));
    } else {
      exec_config e;
      e.command = t.command;
      e.cwd = t.cwd;
      e.timeout_ms = type_timeout_ms(t);
      if (t.max_output_bytes)
        e.max_output_bytes = *t.max_output_bytes;
      e.max_concurrency = t.max_concurrency;
      e.withheld_env = secret_vars;
      registry.add(name, std::make_shared<exec_handler>(name, std::move(e),
                                                        std::move(schema)));
    }
  }
}

} // namespace jobd
