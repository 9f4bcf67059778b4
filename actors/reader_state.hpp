// State of a reader actor (interface: reader_actor.hpp; behaviour:
// reader_actor.cpp): its read-only connection.
#pragma once

#include <memory>

#include <caf/stateful_actor.hpp>

#include "actors/reader_actor.hpp"
#include "storage/store.hpp"

namespace jobd {

struct reader_state {
  static inline const char* name = "jobd.reader";
  /// Opened read-only; closed when the actor ends.
  std::shared_ptr<job_store> store;
};

using reader_ptr = reader_actor::stateful_pointer<reader_state>;

reader_actor::behavior_type reader_fn(reader_ptr self,
                                      std::shared_ptr<job_store> store);

} // namespace jobd
