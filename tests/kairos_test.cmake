# Helpers that register tests with ctest. A test exits 0 on success, 1 on failure and 77
# when it cannot run here (skip).

# kairos_unit_test(NAME SOURCES src... [LIBS lib...])
function(kairos_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(test_${name} ${T_SOURCES})
  target_include_directories(test_${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(test_${name} PRIVATE ${T_LIBS} Threads::Threads)
  add_test(NAME unit_${name} COMMAND test_${name})
  set_tests_properties(unit_${name} PROPERTIES SKIP_RETURN_CODE 77 LABELS unit TIMEOUT 120)
endfunction()

# kairos_fuzz_target(NAME SOURCE src [LIBS lib...])
# The target source defines LLVMFuzzerTestOneInput(). With KAIROS_FUZZ it is built as a
# libFuzzer binary fuzz_NAME; it is always built as replay_NAME, which runs every file of
# tests/fuzz/corpus/NAME through the target under ctest with the normal compiler.
function(kairos_fuzz_target name)
  cmake_parse_arguments(T "" "SOURCE" "LIBS" ${ARGN})
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  if(KAIROS_FUZZ)
    add_executable(fuzz_${name} ${T_SOURCE})
    target_link_libraries(fuzz_${name} PRIVATE ${T_LIBS} Threads::Threads)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endif()
  add_executable(replay_${name} ${T_SOURCE} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
  target_link_libraries(replay_${name} PRIVATE ${T_LIBS} Threads::Threads)
  add_test(NAME fuzz_replay_${name} COMMAND replay_${name} ${corpus})
  set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()

# kairos_integration_test(NAME SCRIPT script) - a shell script run with the build dir and
# the source dir as arguments.
function(kairos_integration_test name)
  cmake_parse_arguments(T "" "SCRIPT" "" ${ARGN})
  add_test(NAME integration_${name}
           COMMAND sh ${CMAKE_SOURCE_DIR}/tests/integration/${T_SCRIPT}
                   ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(integration_${name} PROPERTIES SKIP_RETURN_CODE 77
                       LABELS integration TIMEOUT 300)
endfunction()
