#include "storage/postgres/pg_conninfo.hpp"

#include "storage/percent_decode.hpp"

#include <algorithm>
#include <vector>

namespace jobd {

bool is_pg_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string pg_redact(std::string msg, const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return msg;
  // user:password@ sits in the authority, before any '/' or '?'.
  auto authority = url.substr(0, url.find_first_of("/?", scheme + 3));
  auto at = authority.rfind('@');
  auto colon = authority.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at)
    return msg;
  auto secret = url.substr(colon + 1, at - colon - 1);
  if (secret.empty())
    return msg;
  for (auto pos = msg.find(secret); pos != std::string::npos;
       pos = msg.find(secret, pos + 3))
    msg.replace(pos, secret.size(), "***");
  return msg;
}

bool pg_url_has_password(const std::string& url) {
  if (!is_pg_url(url))
    return false;
  if (pg_redact(url, url) != url)
    return true;
  auto q = url.find('?');
  if (q == std::string::npos)
    return false;
  // A parameter is "password=..." at the start of the query or after '&'.
  for (auto pos = url.find("password=", q); pos != std::string::npos;
       pos = url.find("password=", pos + 1))
    if (url[pos - 1] == '?' || url[pos - 1] == '&')
      return true;
  return false;
}

// The URI form of libpq's connection string (see "Connection URIs" in the
// PostgreSQL manual): postgresql://[user[:password]@][host][:port][,...]
// [/dbname][?param=value&...]. Parsed here, not by libpq's
// PQconninfoParse, only because jobd links libpqxx alone; libpq itself
// still reads the URL when connecting.
caf::expected<pg_conninfo> make_pg_conninfo(const std::string& url,
                                            int32_t connect_timeout_s,
                                            int32_t tcp_user_timeout_ms) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid,
                      "storage URL: " + why
                        + "; expected postgresql://user:password@host:port/"
                          "database?param=value");
  };
  if (!is_pg_url(url))
    return bad("must start with postgresql:// or postgres://");
  auto rest = url.substr(url.find("://") + 3);
  auto qmark = rest.find('?');
  std::string query = qmark == std::string::npos ? "" : rest.substr(qmark + 1);
  rest = rest.substr(0, qmark);
  auto slash = rest.find('/');
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  std::string authority = rest.substr(0, slash);
  auto at = authority.rfind('@');
  std::string userinfo = at == std::string::npos ? "" : authority.substr(0, at);
  std::string hostspec = at == std::string::npos ? authority
                                                 : authority.substr(at + 1);
  std::string user, db, hosts, ports;
  if (!percent_decode(userinfo.substr(0, userinfo.find(':')), user))
    return bad("malformed %-escape in the user name");
  if (!percent_decode(path, db))
    return bad("malformed %-escape in the database name");
  // host[:port] entries, comma-separated; an IPv6 address is in brackets.
  for (size_t pos = 0; pos <= hostspec.size();) {
    auto comma = hostspec.find(',', pos);
    auto entry = hostspec.substr(pos, comma == std::string::npos
                                        ? std::string::npos
                                        : comma - pos);
    std::string host = entry, port;
    auto close = entry.rfind(']');
    auto colon = entry.rfind(':');
    if (colon != std::string::npos
        && (close == std::string::npos || colon > close)) {
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
      if (port.empty()
          || port.find_first_not_of("0123456789") != std::string::npos)
        return bad("port '" + port + "' is not a number");
    }
    std::string decoded;
    if (!percent_decode(host, decoded))
      return bad("malformed %-escape in the host");
    if (!hosts.empty() || pos > 0) {
      hosts += ',';
      ports += ',';
    }
    hosts += decoded;
    ports += port;
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  // Query parameters override the parts above.
  std::vector<std::string> keys;
  for (size_t pos = 0; pos < query.size();) {
    auto amp = query.find('&', pos);
    auto item = query.substr(pos, amp == std::string::npos ? std::string::npos
                                                           : amp - pos);
    auto eq = item.find('=');
    if (item.empty()) { // "?a=1&&b=2" or a trailing '&'
      if (amp == std::string::npos)
        break;
      pos = amp + 1;
      continue;
    }
    if (eq == std::string::npos || eq == 0)
      return bad("query parameter '" + item.substr(0, eq)
                 + "' needs the form name=value");
    std::string key, value;
    if (!percent_decode(item.substr(0, eq), key)
        || !percent_decode(item.substr(eq + 1), value))
      return bad("malformed %-escape in query parameter '"
                 + item.substr(0, eq) + "'");
    if (key == "host" || key == "hostaddr")
      hosts = value;
    else if (key == "port")
      ports = value;
    else if (key == "user")
      user = value;
    else if (key == "dbname")
      db = value;
    keys.push_back(key);
    if (amp == std::string::npos)
      break;
    pos = amp + 1;
  }
  pg_conninfo out;
  out.conninfo = url;
  auto add_default = [&](const std::string& key, const std::string& value) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end())
      return;
    auto last = out.conninfo.back();
    if (last != '?' && last != '&')
      out.conninfo += out.conninfo.find('?') == std::string::npos ? '?' : '&';
    out.conninfo += key + "=" + value;
  };
  add_default("application_name", "jobd");
  add_default("client_encoding", "UTF8"); // job text is UTF-8 JSON
  add_default("connect_timeout", std::to_string(connect_timeout_s));
  // An idle connection to a vanished server (network cut, VM gone) is
  // noticed within ~90 s instead of the OS default of hours.
  add_default("keepalives_idle", "60");
  add_default("keepalives_interval", "10");
  add_default("keepalives_count", "3");
  // Data unacknowledged this long (a cut mid-statement) ends the
  // connection, instead of TCP's retransmissions for ~15 minutes.
  if (tcp_user_timeout_ms > 0)
    add_default("tcp_user_timeout", std::to_string(tcp_user_timeout_ms));
  if (hosts.empty() || hosts.find_first_not_of(',') == std::string::npos)
    hosts = "local socket";
  if (ports.empty() || ports.find_first_not_of(',') == std::string::npos)
    ports = "5432";
  out.server = (hosts.find(',') == std::string::npos ? hosts + ":" + ports
                                                      : hosts + " ports "
                                                          + ports)
               + ", database "
               + (db.empty() ? (user.empty() ? "(default)" : user) : db)
               + ", user " + (user.empty() ? "(default)" : user);
  return out;
}

} // namespace jobd
