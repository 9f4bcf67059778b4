// CAF type IDs of the handlers module's values (a handler's outcome travels
// from the handler actor to its pool and on to the retry actor). One block
// per module: storage, then handlers, then actors.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "handlers/handler.hpp"
#include "storage/type_ids.hpp"

namespace jobd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome& x) {
  return f(caf::meta::type_name("jobd::outcome"), x.ok, x.result, x.error,
           x.permanent, x.retry_after_ms);
}

} // namespace jobd

CAF_BEGIN_TYPE_ID_BLOCK(jobd_handlers, caf::id_block::jobd_storage::end)

  CAF_ADD_TYPE_ID(jobd_handlers, (jobd::outcome))

CAF_END_TYPE_ID_BLOCK(jobd_handlers)
