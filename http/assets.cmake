# Included by the top-level CMakeLists.txt: compiles the dashboard files
# (http/assets/*), the OpenAPI spec and the client package's module and
# types (http/client/index.js, index.d.ts) into jobd_http, so the binary
# serves them with no files on disk. http/embed_assets.cmake writes the .cpp.
# Each file is served under a name: its own for the dashboard and the spec,
# jobs-client.js and jobs-client.d.ts for the client (api.cpp's routes).
file(GLOB JOBD_HTTP_DASHBOARD CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/http/assets/*)
set(JOBD_HTTP_ASSETS "")
set(JOBD_HTTP_ASSET_NAMES "")
foreach(path IN LISTS JOBD_HTTP_DASHBOARD)
  get_filename_component(name "${path}" NAME)
  list(APPEND JOBD_HTTP_ASSETS "${path}")
  list(APPEND JOBD_HTTP_ASSET_NAMES "${name}")
endforeach()
list(APPEND JOBD_HTTP_ASSETS
  ${CMAKE_SOURCE_DIR}/http/openapi.yaml
  ${CMAKE_SOURCE_DIR}/http/client/index.js
  ${CMAKE_SOURCE_DIR}/http/client/index.d.ts)
list(APPEND JOBD_HTTP_ASSET_NAMES openapi.yaml jobs-client.js jobs-client.d.ts)
set(JOBD_HTTP_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/http_assets.cpp)
add_custom_command(
  OUTPUT ${JOBD_HTTP_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${JOBD_HTTP_ASSETS_CPP}
          "-DFILES=${JOBD_HTTP_ASSETS}" "-DNAMES=${JOBD_HTTP_ASSET_NAMES}"
          -P ${CMAKE_SOURCE_DIR}/http/embed_assets.cmake
  DEPENDS ${JOBD_HTTP_ASSETS} ${CMAKE_SOURCE_DIR}/http/embed_assets.cmake
  COMMENT "Embedding the dashboard files into jobd"
  VERBATIM)
target_sources(jobd_http PRIVATE ${JOBD_HTTP_ASSETS_CPP})
