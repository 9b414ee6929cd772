# The http(s):// plugin's response handling: Beast's parser on in-memory bytes and the plugin's
# checks, from the plugin's socket-free logic library.
if(TARGET modelport_http_client_logic)
  modelport_add_fuzzer(fuzz_http_response SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http_response.cpp
                       LIBS modelport_http_client_logic)
endif()
