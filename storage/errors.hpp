// Errors a job store reports. They travel as caf::error (category "jobd"),
// so actors can hand them to whoever asked, and carry a one-line message.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace jobd {

enum class errc : uint8_t {
  none = 0,
  not_found = 1,     ///< no job with that id
  conflict = 2,      ///< the job's state does not allow the change
  invalid = 3,       ///< bad input; the message names the field
  busy = 4,          ///< the database stayed locked past busy_timeout+retries
  io = 5,            ///< the database reported an I/O or other failure
  schema = 6,        ///< the file's schema is newer than this binary knows
  unavailable = 7,   ///< the database cannot be reached (PostgreSQL)
  shutting_down = 8, ///< the runtime is stopping and takes no new work
  full = 9,          ///< the disk (or database) is full: nothing was stored;
                     ///< trying again after space is freed can succeed
};

/// True for errors that abort a whole write batch and that a later try may
/// get past (the database busy, unreachable, full, or an I/O failure):
/// outcomes are written again after these, never dropped.
bool is_transient(errc code);

/// "not_found", "conflict", ...
const char* to_string(errc x);

/// The caf::error category of jobd's errors.
inline caf::atom_value error_category() { return caf::atom("jobd"); }

/// Makes an error with a one-line, user-facing message.
inline caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category(),
                    caf::make_message(std::move(message))};
}

/// The code of a jobd error; errc::io for errors of other categories.
errc code_of(const caf::error& e);

/// The one-line message of an error (ours: the text; CAF's: its rendering).
std::string message_of(const caf::error& e);

} // namespace jobd
