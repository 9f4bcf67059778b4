// CAF type IDs of the storage module's values, so they can travel in
// messages. One block per module; the storage block comes first.
#pragma once

#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "storage/job.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(jobd_storage, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::new_job))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::lease_ref))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job_filter))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job_page))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::fail_outcome))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job_counts))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job_patch))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::job_change))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::change_page))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::job>))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::new_job>))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::lease_ref>))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::progress_update))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::progress_update>))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::type_pause))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::bulk_request))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::bulk_result))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::schedule))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::schedule>))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::attempt_history))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::worker_info))
  CAF_ADD_TYPE_ID(jobd_storage, (std::vector<jobd::worker_info>))
  CAF_ADD_TYPE_ID(jobd_storage, (jobd::worker_list))

CAF_END_TYPE_ID_BLOCK(jobd_storage)
