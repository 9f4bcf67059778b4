# The floors' include rule, as a CTest (`layers`): a file includes only its
# own floor and those below it. Run as
#   cmake -DROOT=<tree> -P tests/layers.cmake
# It prints every #include "..." that runs from a lower floor to a higher
# one (file:line: the include, and what that floor may include) and fails
# if there is any. tests/layers/violation holds one, and the CTest
# `layers_selftest` expects this script to fail on it.
cmake_minimum_required(VERSION 3.16)
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P layers.cmake")
endif()

# Floor -> the folders its files may include (itself and the floors below).
set(allowed_storage  storage)
set(allowed_handlers storage handlers)
set(allowed_actors   storage handlers actors)
set(allowed_http     storage handlers actors http)
set(allowed_app      storage handlers actors http app bench)
set(allowed_bench    storage handlers actors http app bench)
set(floors storage handlers actors http app bench)
# Besides the floors, code never includes the tests.
set(known ${floors} tests support)

set(violations 0)
foreach(floor ${floors})
  file(GLOB_RECURSE files ${ROOT}/${floor}/*.hpp ${ROOT}/${floor}/*.cpp)
  foreach(f ${files})
    file(READ ${f} text)
    string(REPLACE ";" "," text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n} + 1")
      if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*\"")
        continue()
      endif()
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1"
        path "${line}")
      if(NOT path MATCHES "/")
        continue() # beside the file: its own floor
      endif()
      string(REGEX REPLACE "/.*" "" top "${path}")
      list(FIND known ${top} is_known)
      list(FIND allowed_${floor} ${top} is_allowed)
      if(is_known GREATER -1 AND is_allowed EQUAL -1)
        file(RELATIVE_PATH rel ${ROOT} ${f})
        string(REPLACE ";" ", " may "${allowed_${floor}}")
        message(SEND_ERROR "${rel}:${n}: #include \"${path}\" runs up from "
          "${floor}/ to ${top}/ (${floor}/ may include: ${may})")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) run from a lower floor to a "
    "higher one")
endif()
message(STATUS "layers: no include runs up a floor")
