#include "support/pg_server.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/pqxx>

namespace fs = std::filesystem;

namespace jobd::test {

namespace {

// The newest installed version's bin dir, or "" if there is none.
std::string find_bin_dir() {
  auto usable = [](const fs::path& dir) {
    return fs::exists(dir / "initdb") && fs::exists(dir / "pg_ctl")
           && fs::exists(dir / "postgres");
  };
  if (const char* env = std::getenv("JOBD_PG_BINDIR"); env && *env)
    return usable(env) ? std::string{env} : std::string{};
  std::error_code ec;
  std::string best;
  int best_version = -1;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789.") != std::string::npos)
      continue;
    int version = std::atoi(name.c_str());
    if (version > best_version && usable(e.path() / "bin")) {
      best_version = version;
      best = (e.path() / "bin").string();
    }
  }
  return best;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("pg_server: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("pg_server: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string tail_of(const std::string& path, size_t max_chars = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ss.str();
  return s.size() > max_chars ? "..." + s.substr(s.size() - max_chars) : s;
}

// Runs argv as uid/gid in `cwd`, output appended to `log`; returns the exit
// status (-1 if it did not exit normally).
int run_as(const std::vector<std::string>& argv, uid_t uid, gid_t gid,
           const std::string& cwd, const std::string& log) {
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0644);
  if (out < 0)
    throw std::runtime_error("pg_server: cannot open " + log);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    if (::getuid() != uid) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0
          || ::setuid(uid) != 0)
        ::_exit(126);
    }
    if (::chdir(cwd.c_str()) != 0)
      ::_exit(126);
    ::dup2(out, 1);
    ::dup2(out, 2);
    int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0)
      ::dup2(in, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0)
    throw std::runtime_error("pg_server: fork failed");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Stops the server and removes the dir once the test process is gone,
// however it ended: it waits for EOF on a pipe whose only writer is the
// test process. Reads the PID at that moment, as restarts change it. Loops
// because a `pg_ctl start` the test left running may recreate the log file.
// After a normal end the dir is already gone and it exits at once.
const char* watchdog_script = R"sh(
cat >/dev/null
pidfile="$1/data/postmaster.pid"
round=0
while [ -e "$1" ] && [ $round -lt 10 ]; do
  if [ -f "$pidfile" ]; then
    pid=$(head -n 1 "$pidfile")
    kill -INT "$pid" 2>/dev/null
    i=0
    while [ $i -lt 300 ] && [ -f "$pidfile" ] && kill -0 "$pid" 2>/dev/null; do
      sleep 0.1
      i=$((i + 1))
    done
    if [ -f "$pidfile" ] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
    fi
  fi
  rm -rf "$1"
  sleep 1
  round=$((round + 1))
done
)sh";

} // namespace

pg_server::pg_server() {
  bin_ = find_bin_dir();
  if (bin_.empty())
    throw std::runtime_error(
      "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
      "$JOBD_PG_BINDIR or /usr/lib/postgresql/*/bin: run `make deps` (or "
      "`apt-get install postgresql`); the storage tests start a throwaway "
      "server and do not skip it");
  uid_ = ::getuid();
  gid_ = ::getgid();
  if (::geteuid() == 0) {
    // initdb and postgres refuse to run as root.
    auto pw = ::getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error(
        "pg_server: running as root, the test server needs a 'postgres' "
        "user to run as (the postgresql package creates it); run the tests "
        "as another user, or install postgresql");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  std::string tmpl = (fs::temp_directory_path() / "jobd-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("pg_server: mkdtemp failed");
  dir_ = tmpl;
  // From here on the watchdog cleans up after us if we die.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pg_server: pipe failed");
  watchdog_pid_ = ::fork();
  if (watchdog_pid_ == 0) {
    ::setsid(); // outlives a Ctrl-C to the test's process group
    ::dup2(fds[0], 0);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execl("/bin/sh", "sh", "-c", watchdog_script, "jobd-pg-watchdog",
            dir_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_fd_ = fds[1];
  try {
    if (::chown(dir_.c_str(), uid_, gid_) != 0)
      throw std::runtime_error("pg_server: cannot chown " + dir_);
    auto log = dir_ + "/setup.log";
    if (run_as({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "jobd",
                "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
               uid_, gid_, dir_, log)
        != 0)
      throw std::runtime_error("pg_server: initdb failed:\n" + tail_of(log));
    {
      // The password role's lines come first: pg_hba.conf's first match wins.
      std::ifstream in(dir_ + "/data/pg_hba.conf");
      std::string rest((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
      in.close();
      std::ofstream hba(dir_ + "/data/pg_hba.conf", std::ios::trunc);
      hba << "host all " << password_user << " 127.0.0.1/32 scram-sha-256\n"
          << "host all " << password_user << " ::1/128 scram-sha-256\n"
          << rest;
    }
    {
      // Appended settings win over initdb's. Durability is not needed.
      std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
      conf << "\n# jobd tests\n"
           << "listen_addresses = '127.0.0.1'\n"
           << "unix_socket_directories = '" << dir_ << "'\n"
           << "fsync = off\nsynchronous_commit = off\n"
           << "full_page_writes = off\n"
           << "max_connections = 200\nshared_buffers = 32MB\n";
    }
    // A free port can be taken between finding and binding it: try again.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      {
        std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
        conf << "port = " << port_ << "\n";
      }
      try {
        start_once();
        break;
      } catch (const std::exception&) {
        if (attempt >= 2
            || tail_of(dir_ + "/server.log").find("could not bind")
                 == std::string::npos)
          throw;
      }
    }
    query(url("postgres"), "CREATE DATABASE jobd");
    query(url("postgres"), std::string{"CREATE ROLE "} + password_user
                             + " LOGIN PASSWORD '" + password + "'");
    query(url("postgres"), std::string{"CREATE DATABASE "} + password_user
                             + " OWNER " + password_user);
  } catch (...) {
    try {
      if (running_)
        stop();
    } catch (...) {
    }
    if (!running_) { // else the watchdog needs the PID file
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    ::close(watchdog_fd_);
    ::waitpid(watchdog_pid_, nullptr, 0);
    throw;
  }
}

pg_server::~pg_server() {
  try {
    if (running_)
      stop();
  } catch (...) {
    // The watchdog below still kills it.
  }
  if (!running_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ::close(watchdog_fd_); // the watchdog cleans up whatever is left
  ::waitpid(watchdog_pid_, nullptr, 0);
}

pg_server& pg_server::shared() {
  // Built once; a failure is kept and rethrown, so a missing server fails
  // every PostgreSQL test with the same message instead of retrying initdb.
  static std::once_flag once;
  static std::unique_ptr<pg_server> server;
  static std::string failure;
  std::call_once(once, [] {
    try {
      server = std::make_unique<pg_server>();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!server)
    throw std::runtime_error(failure);
  return *server;
}

void pg_server::start_once() {
  auto log = dir_ + "/setup.log";
  if (run_as({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-l",
              dir_ + "/server.log", "-w", "-t", "60", "start"},
             uid_, gid_, dir_, log)
      != 0)
    throw std::runtime_error("pg_server: pg_ctl start failed:\n"
                             + tail_of(dir_ + "/server.log"));
  running_ = true;
}

void pg_server::start() {
  if (!running_)
    start_once();
}

void pg_server::stop() {
  if (!running_)
    return;
  auto pidfile = dir_ + "/data/postmaster.pid";
  pid_t pid = 0;
  {
    std::ifstream in(pidfile);
    in >> pid;
  }
  if (pid <= 0)
    throw std::runtime_error("pg_server: no PID in " + pidfile);
  using namespace std::chrono;
  auto gone = [&] { return !fs::exists(pidfile) || ::kill(pid, 0) != 0; };
  ::kill(pid, SIGINT); // fast shutdown: roll back, disconnect, exit
  auto deadline = steady_clock::now() + seconds(60);
  while (!gone() && steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(20));
  if (!gone()) {
    ::kill(pid, SIGKILL);
    while (::kill(pid, 0) == 0 && steady_clock::now() < deadline + seconds(5))
      std::this_thread::sleep_for(milliseconds(20));
  }
  running_ = false;
}

std::string pg_server::url(const std::string& db,
                           const std::string& params) const {
  // The suite must pass on a loaded 2-core machine, where forking and
  // authenticating a backend was seen to take over jobd's 10 s default
  // connect_timeout (a `jobs add` beside 3 busy workers and two busy loops).
  // Tests that mean a timeout set their own.
  return "postgresql://jobd@127.0.0.1:" + std::to_string(port_) + "/" + db
         + "?connect_timeout=60" + (params.empty() ? "" : "&" + params);
}

std::string pg_server::url_as(const std::string& user, const std::string& pw,
                              const std::string& db) const {
  return "postgresql://" + user + (pw.empty() ? "" : ":" + pw) + "@127.0.0.1:"
         + std::to_string(port_) + "/" + db + "?connect_timeout=60";
}

std::string pg_server::fresh_schema_url(const std::string& params) {
  std::string schema = "t";
  schema += std::to_string(++schemas_);
  query(url(), "CREATE SCHEMA " + schema);
  return url("jobd", "options=-csearch_path%3D" + schema
                       + (params.empty() ? "" : "&" + params));
}

std::string pg_server::query(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection c{url};
    pqxx::quiet_errorhandler quiet{c};
    pqxx::nontransaction tx{c};
    auto r = tx.exec(sql);
    if (r.empty() || r.columns() == 0 || r[0][0].is_null())
      return {};
    return r[0][0].c_str();
  } catch (const std::exception& e) {
    throw std::runtime_error("pg_server: '" + sql + "' failed: " + e.what());
  }
}

std::string pg_server::url_through(const std::string& url, int port) const {
  std::string from{":"};
  from += std::to_string(port_);
  from += '/';
  auto at = url.find(from);
  if (at == std::string::npos)
    throw std::runtime_error("pg_server::url_through: " + url
                             + " is not on port " + std::to_string(port_));
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on a
  // chain of + here.
  std::string out = url.substr(0, at);
  out += ':';
  out += std::to_string(port);
  out += '/';
  out += url.substr(at + from.size());
  return out;
}

} // namespace jobd::test
