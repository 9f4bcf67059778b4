// A fake OpenAI-compatible HTTP server for handler tests: listens on
// 127.0.0.1 on an ephemeral port, answers each request with the next
// scripted response (or with what a responder function makes of the
// request), and records every request it saw. Runs Boost.Beast
// (async) on a thread of its own; stops in its destructor, abandoning any
// delayed response still pending.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jobd::test {

class fake_openai {
public:
  /// One scripted answer.
  struct response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Wait this long before answering (to provoke client timeouts).
    std::chrono::milliseconds delay{0};
    /// When not empty, the body is sent as these pieces, `gap` apart,
    /// without a Content-Length, ending with the connection (as a server
    /// streaming events does); `body` is then ignored.
    std::vector<std::string> pieces;
    std::chrono::milliseconds gap{0};
  };

  /// One request as received.
  struct request {
    std::string method; ///< "POST"
    std::string target; ///< "/v1/chat/completions"
    std::map<std::string, std::string> headers; ///< names in lower case
    std::string body;

    /// The header's value, or "" if absent. `name` in lower case.
    std::string header(const std::string& name) const;
    /// The content of the last chat message in the body ("" if none): the
    /// user's prompt.
    std::string prompt() const;
  };

  /// Starts listening. Throws std::runtime_error if it cannot.
  fake_openai();
  ~fake_openai();
  fake_openai(const fake_openai&) = delete;
  fake_openai& operator=(const fake_openai&) = delete;

  /// "http://127.0.0.1:<port>/v1": the base URL to give the handler.
  std::string base_url() const;

  /// Queues a response; responses are used in order, once each. With none
  /// left the server answers 500 "fake_openai: no scripted response left".
  void push(response r);

  /// Answers every request with `fn(request)` from now on, instead of the
  /// script (an empty function returns to the script). `fn` runs on the
  /// server's thread.
  void respond_with(std::function<response(const request&)> fn);

  /// Queues a JSON answer with a status and optional extra headers.
  void push_json(unsigned status, std::string body,
                 std::vector<std::pair<std::string, std::string>> headers = {});

  /// Requests seen so far, oldest first.
  std::vector<request> requests() const;

  /// Blocks until at least `n` requests arrived or `timeout` passed;
  /// returns whether they did.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) const;

  /// The body of a successful chat completion.
  static std::string completion_body(const std::string& content,
                                     const std::string& model = "gpt-test",
                                     int64_t prompt_tokens = 11,
                                     int64_t completion_tokens = 7);

  /// A streamed completion (text/event-stream) of these content pieces:
  /// one "data:" event per piece, the usage event, then [DONE] (as OpenAI
  /// sends them with stream_options.include_usage), each event a piece of
  /// the response, 5 ms apart.
  static response stream_response(const std::vector<std::string>& contents,
                                  const std::string& model = "gpt-test",
                                  int64_t prompt_tokens = 11,
                                  int64_t completion_tokens = 7);

  /// One "data: {chunk}" event with this delta content.
  static std::string stream_event(const std::string& content,
                                  const std::string& model = "gpt-test");

  /// The body of an OpenAI error answer.
  static std::string error_body(const std::string& message,
                                const std::string& code = "");

  /// An error answer with every field given; nullopt writes null.
  static std::string error_body(std::optional<std::string> message,
                                std::optional<std::string> type,
                                std::optional<std::string> param,
                                std::optional<std::string> code);

  /// A 200 answer whose content is null (as with a content filter): the
  /// handler quotes finish_reason. `model` is reported as given.
  static std::string null_content_body(const std::string& finish_reason,
                                       const std::string& model = "gpt-test");

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The first piece of `key` at least `piece` bytes long found in `text`
/// (compared without letter case), or nullopt. What tests grep for to show
/// a secret did not leak. An empty key or one shorter than `piece` is
/// looked for whole.
std::optional<std::string> find_key_piece(std::string_view text,
                                          std::string_view key,
                                          size_t piece = 8);

} // namespace jobd::test
