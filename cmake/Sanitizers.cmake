# KNET_SANITIZE=address,undefined (the asan preset) or thread (tsan). Applied to every target.
set(KNET_SANITIZE "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined")
if(KNET_SANITIZE)
  add_compile_options(-fsanitize=${KNET_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KNET_SANITIZE} -fno-sanitize-recover=all)
endif()
# KNET_FUZZ=ON builds libFuzzer targets (clang only).
option(KNET_FUZZ "Build libFuzzer targets (needs clang)" OFF)
if(KNET_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
