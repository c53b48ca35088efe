# bcauth_fuzz_targets: the fuzz entry points (fuzz/targets.cpp) as an ordinary library, built
# with whatever compiler configures the tree. The libFuzzer executables (fuzz/CMakeLists.txt,
# BCAUTH_FUZZ=ON, clang) and the regression suite tests/test_fuzz_regressions.cpp (the normal
# gcc build) both link it. Included from the top-level CMakeLists.txt.

# The one fixed key the decrypt and intake targets use: fixtures/keys.json "spec-c", read here so
# the fuzzers open no file at run time.
set(_bcauth_keys_file "${PROJECT_SOURCE_DIR}/fixtures/keys.json")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_bcauth_keys_file}")
file(READ "${_bcauth_keys_file}" _bcauth_keys_json)
string(JSON BCAUTH_FUZZ_PRIVATE_KEY GET "${_bcauth_keys_json}" "spec-c" "privateKey")

add_library(bcauth_fuzz_targets STATIC "${CMAKE_CURRENT_LIST_DIR}/targets.cpp")
target_include_directories(bcauth_fuzz_targets PUBLIC "${CMAKE_CURRENT_LIST_DIR}" PRIVATE src)
target_link_libraries(bcauth_fuzz_targets PUBLIC bcauth_http bcauth_service bcauth_demo Poco::DataSQLite Poco::Data
  PRIVATE bcauth_warnings)
target_compile_definitions(bcauth_fuzz_targets PRIVATE BCAUTH_FUZZ_PRIVATE_KEY="${BCAUTH_FUZZ_PRIVATE_KEY}")
