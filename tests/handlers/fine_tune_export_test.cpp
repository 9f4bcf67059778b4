// FINE_TUNE_EXPORT: format, escaping, untrusted names, idempotence, crash
// safety and memory use on a large export.
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include "handlers/fine_tune_export.hpp"
#include "storage/json_text.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;
namespace fs = std::filesystem;

namespace {

const char* const job_id = "01JTESTEXPORT0000000000000";

struct sample {
  std::string prompt;
  std::string response;
};

std::string make_payload(const std::vector<sample>& samples,
                         const std::string* export_name = nullptr) {
  std::string out = "{\"samples\":[";
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0)
      out += ',';
    out += "{\"prompt\":";
    append_json_string(out, samples[i].prompt);
    out += ",\"response\":";
    append_json_string(out, samples[i].response);
    out += '}';
  }
  out += ']';
  if (export_name != nullptr) {
    out += ",\"exportName\":";
    append_json_string(out, *export_name);
  }
  out += '}';
  return out;
}

outcome run_export(fine_tune_export_handler& h, std::string payload,
                   const std::atomic<bool>* cancelled = nullptr) {
  job j;
  j.id = job_id;
  j.type = fine_tune_export_type;
  j.payload = std::move(payload);
  run_context ctx;
  ctx.cancelled = cancelled;
  return h.run(j, ctx);
}

std::string read_all(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos;
       start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  REQUIRE(start == text.size()); // the last line ends with a newline
  return out;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (auto& e : fs::directory_iterator{dir})
    out.insert(e.path().filename().string());
  return out;
}

struct result_fields {
  std::string file_name;
  std::string file_path;
  int64_t sample_count = -1;
};

result_fields parse_result(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  REQUIRE_FALSE(p.parse(json).get(doc));
  result_fields r;
  std::string_view s;
  REQUIRE_FALSE(doc["fileName"].get_string().get(s));
  r.file_name = std::string{s};
  REQUIRE_FALSE(doc["filePath"].get_string().get(s));
  r.file_path = std::string{s};
  REQUIRE_FALSE(doc["sampleCount"].get_int64().get(r.sample_count));
  return r;
}

// Kibibytes of a /proc/self/status field ("VmHWM", "VmRSS").
int64_t proc_status_kib(const std::string& field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoll(line.substr(field.size() + 1));
  return -1;
}

} // namespace

TEST_CASE("tricky strings survive the round trip", "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.file("out");
  // Invalid UTF-8 can only come from the config (a payload must be valid
  // JSON, hence UTF-8): each bad byte becomes U+FFFD.
  cfg.system_prompt = "You are \"helpful\".\nBad bytes: \xff\xfe end";
  fine_tune_export_handler h{cfg};
  std::vector<sample> samples{
    {"She said \"hi\" \\ and left", "Line one\nLine two\r\n\ttabbed"},
    {"Emoji 🎉👩‍💻 and ünïcödé 日本語", "Controls: \x01\x02\x1f\x7f end"},
    {std::string("NUL \0 inside", 12), "</script><!-- \u2028 \u2029 -->"},
    {"", "empty prompt is allowed"},
  };
  auto o = run_export(h, make_payload(samples));
  INFO(o.error);
  REQUIRE(o.ok);
  auto res = parse_result(o.result);
  CHECK(res.file_name == std::string{"export-"} + job_id + ".jsonl");
  CHECK(res.sample_count == 4);
  CHECK(fs::path{res.file_path}.is_absolute());
  CHECK(fs::equivalent(res.file_path, fs::path{cfg.directory} / res.file_name));

  auto lines = lines_of(read_all(res.file_path));
  REQUIRE(lines.size() == samples.size());
  simdjson::dom::parser p;
  for (size_t i = 0; i < lines.size(); ++i) {
    INFO("line " << i << ": " << lines[i]);
    simdjson::dom::element doc;
    REQUIRE_FALSE(p.parse(lines[i]).get(doc));
    simdjson::dom::array msgs;
    REQUIRE_FALSE(doc["messages"].get_array().get(msgs));
    REQUIRE(msgs.size() == 3);
    std::string_view role, content;
    REQUIRE_FALSE(msgs.at(0)["role"].get_string().get(role));
    REQUIRE_FALSE(msgs.at(0)["content"].get_string().get(content));
    CHECK(role == "system");
    CHECK(content == "You are \"helpful\".\nBad bytes: \xEF\xBF\xBD\xEF\xBF\xBD end");
    REQUIRE_FALSE(msgs.at(1)["role"].get_string().get(role));
    REQUIRE_FALSE(msgs.at(1)["content"].get_string().get(content));
    CHECK(role == "user");
    CHECK(content == samples[i].prompt);
    REQUIRE_FALSE(msgs.at(2)["role"].get_string().get(role));
    REQUIRE_FALSE(msgs.at(2)["content"].get_string().get(content));
    CHECK(role == "assistant");
    CHECK(content == samples[i].response);
    // One sample per line: no raw newline or control byte inside a line.
    for (unsigned char c : lines[i])
      CHECK(c >= 0x20);
  }
}

TEST_CASE("the line format is OpenAI's chat format, system message optional",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  fine_tune_export_handler h{cfg};
  std::string name = "plain";
  auto o = run_export(h, make_payload({{"Q", "A"}}, &name));
  REQUIRE(o.ok);
  auto res = parse_result(o.result);
  CHECK(res.file_name == "plain.jsonl");
  CHECK(read_all(res.file_path)
        == "{\"messages\":[{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":\"A\"}]}\n");
  // A name that already ends in .jsonl is kept as it is.
  name = "given.jsonl";
  o = run_export(h, make_payload({{"Q", "A"}}, &name));
  REQUIRE(o.ok);
  CHECK(parse_result(o.result).file_name == "given.jsonl");
}

TEST_CASE("the export directory is created when missing",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.file("a/b/c");
  fine_tune_export_handler h{cfg};
  auto o = run_export(h, make_payload({{"q", "a"}}));
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(fs::is_regular_file(parse_result(o.result).file_path));
}

TEST_CASE("unsafe export names are refused and nothing is written",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.file("out");
  fine_tune_export_handler h{cfg};
  std::vector<std::string> bad{
    "../x", "a/b", "..", ".hidden", "/etc/passwd", "a\\b", "x/../../y",
    std::string("a\0b", 3), "line\nbreak", "bell\x07", "del\x7f", "",
    std::string(200, 'n'), std::string(101, 'n'), "a..b"};
  for (auto& name : bad) {
    INFO("exportName: " << json_string(name));
    auto payload = make_payload({{"q", "a"}}, &name);
    auto err = h.validate(payload);
    REQUIRE(err);
    CHECK(err->field == "payload.exportName");
    auto o = run_export(h, payload);
    CHECK_FALSE(o.ok);
    CHECK(o.permanent);
    CHECK_THAT(o.error, Catch::StartsWith("payload.exportName "));
  }
  // Nothing was created, inside the directory or next to it.
  CHECK_FALSE(fs::exists(cfg.directory));
  CHECK(names_in(dir.path()).empty());

  // A 100-byte name is the longest accepted.
  std::string longest(100, 'n');
  CHECK_FALSE(h.validate(make_payload({{"q", "a"}}, &longest)));
  CHECK(run_export(h, make_payload({{"q", "a"}}, &longest)).ok);
}

TEST_CASE("export names with characters that do not show as themselves "
          "are refused, naming the code point",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.file("out");
  fine_tune_export_handler h{cfg};
  struct bad_name {
    std::string name;
    std::string message; ///< a part of the refusal
  };
  std::vector<bad_name> bad{
    // C1 controls (two UTF-8 bytes each): first, NEL, last.
    {"a\u0080b", "must not contain a control character (U+0080 at byte 1)"},
    {"a\u0085b", "(U+0085 at byte 1)"},
    {"report\u009f", "a control character (U+009F at byte 6)"},
    {"tab\there", "a control character (U+0009 at byte 3)"},
    // Line and paragraph separators.
    {"a\u2028b", "a line or paragraph separator (U+2028 at byte 1)"},
    {"a\u2029b", "(U+2029"},
    // Bidi: "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
    {"invoice\u202Efdp.exe",
     "must not contain an invisible formatting character (U+202E at byte 7)"},
    {"x\u202Ay", "(U+202A"}, {"x\u202Dy", "(U+202D"},
    {"x\u2066y", "(U+2066"}, {"x\u2067y", "(U+2067"},
    {"x\u2068y", "(U+2068"}, {"x\u2069y", "(U+2069"},
    // Zero-width and other invisible ones.
    {"x\u200By", "(U+200B"}, {"x\u200Cy", "(U+200C"},
    {"x\u200Dy", "(U+200D"}, {"x\u200Ey", "(U+200E"},
    {"x\u200Fy", "(U+200F"}, {"\uFEFFbom", "(U+FEFF at byte 0)"},
    {"soft\u00ADhyphen", "(U+00AD at byte 4)"}, {"x\u2060y", "(U+2060"},
    {"x\u061Cy", "(U+061C"}, {"x\u180Ey", "(U+180E"},
    {"x\uFFF9y", "(U+FFF9"},
  };
  for (auto& b : bad) {
    INFO("exportName: " << json_string(b.name));
    auto payload = make_payload({{"q", "a"}}, &b.name);
    auto err = h.validate(payload);
    REQUIRE(err);
    CHECK(err->field == "payload.exportName");
    CHECK_THAT(err->message, Catch::Contains(b.message));
    auto o = run_export(h, payload);
    CHECK_FALSE(o.ok);
    CHECK(o.permanent);
    CHECK_THAT(o.error, Catch::StartsWith("payload.exportName must not "
                                          "contain ")
                          && Catch::Contains(b.message));
  }
  CHECK_FALSE(fs::exists(cfg.directory));
  // Visible Unicode stays allowed: accents, other scripts, emoji, and the
  // neighbours of the refused ranges.
  for (std::string name : {"r\u00E9sum\u00E9", "\u6570\u636E", "\U0001F680-launch",
                           "\u00A0nbsp", "\u00AEreg", "\u2010dash",
                           "\u2030permille", "\u2070sup", "\u2027dot",
                           "\u2065x", "heart\u2764\uFE0F"}) {
    INFO("exportName: " << json_string(name));
    CHECK_FALSE(h.validate(make_payload({{"q", "a"}}, &name)));
  }
}

TEST_CASE("a retry rewrites the same file with the same content",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  cfg.system_prompt = "sys";
  fine_tune_export_handler h{cfg};
  std::vector<sample> samples;
  for (int i = 0; i < 5000; ++i)
    samples.push_back({"prompt " + std::to_string(i), "response " + std::to_string(i)});
  auto payload = make_payload(samples);

  auto first = run_export(h, payload);
  REQUIRE(first.ok);
  auto content = read_all(parse_result(first.result).file_path);
  auto second = run_export(h, payload);
  REQUIRE(second.ok);
  CHECK(second.result == first.result);
  CHECK(read_all(parse_result(second.result).file_path) == content);
  CHECK(names_in(dir.path())
        == std::set<std::string>{std::string{"export-"} + job_id + ".jsonl"});
}

TEST_CASE("an existing file is replaced whole", "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  fine_tune_export_handler h{cfg};
  std::string name = "same";
  REQUIRE(run_export(h, make_payload({{"old", "old"}, {"old2", "old2"}}, &name)).ok);
  auto o = run_export(h, make_payload({{"new", "new"}}, &name));
  REQUIRE(o.ok);
  auto lines = lines_of(read_all(parse_result(o.result).file_path));
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains("\"new\""));
}

TEST_CASE("a crash mid-write leaves no file under the final name; the retry "
          "completes it and removes the leftover",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  std::vector<sample> samples;
  for (int i = 0; i < 20000; ++i)
    samples.push_back({"prompt " + std::to_string(i), std::string(40, 'r')});
  auto payload = make_payload(samples);
  const auto final_name = std::string{"export-"} + job_id + ".jsonl";

  // The child process dies by SIGKILL in the middle of the export, after
  // several blocks reached the temp file: a real crash, at a known point.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    export_hooks hooks;
    hooks.after_sample = [](size_t n) {
      if (n == 15000)
        ::raise(SIGKILL);
    };
    fine_tune_export_handler crashing{cfg, hooks};
    run_export(crashing, payload);
    ::_exit(3); // the hook did not fire
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  auto left = names_in(dir.path());
  CHECK(left.count(final_name) == 0);
  REQUIRE(left.size() == 1);
  auto temp = *left.begin();
  CHECK_THAT(temp, Catch::StartsWith("." + final_name + ".tmp-"));
  CHECK(fs::file_size(dir.path() / temp) > 0); // it really was mid-write

  fine_tune_export_handler h{cfg};
  auto o = run_export(h, payload);
  REQUIRE(o.ok);
  CHECK(names_in(dir.path()) == std::set<std::string>{final_name});
  CHECK(lines_of(read_all(dir.path() / final_name)).size() == samples.size());
}

TEST_CASE("cancellation mid-write leaves nothing behind",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  std::atomic<bool> cancelled{false};
  export_hooks hooks;
  hooks.after_sample = [&](size_t n) {
    if (n == 2000)
      cancelled = true;
  };
  fine_tune_export_handler h{cfg, hooks};
  std::vector<sample> samples(10000, sample{"p", "r"});
  auto o = run_export(h, make_payload(samples), &cancelled);
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("cancelled"));
  CHECK(names_in(dir.path()).empty());
}

TEST_CASE("an export reports the samples written as it goes, and all of "
          "them at the end",
          "[handlers][export][progress]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  progress_slot slot;
  std::optional<std::pair<double, std::string>> at_1000;
  export_hooks hooks;
  hooks.after_sample = [&](size_t n) {
    if (n == 1000)
      at_1000 = slot.take();
  };
  fine_tune_export_handler h{cfg, hooks};
  std::vector<sample> samples(3000, sample{"p", "r"});
  job j;
  j.id = job_id;
  j.type = fine_tune_export_type;
  j.payload = make_payload(samples);
  run_context ctx;
  ctx.progress = &slot;
  auto o = h.run(j, ctx);
  REQUIRE(o.ok);
  // Reported every 256 samples: the latest by sample 1000 is 768.
  REQUIRE(at_1000);
  CHECK(at_1000->first == Approx(768.0 / 3000));
  CHECK(at_1000->second == "768 of 3000 samples written");
  auto last = slot.take();
  REQUIRE(last);
  CHECK(last->first == Approx(1.0));
  CHECK(last->second == "3000 of 3000 samples written");
}

TEST_CASE("an unusable export directory is a retryable error naming the "
          "setting",
          "[handlers][export]") {
  temp_dir dir;
  std::ofstream{dir.file("a-file")} << "x";
  export_config cfg;
  cfg.directory = dir.file("a-file") + "/sub";
  fine_tune_export_handler h{cfg};
  auto o = run_export(h, make_payload({{"q", "a"}}));
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("export.directory"));
}

TEST_CASE("validate names the sample index and the field",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  fine_tune_export_handler h{cfg};
  struct bad {
    std::string payload;
    std::string field;
    std::string message;
  };
  std::vector<bad> cases{
    {"[]", "payload", "must be a JSON object"},
    {"{\"samples\":[{\"prompt\":\"\xff\",\"response\":\"r\"}]}", "payload",
     "is not valid JSON"},
    {"{}", "payload.samples", "must be a non-empty array"},
    {R"({"samples":[]})", "payload.samples", "must be a non-empty array"},
    {R"({"samples":{"prompt":"p"}})", "payload.samples", "must be a non-empty array"},
    {R"({"samples":[{"prompt":"p","response":"r"},{"prompt":"p","response":"r"},)"
     R"({"prompt":"p","response":"r"},{"prompt":5,"response":"r"}]})",
     "payload.samples[3].prompt", "must be a string"},
    {R"({"samples":[{"prompt":"p","response":"r"},{"prompt":"p","response":"r"},)"
     R"({"prompt":"p"}]})",
     "payload.samples[2].response", "must be a string"},
    {R"({"samples":[{"prompt":"p","response":null}]})",
     "payload.samples[0].response", "must be a string"},
    {R"({"samples":["p"]})", "payload.samples[0]", "must be an object"},
    {R"({"samples":[{"prompt":"p","response":"r"}],"exportName":7})",
     "payload.exportName", "must be a string"},
  };
  for (auto& c : cases) {
    INFO(c.payload);
    auto err = h.validate(c.payload);
    REQUIRE(err);
    CHECK(err->field == c.field);
    CHECK_THAT(err->message, Catch::StartsWith(c.message));
    auto o = run_export(h, c.payload);
    CHECK(o.permanent);
    CHECK(o.error == c.field + " " + err->message);
  }
  CHECK(names_in(dir.path()).empty());
  CHECK_FALSE(h.validate(R"({"samples":[{"prompt":"p","response":"r"}],)"
                         R"("exportName":null,"other":1})"));
}

TEST_CASE("export config validation names the setting", "[handlers][export][config]") {
  temp_dir dir;
  export_config cfg;
  CHECK_FALSE(validate_export_config(cfg));
  cfg.directory.clear();
  REQUIRE(validate_export_config(cfg));
  CHECK_THAT(*validate_export_config(cfg), Catch::StartsWith("export.directory"));
  std::ofstream{dir.file("f")} << "x";
  cfg.directory = dir.file("f");
  REQUIRE(validate_export_config(cfg));
  CHECK_THAT(*validate_export_config(cfg), Catch::Contains("not a directory"));
}

TEST_CASE("100k samples stream to disk without holding the output in memory",
          "[handlers][export][large]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  cfg.system_prompt = "You are a helpful assistant.";
  fine_tune_export_handler h{cfg};

  constexpr size_t count = 100'000;
  std::string payload;
  {
    std::vector<sample> samples;
    samples.reserve(count);
    for (size_t i = 0; i < count; ++i)
      samples.push_back(
        {"Question " + std::to_string(i) + ": \"why?\"\n" + std::string(150, 'q'),
         "Answer " + std::to_string(i) + " \xF0\x9F\x8E\x89 " + std::string(150, 'a')});
    payload = make_payload(samples);
  }
  job j;
  j.id = job_id;
  j.type = fine_tune_export_type;
  j.payload = payload; // a copy without spare capacity, like a stored job
  payload.clear();
  payload.shrink_to_fit();
  const auto payload_kib = static_cast<int64_t>(j.payload.size() / 1024);

  // Reset the peak-RSS mark so VmHWM measures this run alone.
  {
    std::ofstream clear{"/proc/self/clear_refs"};
    clear << "5";
  }
  auto base_kib = proc_status_kib("VmRSS");
  auto hwm_before = proc_status_kib("VmHWM");
  bool measurable = base_kib >= 0 && hwm_before >= 0
                    && hwm_before <= base_kib + 1024;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  measurable = false; // shadow memory and redzones inflate RSS
#endif
  if (!measurable)
    WARN("cannot measure peak RSS here; the memory bound is not checked");
  run_context ctx;
  auto o = h.run(j, ctx);
  auto growth_kib = proc_status_kib("VmHWM") - base_kib;
  INFO(o.error);
  REQUIRE(o.ok);
  auto res = parse_result(o.result);
  CHECK(res.sample_count == static_cast<int64_t>(count));
  const auto file_kib = static_cast<int64_t>(fs::file_size(res.file_path) / 1024);
  INFO("payload " << payload_kib << " KiB, file " << file_kib
                  << " KiB, peak RSS growth " << growth_kib << " KiB");
  // The parse needs about the payload twice (simdjson's padded copy and its
  // string buffer) plus its tape (~10 MiB here). Holding the whole output
  // (bigger than the payload) even once would exceed this bound.
  if (measurable)
    CHECK(growth_kib < 2 * payload_kib + file_kib / 2);
  CHECK(file_kib > payload_kib);

  // Every line parses back, in order.
  auto text = simdjson::padded_string::load(res.file_path);
  REQUIRE_FALSE(text.error());
  simdjson::dom::parser p;
  simdjson::dom::document_stream docs;
  REQUIRE_FALSE(p.parse_many(text.value()).get(docs));
  size_t n = 0;
  for (auto doc : docs) {
    simdjson::dom::element el;
    REQUIRE_FALSE(doc.get(el));
    std::string_view user;
    REQUIRE_FALSE(el.at_pointer("/messages/1/content").get_string().get(user));
    if (n % 9973 == 0)
      CHECK(user.rfind("Question " + std::to_string(n) + ": ", 0) == 0);
    ++n;
  }
  CHECK(n == count);
}

namespace {

// What an fd refers to (the file or the directory being synced).
std::string path_of_fd(int fd) {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  return ec ? std::string{"?"} : p.string();
}

} // namespace

TEST_CASE("the file is fsynced before the rename, then the directory",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  std::vector<std::string> calls;
  export_hooks hooks;
  hooks.fsync = [&](int fd) {
    auto p = path_of_fd(fd);
    // The data must be complete in the file when it is synced.
    calls.push_back("fsync " + p + " "
                    + (fs::is_directory(p) ? std::string{"dir"}
                                           : std::to_string(fs::file_size(p))));
    return ::fsync(fd);
  };
  hooks.rename = [&](const char* from, const char* to) {
    calls.push_back(std::string{"rename "} + from + " " + to);
    return ::rename(from, to);
  };
  fine_tune_export_handler h{cfg, hooks};
  std::vector<sample> samples(3, sample{"p", "r"});
  auto o = run_export(h, make_payload(samples));
  REQUIRE(o.ok);
  auto real_dir = fs::canonical(dir.path()).string();
  auto final_path = (dir.path() / (std::string{"export-"} + job_id + ".jsonl"))
                      .string();
  auto content = read_all(final_path);
  REQUIRE(calls.size() == 3);
  INFO(calls[0] << "\n" << calls[1] << "\n" << calls[2]);
  // 1. the temp file, with all its bytes,
  CHECK_THAT(calls[0], Catch::StartsWith("fsync " + real_dir + "/.export-"));
  CHECK_THAT(calls[0], Catch::EndsWith(" " + std::to_string(content.size())));
  // 2. renamed over the final name,
  CHECK_THAT(calls[1], Catch::StartsWith("rename " + dir.path().string()
                                         + "/.export-"));
  CHECK_THAT(calls[1], Catch::EndsWith(" " + final_path));
  // 3. the directory, so the rename survives a power loss.
  CHECK(calls[2] == "fsync " + real_dir + " dir");
}

TEST_CASE("a failed fsync or rename is a retryable error and leaves no file",
          "[handlers][export]") {
  temp_dir dir;
  export_config cfg;
  cfg.directory = dir.path().string();
  export_hooks hooks;
  bool renamed = false;
  SECTION("fsync") {
    hooks.fsync = [](int) {
      errno = EIO;
      return -1;
    };
  }
  SECTION("rename") {
    hooks.rename = [&](const char*, const char*) {
      renamed = true;
      errno = ENOSPC;
      return -1;
    };
  }
  fine_tune_export_handler h{cfg, hooks};
  auto o = run_export(h, make_payload({sample{"p", "r"}}));
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains(renamed ? "cannot rename"
                                              : "cannot fsync"));
  CHECK_THAT(o.error, Catch::Contains(renamed ? "No space" : "Input/output"));
  // Neither the final name nor a temp file is left.
  CHECK(names_in(dir.path()).empty());
}
