# Included by the top-level CMakeLists.txt: compiles the dashboard files
# (http/assets/*) and the OpenAPI spec into jobd_http, so the binary serves
# them with no files on disk. http/embed_assets.cmake writes the .cpp.
file(GLOB JOBD_HTTP_ASSETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/http/assets/*)
list(APPEND JOBD_HTTP_ASSETS ${CMAKE_SOURCE_DIR}/http/openapi.yaml)
set(JOBD_HTTP_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/http_assets.cpp)
add_custom_command(
  OUTPUT ${JOBD_HTTP_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${JOBD_HTTP_ASSETS_CPP}
          "-DFILES=${JOBD_HTTP_ASSETS}"
          -P ${CMAKE_SOURCE_DIR}/http/embed_assets.cmake
  DEPENDS ${JOBD_HTTP_ASSETS} ${CMAKE_SOURCE_DIR}/http/embed_assets.cmake
  COMMENT "Embedding the dashboard files into jobd"
  VERBATIM)
target_sources(jobd_http PRIVATE ${JOBD_HTTP_ASSETS_CPP})
