// `jobd doctor`: what an operator wants to know before (or instead of)
// starting jobd, checked and printed one line each:
//   ok|warn|FAIL  <what>: <what was found>
// - storage: SQLite file present (or its directory writable), journal mode,
//   schema version against this binary's, job counts, free disk space
//   against storage.min_free_bytes; PostgreSQL: the server answers, schema,
//   job counts. Nothing is created or migrated.
// - export.directory writable (or creatable).
// - the OpenAI API at openai.base_url answers one GET /models with the
//   key (never printed); without a key only a warning, since jobs of the
//   other types run without one.
// Exit 0 when nothing FAILed, else 1.
#pragma once

#include "app/config.hpp"

namespace jobd {

int run_doctor(const jobd_config& cfg);

} // namespace jobd
