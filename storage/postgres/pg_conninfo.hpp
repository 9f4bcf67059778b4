// Reading a PostgreSQL storage URL: what to hand libpq, and how to name the
// server in messages without revealing the password.
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

#include "storage/errors.hpp"

namespace jobd {

/// How to reach the server a storage URL names.
struct pg_conninfo {
  /// The URL with jobd's defaults added where it sets none
  /// (application_name=jobd, client_encoding=UTF8, connect_timeout, TCP
  /// keepalives, tcp_user_timeout). Holds the password: never print it.
  std::string conninfo;
  /// For messages, without password: "host:port, database d, user u".
  std::string server;
};

/// Reads a libpq connection URI (postgresql://user:pw@host:port/db?k=v).
/// Errors: invalid (malformed: names what, never the password).
/// `tcp_user_timeout_ms` > 0 is added as libpq's tcp_user_timeout unless
/// the URL sets one.
caf::expected<pg_conninfo> make_pg_conninfo(const std::string& url,
                                            int32_t connect_timeout_s,
                                            int32_t tcp_user_timeout_ms = 0);

/// True if `url` names a PostgreSQL database (postgresql:// or postgres://).
bool is_pg_url(const std::string& url);

/// True if the PostgreSQL `url` carries a password (user:password@, or a
/// password= parameter).
bool pg_url_has_password(const std::string& url);

/// `msg` with the URL's password (if any) replaced by "***": for text
/// that libpq built from the URL.
std::string pg_redact(std::string msg, const std::string& url);

} // namespace jobd
