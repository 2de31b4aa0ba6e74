# The one list of warning flags (shared/style.md §8). Applied by knet_cc_library / knet_cc_test.
set(KNET_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(APPEND KNET_WARNINGS -Wthread-safety)
endif()
option(KNET_WERROR "Treat warnings as errors" ON)
if(KNET_WERROR)
  list(APPEND KNET_WARNINGS -Werror)
endif()
