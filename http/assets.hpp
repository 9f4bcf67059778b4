// Files built into the binary: the dashboard (http/assets/*), the OpenAPI
// spec (http/openapi.yaml) and the client package's module and types
// (http/client/index.js and index.d.ts, served as jobs-client.js and
// jobs-client.d.ts; see http/assets.cmake). The bytes are generated into a
// .cpp at build time by http/embed_assets.cmake, so jobd serves them without
// any file on disk and works offline.
#pragma once

#include <string_view>

namespace jobd {

struct embedded_asset {
  std::string_view name;         ///< served as: "index.html", "jobs-client.js"
  std::string_view content_type; ///< from the extension
  std::string_view data;
  std::string_view etag;         ///< quoted hash of the bytes
};

/// The asset served under this name, or nullptr.
const embedded_asset* find_asset(std::string_view name);

} // namespace jobd
