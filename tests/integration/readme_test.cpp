// README.md's "Using it" block, run as a new user types it, in a fresh
// directory with the repository's conf/: every command must work as
// written (the job ids it shows are placeholders the README says to
// replace, so the test puts in ids of its own), and the CLI error the
// README quotes must be the one the binary prints. So the README cannot
// drift from the binary again.
#include "integration/cluster.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

using namespace jobd;
using namespace jobd::test;

namespace {

std::string readme() {
  auto text = read_file(std::string{JOBD_SOURCE_DIR} + "/README.md");
  REQUIRE_FALSE(text.empty());
  return text;
}

// The lines of the first ```sh block after `heading`.
std::vector<std::string> sh_block(const std::string& text,
                                  const std::string& heading) {
  auto at = text.find("\n" + heading + "\n");
  REQUIRE(at != std::string::npos);
  auto start = text.find("```sh\n", at);
  REQUIRE(start != std::string::npos);
  start += 6;
  auto end = text.find("```", start);
  REQUIRE(end != std::string::npos);
  return lines_of(text.substr(start, end - start));
}

// A command line as sh would split it: words, 'single quotes', and a
// trailing "  # comment" dropped. The README's lines need no more.
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\'') {
      auto close = line.find('\'', i + 1);
      REQUIRE(close != std::string::npos);
      word += line.substr(i + 1, close - i - 1);
      in_word = true;
      i = close;
    } else if (c == ' ') {
      if (in_word)
        out.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word)
    out.push_back(word);
  return out;
}

const std::regex placeholder_id{"^[0-9A-HJKMNP-TV-Z]{26}$"};

} // namespace

TEST_CASE("every command of README's 'Using it' runs as written",
          "[integration][readme]") {
  temp_dir dir;
  auto cwd = dir.path().string();
  std::filesystem::copy(std::string{JOBD_SOURCE_DIR} + "/conf",
                        cwd + "/conf");
  child_process::options in_dir;
  in_dir.cwd = cwd;
  auto lines = sh_block(readme(), "## Using it");
  REQUIRE(lines.size() >= 8);

  // A FAILED job for `jobs retry` (and then `jobs delete`), in the database
  // conf/jobd.ini names (jobd.db in the working directory).
  std::string failed_id;
  {
    store_options opts;
    opts.url = cwd + "/jobd.db";
    auto st = open_store(opts, std::make_shared<system_clock_source>());
    REQUIRE(st);
    new_job nj;
    nj.type = "ECHO";
    nj.payload = "{}";
    nj.max_retries = 0;
    auto made = (*st)->enqueue({nj});
    REQUIRE(made);
    auto claimed = (*st)->claim("readme-test", 1, 60'000);
    REQUIRE(claimed);
    REQUIRE(claimed->size() == 1);
    auto& j = claimed->front();
    REQUIRE((*st)->fail({j.id, j.attempt}, "readme-test", "boom", true, 0));
    failed_id = j.id;
  }

  std::string added_id;
  std::set<std::string> seen_commands;
  for (auto& line : lines) {
    auto words = words_of(line);
    if (words.empty())
      continue;
    INFO("README line: " << line);
    REQUIRE(words[0] == "build/jobd");
    std::vector<std::string> args(words.begin() + 1, words.end());
    REQUIRE_FALSE(args.empty());
    auto cmd = args[0] == "jobs" && args.size() > 1 ? args[1] : args[0];
    seen_commands.insert(cmd);
    if (cmd == "serve" || cmd == "worker") {
      // Long-running: it starts (on a free port), then stops on SIGTERM.
      if (cmd == "serve") {
        args.push_back("--port");
        args.push_back("0");
      }
      child_process p{jobd_binary(), args, in_dir};
      INFO(p.describe());
      REQUIRE(eventually(
        [&] {
          return !p.running()
                 || p.err().find(cmd + " started: ") != std::string::npos;
        },
        60s));
      REQUIRE(p.running());
      p.signal(SIGTERM);
      REQUIRE(p.wait_for(60s));
      CHECK(p.exit_code() == 0);
      continue;
    }
    // The ids shown are placeholders: a job of this test's takes their
    // place (the FAILED one for attempts, retry and delete, the first
    // added for get and cancel).
    for (auto& a : args)
      if (std::regex_match(a, placeholder_id)) {
        REQUIRE((cmd == "get" || cmd == "attempts" || cmd == "retry"
                 || cmd == "delete" || cmd == "cancel"));
        // get and cancel take the first job added (PENDING: no worker
        // runs between the commands).
        a = (cmd == "get" || cmd == "cancel") && !added_id.empty() ? added_id
                                                                   : failed_id;
      }
    // A run time in the example must still lie ahead.
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--at") {
        ms_t at = 0;
        REQUIRE(parse_time(args[i + 1], at));
        CHECK(at > system_clock_source{}.now_ms());
      }
    auto r = run_jobd(args, in_dir, 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(r.out.empty());
    if (cmd == "add" && added_id.empty())
      added_id = r.out.substr(0, r.out.find('\n'));
  }
  // The block shows the whole CLI.
  for (auto cmd : {"serve", "worker", "add", "list", "get", "attempts",
                   "retry", "cancel", "delete", "stats", "--help"})
    CHECK(seen_commands.count(cmd) == 1);
}

TEST_CASE("the CLI error README quotes is the binary's",
          "[integration][readme]") {
  // "... refused (nothing is opened or stored: `--payload: ...`)".
  auto text = readme();
  auto at = text.find("`--payload: ");
  REQUIRE(at != std::string::npos);
  auto quoted = text.substr(at + 1, text.find('`', at + 1) - at - 1);
  // The README wraps lines: the binary's text has single spaces.
  quoted = std::regex_replace(quoted, std::regex{"\\s+"}, " ");
  temp_dir dir;
  auto r = run_jobd({"jobs", "add", "--type", "ECHO", "--payload",
                     R"({"delayMs":-1})", "--db", dir.file("jobs.db")},
                    {}, 30s);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "jobd: " + quoted + "\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("jobs.db")));
}

TEST_CASE("the config error README shows is the binary's, for the line of "
          "conf/jobd.ini it names",
          "[integration][readme]") {
  // "jobd: conf/jobd.ini:59: worker.workers = 'many' is not valid: ...".
  auto text = readme();
  std::smatch m;
  REQUIRE(std::regex_search(
    text, m, std::regex{R"((jobd: conf/jobd\.ini:(\d+): worker\.workers = 'many'[^\n]*))"}));
  auto sample = m[1].str();
  auto line_no = std::stoul(m[2].str());
  temp_dir dir;
  std::filesystem::copy(std::string{JOBD_SOURCE_DIR} + "/conf",
                        dir.path() / "conf");
  auto path = (dir.path() / "conf" / "jobd.ini").string();
  auto lines = lines_of(read_file(path));
  REQUIRE(line_no >= 1);
  REQUIRE(line_no <= lines.size());
  // The line it names is worker.workers' own.
  CHECK(lines[line_no - 1].rfind("workers = ", 0) == 0);
  lines[line_no - 1] = "workers = many";
  {
    std::ofstream out{path, std::ios::trunc};
    for (auto& l : lines)
      out << l << "\n";
  }
  child_process::options in_dir;
  in_dir.cwd = dir.path().string();
  auto r = run_jobd({"config", "check", "--config", "conf/jobd.ini"}, in_dir,
                    30s);
  CHECK(r.exit_code == 2);
  CHECK(r.err == sample + "\n");
}
