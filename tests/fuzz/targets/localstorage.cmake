# The plugin's static store library (base64, JSON reader, key layout) and the core's parser,
# which the JSON reader is checked against.
modelport_add_fuzzer(fuzz_localstorage SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_localstorage.cpp
                     LIBS modelport::localstorage_store modelport::core)
