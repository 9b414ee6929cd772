modelport_add_fuzzer(fuzz_model_json SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_model_json.cpp LIBS modelport::core)
