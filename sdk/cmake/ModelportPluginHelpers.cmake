# modelport_add_plugin(<target> NAME <name> SOURCES <src>... [LINK_LIBRARIES <lib>...] [NO_INSTALL])
#
# Builds a scheme plugin the only way the core accepts one: a MODULE library named
# libmodelport_plugin_<name>.so, hidden visibility (only the entry point is exported), linked
# with -Wl,--no-undefined so it cannot lean on symbols of the host, and installed into the plugin
# folder of ABI 1. It links the SDK's headers only, never the core.
#
# MODELPORT_PLUGIN_OUTPUT_DIR, when set, is where the built module is placed (the modelport build
# puts its own plugins next to the core library so that discovery finds them without install).
function(modelport_add_plugin target)
  cmake_parse_arguments(ARG "NO_INSTALL" "NAME" "SOURCES;LINK_LIBRARIES" ${ARGN})
  if(NOT ARG_NAME)
    message(FATAL_ERROR "modelport_add_plugin(${target}): NAME is required")
  endif()
  if(NOT ARG_NAME MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "modelport_add_plugin(${target}): NAME '${ARG_NAME}' must match [a-z0-9_-]+")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "modelport_plugin_${ARG_NAME}"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(MODELPORT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MODELPORT_PLUGIN_OUTPUT_DIR}")
  endif()
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_compile_definitions(${target} PRIVATE MODELPORT_PLUGIN_NAME="${ARG_NAME}")
  if(APPLE)
    target_link_options(${target} PRIVATE "LINKER:-undefined,error")
  elseif(NOT WIN32)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  target_link_libraries(${target} PRIVATE modelport::plugin_sdk ${ARG_LINK_LIBRARIES})
  if(NOT ARG_NO_INSTALL)
    include(GNUInstallDirs)
    install(TARGETS ${target} LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/modelport/plugins/abi1")
  endif()
endfunction()
