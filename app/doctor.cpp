#include "app/doctor.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include <sqlite3.h>

#include "storage/postgres/pg_conninfo.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace jobd {

namespace {

namespace fs = std::filesystem;

struct report {
  int failures = 0;
  void line(const char* level, const std::string& what,
            const std::string& detail) {
    if (std::string{level} == "FAIL")
      ++failures;
    std::cout << level << std::string(5 - std::strlen(level), ' ') << what
              << ": " << detail << "\n";
  }
};

std::string mb(int64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MB";
}

// "N jobs (PENDING a, ...)" from the store's counts.
std::string counts_of(job_store& st) {
  auto c = st.counts();
  if (!c)
    return "counts unavailable: " + message_of(c.error());
  std::map<std::string, int64_t> by;
  int64_t all = 0;
  for (size_t i = 0; i < c->status.size(); ++i) {
    by[c->status[i]] += c->count[i];
    all += c->count[i];
  }
  std::string out = std::to_string(all) + " jobs";
  if (all > 0) {
    out += " (";
    bool first = true;
    for (auto& [status, n] : by) {
      out += (first ? "" : ", ") + status + " " + std::to_string(n);
      first = false;
    }
    out += ")";
  }
  return out;
}

// The nearest existing directory at or above `p`.
fs::path existing_ancestor(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec))
    p = p.parent_path();
  return p.empty() ? fs::path{"."} : p;
}

// The file's own checks and the disk's; whether the file exists.
bool check_sqlite(report& r, const jobd_config& cfg) {
  const auto& path = cfg.storage.url;
  std::error_code ec;
  auto dir = fs::absolute(path, ec).parent_path();
  bool exists = fs::exists(path, ec);
  if (!exists) {
    auto base = existing_ancestor(dir);
    if (::access(base.c_str(), W_OK) == 0)
      r.line("warn", "storage", path + " does not exist yet; jobd creates it "
                                       "at first start (" + base.string()
                                       + " is writable)");
    else
      r.line("FAIL", "storage", path + " does not exist and " + base.string()
                                  + " is not writable: "
                                  + std::strerror(errno));
  } else {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
        != SQLITE_OK) {
      r.line("FAIL", "storage", "cannot open " + path + ": "
                                  + (db ? sqlite3_errmsg(db) : "out of memory"));
    } else {
      auto one = [&](const char* sql) {
        std::string v;
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK
            && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
          v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return v;
      };
      auto mode = one("PRAGMA journal_mode");
      auto version = one("PRAGMA user_version");
      if (mode.empty())
        r.line("FAIL", "storage", path + " is not a readable SQLite "
                                         "database: "
                                         + std::string{sqlite3_errmsg(db)});
      else
        r.line(mode == "wal" ? "ok" : "warn", "journal mode",
               mode + (mode == "wal" ? ""
                                     : " (jobd sets WAL when it opens the "
                                       "file for writing)"));
      auto v = version.empty() ? -1 : std::atoi(version.c_str());
      if (v == sqlite_schema_version)
        r.line("ok", "schema", "version " + version);
      else if (v > sqlite_schema_version)
        r.line("FAIL", "schema", "version " + version + " is newer than this "
               "jobd knows (" + std::to_string(sqlite_schema_version)
               + "): upgrade jobd");
      else if (v >= 0)
        r.line("warn", "schema", "version " + version + "; jobd migrates it "
               "to " + std::to_string(sqlite_schema_version)
               + " at next start");
    }
    sqlite3_close(db);
  }
  struct statvfs vfs{};
  auto base = existing_ancestor(dir);
  if (::statvfs(base.c_str(), &vfs) == 0) {
    auto free_bytes = static_cast<int64_t>(vfs.f_bavail)
                      * static_cast<int64_t>(vfs.f_frsize);
    auto min = cfg.runtime.store.min_free_bytes;
    if (min > 0 && free_bytes < min)
      r.line("FAIL", "disk", mb(free_bytes) + " free on " + base.string()
                               + ", under storage.min_free_bytes ("
                               + mb(min) + "): enqueues would be refused");
    else
      r.line("ok", "disk", mb(free_bytes) + " free on " + base.string());
  }
  return exists;
}

void check_store(report& r, const jobd_config& cfg) {
  bool pg = is_pg_url(cfg.storage.url);
  if (!pg && !check_sqlite(r, cfg))
    return; // nothing to open yet
  // Read-only: nothing is created or migrated.
  auto opts = cfg.storage;
  opts.read_only = true;
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  if (!st) {
    r.line("FAIL", "storage", message_of(st.error()));
    return;
  }
  r.line("ok", "storage", (pg ? "PostgreSQL answers; " : "")
                            + counts_of(**st));
}

void check_export(report& r, const jobd_config& cfg) {
  fs::path dir = cfg.handlers.fine_tune_export.directory;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    auto probe = (dir / ".jobd-doctor-XXXXXX").string();
    int fd = ::mkstemp(probe.data());
    if (fd < 0) {
      r.line("FAIL", "export.directory", dir.string() + " is not writable: "
                                           + std::strerror(errno));
      return;
    }
    ::close(fd);
    ::unlink(probe.c_str());
    r.line("ok", "export.directory", dir.string() + " is writable");
    return;
  }
  if (fs::exists(dir, ec)) {
    r.line("FAIL", "export.directory", dir.string()
                                         + " exists and is not a directory");
    return;
  }
  auto base = existing_ancestor(dir.parent_path());
  if (fs::is_directory(base, ec) && ::access(base.c_str(), W_OK) == 0)
    r.line("ok", "export.directory", dir.string() + " does not exist yet; "
                                     "the first export creates it");
  else
    r.line("FAIL", "export.directory",
           dir.string() + " cannot be created: " + base.string()
             + (fs::is_directory(base, ec) ? " is not writable"
                                           : " is not a directory"));
}

void check_openai(report& r, const jobd_config& cfg) {
  auto o = with_openai_env(cfg.handlers.openai);
  auto p = probe_openai(o, 5'000);
  if (o.api_key.empty()) {
    r.line("warn", "openai", "no API key (openai.api_key or OPENAI_API_KEY): "
                             "PREVIEW_GENERATION and RECAP_GENERATION jobs "
                             "will fail; " + p.detail);
    return;
  }
  bool good = p.status >= 200 && p.status <= 299;
  bool reached = p.status != 0 && p.status != 401 && p.status != 403;
  r.line(good ? "ok" : reached ? "warn" : "FAIL", "openai",
         p.detail + " (with the configured key)");
}

// One line per [types.NAME] section (all passed validate_config): what
// runs its jobs. A secret is named by where it comes from, never shown.
void check_types(report& r, const jobd_config& cfg) {
  for (auto& [name, t] : cfg.types) {
    std::string what;
    if (t.handler == "webhook")
      what = "webhook to " + url_for_messages(t.url)
             + (!t.secret_env.empty()
                  ? ", signed with the secret in $" + t.secret_env
                  : !t.secret.empty() ? ", signed with types." + name + ".secret"
                                      : ", not signed");
    else if (t.handler == "exec")
      what = "exec " + t.command[0]
             + (t.cwd.empty() ? "" : " in " + t.cwd);
    if (t.handler == "external") {
      r.line("ok", "types." + name,
             std::string{"run by external workers (POST /api/worker/fetch)"}
               + (t.schema.empty() ? "" : ", payload schema"));
      continue;
    }
    r.line("ok", "types." + name,
           what + ", timeout " + std::to_string(type_timeout_ms(t)) + " ms"
             + (t.schema.empty() ? "" : ", payload schema"));
  }
}

} // namespace

int run_doctor(const jobd_config& cfg) {
  report r;
  check_store(r, cfg);
  check_export(r, cfg);
  check_openai(r, cfg);
  check_types(r, cfg);
  std::cout << (r.failures == 0 ? "doctor: nothing failed\n"
                                : "doctor: " + std::to_string(r.failures)
                                    + " check(s) failed\n");
  return r.failures == 0 ? 0 : 1;
}

} // namespace jobd
