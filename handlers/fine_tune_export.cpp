#include "handlers/fine_tune_export.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include "storage/json_text.hpp"

namespace jobd {

namespace fs = std::filesystem;

namespace {

// Writes are gathered into blocks of about this size: large enough that a
// 100k-sample export makes few system calls, small against the payload.
constexpr size_t write_block_bytes = 256 * 1024;

// How often (in samples) a long export checks for cancellation.
constexpr size_t cancel_check_every = 1024;

// How often (in samples) a long export reports its progress: often enough
// that the bar moves, rarely enough that formatting the message costs
// nothing next to writing the lines.
constexpr size_t progress_every = 256;

void report_written(run_context& ctx, size_t written, size_t total) {
  ctx.report_progress(
    total == 0 ? 1.0 : static_cast<double>(written) / static_cast<double>(total),
    std::to_string(written) + " of " + std::to_string(total)
      + " samples written");
}

const char* const file_suffix = ".jsonl";

std::string sys_error(int err) {
  return std::strerror(err);
}

std::string sample_field(size_t index, const char* field) {
  std::string out = "payload.samples[" + std::to_string(index) + "]";
  if (field != nullptr) {
    out += '.';
    out += field;
  }
  return out;
}

// Reads the UTF-8 sequence at `pos` into `cp` and advances `pos`. False on
// a malformed sequence (simdjson only yields valid UTF-8, but the check
// must not depend on where the name came from).
bool next_code_point(std::string_view s, size_t& pos, uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[pos]);
  size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3
                             : (b >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || pos + len > s.size())
    return false;
  cp = len == 1 ? b : b & (0x7f >> len);
  for (size_t i = 1; i < len; ++i) {
    auto c = static_cast<unsigned char>(s[pos + i]);
    if ((c & 0xc0) != 0x80)
      return false;
    cp = (cp << 6) | (c & 0x3f);
  }
  pos += len;
  return true;
}

// What is wrong with code point `cp` in a file name, or nullptr if nothing.
// Control characters could corrupt logs and terminals; the invisible
// formatting characters make a name read differently from what it is (a
// bidi override turns "abc\u202Etxt.exe" into "abcexe.txt" on screen), so
// an operator could not tell which file a job wrote.
const char* unsafe_in_file_name(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
    return "a control character";
  if (cp == 0x2028 || cp == 0x2029)
    return "a line or paragraph separator";
  if (cp == 0x00ad || cp == 0x061c || cp == 0x180e
      || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e)
      || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f)
      || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
    return "an invisible formatting character";
  return nullptr;
}

std::string code_point_name(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::optional<field_error> check_export_name(std::string_view name) {
  const std::string fix = "; give a plain file name such as \"my-export\", "
                          "or leave exportName out";
  const std::string field = "payload.exportName";
  if (name.empty())
    return field_error{field, "must not be empty" + fix};
  if (name.size() > max_export_name_bytes)
    return field_error{field, "must be at most "
                                + std::to_string(max_export_name_bytes)
                                + " bytes long (got "
                                + std::to_string(name.size()) + ")" + fix};
  for (size_t pos = 0; pos < name.size();) {
    auto at = pos;
    uint32_t cp = 0;
    if (!next_code_point(name, pos, cp))
      return field_error{field, "must be valid UTF-8 (byte "
                                  + std::to_string(at) + ")" + fix};
    if (auto what = unsafe_in_file_name(cp))
      return field_error{field, "must not contain " + std::string{what} + " ("
                                  + code_point_name(cp) + " at byte "
                                  + std::to_string(at) + ")" + fix};
    if (cp == '/' || cp == '\\')
      return field_error{field, "must not contain '/' or '\\'" + fix};
  }
  if (name.find("..") != std::string_view::npos)
    return field_error{field, "must not contain \"..\"" + fix};
  if (name.front() == '.')
    return field_error{field, "must not start with '.'" + fix};
  return std::nullopt;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.substr(s.size() - suffix.size()) == suffix;
}

// What a parsed, checked payload asks for. Views point into the parser.
struct export_request {
  simdjson::dom::array samples;
  size_t sample_count = 0;
  bool has_name = false;
  std::string_view name;
};

std::optional<field_error> check_payload(simdjson::dom::element doc,
                                         export_request& out) {
  simdjson::dom::object obj;
  if (doc.get_object().get(obj))
    return field_error{"payload", "must be a JSON object like "
                                  "{\"samples\": [{\"prompt\": \"...\", "
                                  "\"response\": \"...\"}]}"};
  simdjson::dom::element samples;
  if (obj["samples"].get(samples) || samples.get_array().get(out.samples)
      || out.samples.size() == 0)
    return field_error{"payload.samples",
                       "must be a non-empty array of "
                       "{\"prompt\": string, \"response\": string}"};
  size_t index = 0;
  for (auto sample : out.samples) {
    simdjson::dom::object s;
    if (sample.get_object().get(s))
      return field_error{sample_field(index, nullptr),
                         "must be an object with string fields prompt and "
                         "response"};
    for (const char* key : {"prompt", "response"}) {
      simdjson::dom::element v;
      if (s[key].get(v) || !v.is_string())
        return field_error{sample_field(index, key), "must be a string"};
    }
    ++index;
  }
  out.sample_count = index;
  simdjson::dom::element name;
  if (!obj["exportName"].get(name) && !name.is_null()) {
    if (name.get_string().get(out.name))
      return field_error{"payload.exportName",
                         "must be a string (a plain file name such as "
                         "\"my-export\"), or left out"};
    if (auto err = check_export_name(out.name))
      return err;
    out.has_name = true;
  }
  return std::nullopt;
}

field_error parse_failure(simdjson::error_code err) {
  return field_error{"payload", std::string{"is not valid JSON ("}
                                  + simdjson::error_message(err)
                                  + "); send a JSON object"};
}

// The system calls, or the test's replacements (export_hooks).
int sync_fd(const export_hooks& hooks, int fd) {
  return hooks.fsync ? hooks.fsync(fd) : ::fsync(fd);
}

int rename_file(const export_hooks& hooks, const char* from, const char* to) {
  return hooks.rename ? hooks.rename(from, to) : ::rename(from, to);
}

// An O_EXCL file that gathers appends into blocks. Errors are kept as text
// naming the path and the system error.
class block_writer {
public:
  block_writer() { buf_.reserve(write_block_bytes * 2); }
  ~block_writer() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  block_writer(const block_writer&) = delete;
  block_writer& operator=(const block_writer&) = delete;

  bool open(const std::string& path, std::string& err) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      err = "cannot create " + path + ": " + sys_error(errno);
      return false;
    }
    return true;
  }

  /// The buffer lines are appended to; call maybe_flush() after each line.
  std::string& buffer() { return buf_; }

  bool maybe_flush(std::string& err) {
    return buf_.size() < write_block_bytes || flush(err);
  }

  bool flush(std::string& err) {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      auto n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        err = "cannot write " + path_ + ": " + sys_error(errno);
        return false;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear(); // keeps the capacity: one block, reused
    return true;
  }

  /// Flushes, fsyncs and closes.
  bool finish(const export_hooks& hooks, std::string& err) {
    if (!flush(err))
      return false;
    if (sync_fd(hooks, fd_) != 0) {
      err = "cannot fsync " + path_ + ": " + sys_error(errno);
      return false;
    }
    auto fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      err = "cannot close " + path_ + ": " + sys_error(errno);
      return false;
    }
    return true;
  }

private:
  int fd_ = -1;
  std::string path_;
  std::string buf_;
};

bool fsync_dir(const export_hooks& hooks, const fs::path& dir,
               std::string& err) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err = "cannot open directory " + dir.string() + ": " + sys_error(errno);
    return false;
  }
  bool ok = sync_fd(hooks, fd) == 0;
  if (!ok)
    err = "cannot fsync directory " + dir.string() + ": " + sys_error(errno);
  ::close(fd);
  return ok;
}

// Temp files are ".<final>.tmp-<pid>-<n>": hidden, and never a valid
// exportName (those cannot start with '.'), so they cannot collide.
std::string temp_prefix(const std::string& file_name) {
  return "." + file_name + ".tmp-";
}

// Removes temp files of `file_name` left by writers that crashed: their pid
// no longer exists. Our own pid's files may belong to a live run in another
// thread, so they stay (ours are removed by the run that made them).
void remove_stale_temps(const fs::path& dir, const std::string& file_name) {
  auto prefix = temp_prefix(file_name);
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto pid = std::atol(name.c_str() + prefix.size());
    if (pid <= 0 || pid == ::getpid())
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

void append_line(std::string& out, const std::string& system_prompt,
                 std::string_view prompt, std::string_view response) {
  out += "{\"messages\":[";
  if (!system_prompt.empty()) {
    out += "{\"role\":\"system\",\"content\":";
    append_json_string(out, system_prompt);
    out += "},";
  }
  out += "{\"role\":\"user\",\"content\":";
  append_json_string(out, prompt);
  out += "},{\"role\":\"assistant\",\"content\":";
  append_json_string(out, response);
  out += "}]}\n";
}

} // namespace

std::optional<std::string> validate_export_config(const export_config& cfg) {
  if (cfg.directory.empty())
    return "export.directory must not be empty; set it to the directory "
           "export files go to (default \"exports\")";
  if (cfg.directory.find('\0') != std::string::npos)
    return "export.directory must not contain a NUL byte";
  std::error_code ec;
  auto st = fs::status(cfg.directory, ec);
  if (!ec && fs::exists(st) && !fs::is_directory(st))
    return "export.directory '" + cfg.directory
           + "' exists but is not a directory; point it at a directory";
  return std::nullopt;
}

fine_tune_export_handler::fine_tune_export_handler(export_config cfg,
                                                   export_hooks hooks)
  : cfg_(std::move(cfg)), hooks_(std::move(hooks)) {
}

std::optional<field_error>
fine_tune_export_handler::validate(std::string_view payload) const {
  simdjson::dom::parser parser;
  simdjson::padded_string padded{payload};
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc))
    return parse_failure(err);
  export_request req;
  return check_payload(doc, req);
}

outcome fine_tune_export_handler::run(const job& j, run_context& ctx) {
  // 1. Parse and check everything before touching the disk, so a bad
  //    sample at the end writes nothing. parse(std::string) copies the
  //    payload only if it lacks simdjson's padding.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(j.payload).get(doc)) {
    auto fe = parse_failure(err);
    return outcome::failure(fe.field + " " + fe.message, true);
  }
  export_request req;
  if (auto fe = check_payload(doc, req))
    return outcome::failure(fe->field + " " + fe->message, true);

  std::string file_name;
  if (req.has_name) {
    file_name = std::string{req.name};
    if (!ends_with(file_name, file_suffix))
      file_name += file_suffix;
  } else {
    file_name = "export-" + j.id + file_suffix;
    // A job id is a ULID, but nothing here depends on that: check the
    // derived name like a user-given one.
    if (check_export_name(file_name))
      return outcome::failure("job id '" + j.id
                                + "' does not make a safe file name; set "
                                  "payload.exportName",
                              true);
  }

  // 2. Prepare the directory and a fresh temp file in it.
  const fs::path dir{cfg_.directory};
  const std::string hint = "; check export.directory";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return outcome::failure("cannot create export directory " + dir.string()
                            + ": " + ec.message() + hint);
  remove_stale_temps(dir, file_name);
  static std::atomic<uint64_t> temp_counter{0};
  const fs::path final_path = dir / file_name;
  const fs::path temp_path
    = dir
      / (temp_prefix(file_name) + std::to_string(::getpid()) + "-"
         + std::to_string(++temp_counter));
  std::string err;
  block_writer out;
  if (!out.open(temp_path.string(), err))
    return outcome::failure(err + hint);
  // From here every failure removes the temp file.
  auto fail = [&](std::string msg) {
    std::error_code ignored;
    fs::remove(temp_path, ignored);
    return outcome::failure(std::move(msg));
  };

  // 3. Stream the lines.
  size_t written = 0;
  for (auto sample : req.samples) {
    if (written % cancel_check_every == 0 && ctx.is_cancelled())
      return fail("cancelled by shutdown");
    // check_payload() proved both fields are strings.
    auto prompt = sample["prompt"].get_string().value_unsafe();
    auto response = sample["response"].get_string().value_unsafe();
    append_line(out.buffer(), cfg_.system_prompt, prompt, response);
    ++written;
    if (written % progress_every == 0)
      report_written(ctx, written, req.sample_count);
    if (hooks_.after_sample)
      hooks_.after_sample(written);
    if (!out.maybe_flush(err))
      return fail(err + hint);
  }
  if (ctx.is_cancelled())
    return fail("cancelled by shutdown");
  report_written(ctx, written, req.sample_count);

  // 4. Make it durable, then publish it under the final name.
  if (!out.finish(hooks_, err))
    return fail(err + hint);
  if (rename_file(hooks_, temp_path.c_str(), final_path.c_str()) != 0)
    return fail("cannot rename " + temp_path.string() + " to "
                + final_path.string() + ": " + sys_error(errno) + hint);
  // The file is in place; if the directory fsync fails the rename may not
  // survive a power loss, so report it and let the retry redo the work.
  if (!fsync_dir(hooks_, dir, err))
    return outcome::failure(err + hint);

  auto abs = fs::absolute(final_path, ec);
  std::string result = "{\"fileName\":";
  append_json_string(result, file_name);
  result += ",\"filePath\":";
  append_json_string(result,
                     (ec ? final_path : abs.lexically_normal()).string());
  result += ",\"sampleCount\":" + std::to_string(req.sample_count) + "}";
  return outcome::success(std::move(result));
}

} // namespace jobd
