# Bazel-like helpers (after abseil's AbseilHelpers.cmake). Each src/<lib>/CMakeLists.txt holds only
# calls to these, so the dependency graph reads like a table.
#
#   knet_cc_library(NAME api HDRS object.h SRCS object.cc DEPS knet::base nlohmann_json::nlohmann_json)
#     -> target knet_api, alias knet::api
#   knet_cc_test(NAME api_test SRCS object_test.cc DEPS knet::api [LABELS root])
#   knet_cc_binary(NAME knet SRCS main.cc DEPS ...)
#   knet_cc_fuzzer(NAME api_codec_fuzzer SRCS fuzz.cc DEPS knet::api CORPUS dir SECONDS 20)
include(CMakeParseArguments)
include(GoogleTest)

function(knet_cc_library)
  cmake_parse_arguments(L "" "NAME" "HDRS;SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target knet_${L_NAME})
  if(L_SRCS)
    add_library(${target} STATIC ${L_SRCS} ${L_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(${target} PRIVATE ${KNET_WARNINGS})
    target_link_libraries(${target} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} INTERFACE ${L_PUBLIC_DEPS} ${L_DEPS})
  endif()
  add_library(knet::${L_NAME} ALIAS ${target})
  # Header self-containment: every public header compiles on its own (target check_headers).
  foreach(h ${L_HDRS})
    get_filename_component(abs ${h} ABSOLUTE)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/src ${abs})
    string(MAKE_C_IDENTIFIER ${rel} id)
    set(tu ${PROJECT_BINARY_DIR}/check_headers/${id}.cc)
    file(GENERATE OUTPUT ${tu} CONTENT "#include \"${rel}\"\n")
    set_property(GLOBAL APPEND PROPERTY KNET_HEADER_TUS ${tu})
    set_property(GLOBAL APPEND PROPERTY KNET_HEADER_DEPS knet::${L_NAME})
  endforeach()
endfunction()

function(knet_cc_test)
  cmake_parse_arguments(T "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_compile_options(${T_NAME} PRIVATE ${KNET_WARNINGS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gmock GTest::gtest_main)
  # Labels: gtest_discover_tests cannot pass a list-valued LABELS through PROPERTIES, so a small
  # test-include script, run after discovery, labels every test of this binary (ctest -L etcd).
  set(labels unit ${T_LABELS})
  gtest_discover_tests(${T_NAME}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    TEST_LIST ${T_NAME}_TESTS
    DISCOVERY_TIMEOUT 60)
  set(label_script ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels.cmake)
  file(WRITE ${label_script}
    "foreach(t IN LISTS ${T_NAME}_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${labels}\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${label_script})
endfunction()

function(knet_cc_binary)
  cmake_parse_arguments(B "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${B_NAME} ${B_SRCS})
  target_compile_options(${B_NAME} PRIVATE ${KNET_WARNINGS})
  target_link_libraries(${B_NAME} PRIVATE ${B_DEPS})
endfunction()

function(knet_cc_bench)
  cmake_parse_arguments(B "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${B_NAME} ${B_SRCS})
  target_compile_options(${B_NAME} PRIVATE ${KNET_WARNINGS})
  target_link_libraries(${B_NAME} PRIVATE ${B_DEPS} benchmark::benchmark)
endfunction()

# A libFuzzer target. Built only with -DKNET_FUZZ=ON (the fuzz preset); registered as a ctest that
# runs for SECONDS over CORPUS (read-only: new inputs go to a scratch dir, not the repository).
function(knet_cc_fuzzer)
  cmake_parse_arguments(F "" "NAME;CORPUS;SECONDS" "SRCS;DEPS" ${ARGN})
  if(NOT KNET_FUZZ)
    return()
  endif()
  add_executable(${F_NAME} ${F_SRCS})
  target_compile_options(${F_NAME} PRIVATE ${KNET_WARNINGS})
  target_link_libraries(${F_NAME} PRIVATE ${F_DEPS})
  target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY KNET_FUZZERS ${F_NAME})
  add_test(NAME ${F_NAME}
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
            sh -c "d=$(mktemp -d) && $<TARGET_FILE:${F_NAME}> -max_total_time=${F_SECONDS} -rss_limit_mb=2048 -timeout=10 -max_len=8192 \"$d\" ${F_CORPUS}; rc=$?; rm -rf \"$d\"; exit $rc")
  set_tests_properties(${F_NAME} PROPERTIES LABELS fuzz)
endfunction()
