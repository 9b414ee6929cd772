modelport_add_fuzzer(fuzz_weight_decode SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_weight_decode.cpp LIBS modelport::core)
