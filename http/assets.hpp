// Files built into the binary: the dashboard (http/assets/*) and the OpenAPI
// spec (http/openapi.yaml). The bytes are generated into a .cpp at build time
// by http/embed_assets.cmake, so jobd serves them without any file on disk
// and works offline.
#pragma once

#include <string_view>

namespace jobd {

struct embedded_asset {
  std::string_view name;         ///< file name: "index.html", "openapi.yaml"
  std::string_view content_type; ///< from the extension
  std::string_view data;
  std::string_view etag;         ///< quoted hash of the bytes
};

/// The asset with this file name, or nullptr.
const embedded_asset* find_asset(std::string_view name);

} // namespace jobd
