// FINE_TUNE_EXPORT: writes prompt/response samples as a JSONL file in
// OpenAI's chat fine-tuning format.
//
// Payload: {"samples": [{"prompt": "...", "response": "..."}, ...],
//           "exportName": "name"}            (exportName optional)
// Result:  {"fileName": "name.jsonl", "filePath": "/abs/dir/name.jsonl",
//           "sampleCount": N}
//
// Each line of the file is one sample:
//   {"messages":[{"role":"system","content":S},   (only if S is configured)
//                {"role":"user","content":prompt},
//                {"role":"assistant","content":response}]}
// Strings are escaped with append_json_string: quotes, backslashes and
// control characters are escaped, valid UTF-8 (emoji included) is kept as
// is, and invalid UTF-8 bytes are each replaced by U+FFFD, so every line is
// valid JSON and valid UTF-8. Replacing rather than refusing: a stray byte
// in one string should not fail a 100k-sample export. In practice the
// replacement applies to export.system_prompt (from the config file): a
// payload is JSON, which must be UTF-8, so a payload with invalid bytes (or
// a lone surrogate escape such as "\ud800") does not parse and fails
// permanently with "payload is not valid JSON: ...".
//
// File name: exportName (".jsonl" appended unless it already ends so), or
// "export-<job id>.jsonl" when absent, so a retry of the same job rewrites
// the same file. exportName is untrusted and must be a plain file name: not
// empty, at most 100 bytes, no '/' or '\\', no "..", no leading '.', and
// no character that is not shown as itself:
//   - control characters: U+0000..U+001F, U+007F, and C1 U+0080..U+009F;
//   - line/paragraph separators U+2028, U+2029;
//   - invisible formatting characters, which can make a name look like
//     another (a bidi override shows "x\u202Etxt.exe" as "xexe.txt"):
//     U+00AD soft hyphen, U+061C, U+180E, zero-width U+200B..U+200F
//     (ZWJ U+200D included, so emoji joined by it are refused), bidi
//     embeddings/overrides U+202A..U+202E, U+2060..U+2064, bidi isolates
//     and deprecated formats U+2066..U+206F, U+FEFF, U+FFF9..U+FFFB.
// Other Unicode (letters of any script, emoji, variation selectors) is
// kept. Anything refused fails permanently with "payload.exportName ..."
// naming the code point and its byte offset ("must not contain an
// invisible formatting character (U+202E at byte 3)"), so validate()
// refuses it before the job is stored; nothing is written.
//
// Crash safety and idempotence:
//   1. write to ".<fileName>.tmp-<pid>-<n>" in the export directory,
//   2. fsync it, 3. rename it over <fileName>, 4. fsync the directory.
// A crash before step 3 leaves only the temp file (the final name is either
// absent or the complete previous version); the next run removes temp files
// of the same name whose writer process is gone. Running a job twice gives
// the same file with the same content.
//
// Progress: "N of M samples written" (fraction N/M) every 256 samples and
// once all are written, before the fsync and rename.
//
// Memory: the payload is parsed once (simdjson DOM); lines are written one at
// a time through a fixed-size buffer, so the output is never held in memory.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "handlers/handler.hpp"

namespace jobd {

/// The job type name.
constexpr const char* fine_tune_export_type = "FINE_TUNE_EXPORT";

/// The longest exportName accepted, in bytes.
constexpr size_t max_export_name_bytes = 100;

/// Settings of FINE_TUNE_EXPORT (INI section [export]).
struct export_config {
  /// Directory the files are written to; created with its parents when
  /// missing. A relative path is relative to jobd's working directory.
  /// Default "exports".
  std::string directory = "exports";
  /// Content of the system message at the start of every sample; empty
  /// means no system message. Default "" (none).
  std::string system_prompt;
};

/// Checks an export_config. Returns nullopt if usable, else a message that
/// names the setting, e.g. "export.directory must not be empty; ...".
std::optional<std::string> validate_export_config(const export_config& cfg);

/// Hooks for tests to inject faults (a crash or a shutdown mid-write).
struct export_hooks {
  /// Called after each sample line went into the write buffer, with the
  /// number of samples written so far.
  std::function<void(size_t samples_written)> after_sample;
  /// The file-system calls the file's durability rests on, so a test can
  /// see their order or make one fail. Empty means the system call of the
  /// same name. fsync is called for the temp file and for the directory.
  std::function<int(int fd)> fsync;
  std::function<int(const char* from, const char* to)> rename;
};

/// Thread-safe: run() keeps no state between calls. Two jobs writing the same
/// exportName at once each write their own temp file; the later rename wins.
class fine_tune_export_handler final : public job_handler {
public:
  /// REQUIRES: validate_export_config(cfg) returned nullopt.
  explicit fine_tune_export_handler(export_config cfg, export_hooks hooks = {});

  /// Refuses what run() would refuse permanently: not a JSON object;
  /// "payload.samples" missing, not an array or empty; a sample that is not
  /// an object ("payload.samples[3]"); a prompt or response that is not a
  /// string ("payload.samples[3].prompt"); a bad "payload.exportName".
  std::optional<field_error> validate(std::string_view payload) const override;

  /// Success: the file is complete under its final name and durable;
  /// result as in the file comment.
  /// Permanent failure: the payload problems validate() reports.
  /// Retryable failure: the directory cannot be created or written, the
  /// disk is full, fsync or rename failed (message names the path and the
  /// system error), or ctx was cancelled (no file left under the final name
  /// in any of these cases).
  outcome run(const job& j, run_context& ctx) override;

  const export_config& config() const { return cfg_; }

private:
  export_config cfg_;
  export_hooks hooks_;
};

} // namespace jobd
