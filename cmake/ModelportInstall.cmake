# install(): what `cmake --install <build> --prefix <P>` puts under <P>.
#
#   <P>/include/modelport/*.hpp, plugin_abi.h, plugin.hpp, testkit/*   public headers (core + SDK)
#   <P>/<libdir>/libmodelport.so{,.0,.0.1.0}                             the core (modelport::core)
#   <P>/<libdir>/modelport/plugins/abi1/libmodelport_plugin_*.so        built-in plugins; discovery
#                                                                       looks beside the core first
#   <P>/<bindir>/modelport (+ the plugin tools when they are built)    the command-line tools
#   <P>/<libdir>/cmake/modelport/                                       find_package(modelport CONFIG)
#   <P>/<libdir>/pkgconfig/modelport.pc                                 pkg-config for embedders
#
# Everything is relocatable: the installed tools find the core through an $ORIGIN RPATH, the core
# finds its plugins relative to itself, and both the CMake package and the .pc file compute the
# prefix from their own location, so `--prefix`, DESTDIR and moving the tree all work.
#
# Included last by the top-level CMakeLists.txt, so every target it mentions already exists; the
# optional ones (testkit, plugin tools) are installed only `if(TARGET ...)`.

include(CMakePackageConfigHelpers)

set(MODELPORT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/modelport"
    CACHE STRING "Where the modelport CMake package is installed (relative to the prefix)")
mark_as_advanced(MODELPORT_INSTALL_CMAKEDIR)

# --- RPATH of installed binaries --------------------------------------------------------------
# $ORIGIN-relative, so <P>/bin/modelport finds <P>/<libdir>/libmodelport.so wherever <P> is.
# INSTALL_RPATH_USE_LINK_PATH adds the directories of dependencies found outside the system
# paths (a Boost in /opt, say); it adds nothing for system libraries.
function(_modelport_install_rpath target from_dir)
  if(APPLE)
    set(origin "@loader_path")
  else()
    set(origin "$ORIGIN")
  endif()
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(rpath "${CMAKE_INSTALL_LIBDIR}")
  else()
    file(RELATIVE_PATH rel "${CMAKE_INSTALL_PREFIX}/${from_dir}" "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
    if(rel STREQUAL "")
      set(rpath "${origin}")
    else()
      set(rpath "${origin}/${rel}")
    endif()
  endif()
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "${rpath}" INSTALL_RPATH_USE_LINK_PATH ON)
endfunction()

# --- Exported names: modelport::core, modelport::plugin_sdk, ... ------------------------------
set_target_properties(modelport_core PROPERTIES EXPORT_NAME core)
set_target_properties(modelport_plugin_sdk PROPERTIES EXPORT_NAME plugin_sdk)
_modelport_install_rpath(modelport_core "${CMAKE_INSTALL_LIBDIR}")
# The core's public headers are C++20 (std::span, ...): say so in the exported usage requirements,
# since an embedder's project does not share this project's CMAKE_CXX_STANDARD. (Belongs in
# core/CMakeLists.txt; harmless to repeat once it is there.)
target_compile_features(modelport_core PUBLIC cxx_std_20)

set(_modelport_export_targets modelport_core modelport_plugin_sdk)

# The conformance kit exists only when sdk/testkit is built (MODELPORT_BUILD_TESTS=ON).
set(MODELPORT_INSTALLED_TESTKIT OFF)
if(TARGET modelport_plugin_testkit)
  set(MODELPORT_INSTALLED_TESTKIT ON)
  set_target_properties(modelport_plugin_testkit PROPERTIES EXPORT_NAME plugin_testkit)
  get_target_property(_modelport_testkit_type modelport_plugin_testkit TYPE)
  if(_modelport_testkit_type STREQUAL "SHARED_LIBRARY")
    _modelport_install_rpath(modelport_plugin_testkit "${CMAKE_INSTALL_LIBDIR}")
  endif()
  list(APPEND _modelport_export_targets modelport_plugin_testkit)
endif()
set(MODELPORT_INSTALLED_CONFORMANCE_RUNNER OFF)
if(TARGET modelport-plugin-conformance)
  set(MODELPORT_INSTALLED_CONFORMANCE_RUNNER ON)
  set_target_properties(modelport-plugin-conformance PROPERTIES EXPORT_NAME modelport-plugin-conformance)
  _modelport_install_rpath(modelport-plugin-conformance "${CMAKE_INSTALL_BINDIR}")
  list(APPEND _modelport_export_targets modelport-plugin-conformance)
endif()

install(TARGETS ${_modelport_export_targets}
  EXPORT modelportTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development)

# --- Command-line tools (not exported: nothing links them) ------------------------------------
_modelport_install_rpath(modelport_cli "${CMAKE_INSTALL_BINDIR}")
install(TARGETS modelport_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
foreach(tool IN ITEMS modelport-plugin-info modelport_plugin_info)
  if(TARGET ${tool})
    _modelport_install_rpath(${tool} "${CMAKE_INSTALL_BINDIR}")
    install(TARGETS ${tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
  endif()
endforeach()

# --- Headers ----------------------------------------------------------------------------------
# One include/modelport/ holds the core's and the SDK's headers (both targets' INSTALL_INTERFACE
# point at <P>/include). The testkit's headers come only with the testkit library.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/core/include/modelport/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/modelport" COMPONENT Development
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(FILES
  "${PROJECT_SOURCE_DIR}/sdk/include/modelport/plugin_abi.h"
  "${PROJECT_SOURCE_DIR}/sdk/include/modelport/plugin.hpp"
  "${PROJECT_SOURCE_DIR}/sdk/include/modelport/plugin_storage.hpp"
  "${PROJECT_SOURCE_DIR}/sdk/include/modelport/plugin_model_json.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/modelport" COMPONENT Development)
if(MODELPORT_INSTALLED_TESTKIT AND IS_DIRECTORY "${PROJECT_SOURCE_DIR}/sdk/include/modelport/testkit")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/sdk/include/modelport/testkit/"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/modelport/testkit" COMPONENT Development)
endif()

# --- CMake package ----------------------------------------------------------------------------
install(EXPORT modelportTargets
  NAMESPACE modelport::
  FILE modelportTargets.cmake
  DESTINATION "${MODELPORT_INSTALL_CMAKEDIR}" COMPONENT Development)

# Variables the config template substitutes.
file(STRINGS "${PROJECT_SOURCE_DIR}/sdk/include/modelport/plugin_abi.h" _modelport_abi_line
     REGEX "^#define MODELPORT_PLUGIN_ABI_MAJOR [0-9]+")
string(REGEX REPLACE "^#define MODELPORT_PLUGIN_ABI_MAJOR ([0-9]+).*" "\\1" MODELPORT_PLUGIN_ABI_MAJOR "${_modelport_abi_line}")
if(NOT MODELPORT_PLUGIN_ABI_MAJOR MATCHES "^[0-9]+$")
  message(FATAL_ERROR "ModelportInstall: cannot read MODELPORT_PLUGIN_ABI_MAJOR from plugin_abi.h")
endif()
set(MODELPORT_BOOST_MIN_VERSION 1.81)
set(MODELPORT_CONFIG_PLUGIN_DIR "${CMAKE_INSTALL_LIBDIR}/modelport/plugins/abi${MODELPORT_PLUGIN_ABI_MAJOR}")
set(MODELPORT_CONFIG_INCLUDE_DIR "${CMAKE_INSTALL_INCLUDEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/sdk/cmake/modelportConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/modelportConfig.cmake"
  INSTALL_DESTINATION "${MODELPORT_INSTALL_CMAKEDIR}"
  PATH_VARS MODELPORT_CONFIG_PLUGIN_DIR MODELPORT_CONFIG_INCLUDE_DIR)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/modelportConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/cmake/modelportConfig.cmake"
  "${PROJECT_BINARY_DIR}/cmake/modelportConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/sdk/cmake/ModelportPluginHelpers.cmake"
  DESTINATION "${MODELPORT_INSTALL_CMAKEDIR}" COMPONENT Development)

# --- pkg-config -------------------------------------------------------------------------------
# The prefix is derived from ${pcfiledir}, so the file stays right under any --prefix or DESTDIR.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MODELPORT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(MODELPORT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _modelport_pc_up "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
  string(REGEX REPLACE "/$" "" _modelport_pc_up "${_modelport_pc_up}")
  set(MODELPORT_PC_PREFIX "\${pcfiledir}/${_modelport_pc_up}")
  set(MODELPORT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MODELPORT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(MODELPORT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(MODELPORT_PC_PLUGINDIR "\${libdir}/modelport/plugins/abi${MODELPORT_PLUGIN_ABI_MAJOR}")

# The core's public headers use Boost.JSON types (boost::json::value in ModelArtifacts, ...), so an
# embedder compiles against Boost's headers and links libboost_json itself. Boost ships no .pc
# file, hence no `Requires:`; its flags are spelled out, with -I/-L only when Boost is not in a
# directory the compiler searches anyway.
set(MODELPORT_PC_BOOST_CFLAGS "")
set(MODELPORT_PC_BOOST_LIBS "-lboost_json")
get_target_property(_modelport_boost_inc Boost::headers INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS _modelport_boost_inc)
  if(dir AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND MODELPORT_PC_BOOST_CFLAGS " -I${dir}")
  endif()
endforeach()
foreach(prop IN ITEMS IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_NOCONFIG
                      IMPORTED_LOCATION_DEBUG IMPORTED_LOCATION)
  get_target_property(_modelport_boost_json_lib Boost::json ${prop})
  if(_modelport_boost_json_lib)
    get_filename_component(_modelport_boost_libdir "${_modelport_boost_json_lib}" DIRECTORY)
    if(NOT _modelport_boost_libdir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
      set(MODELPORT_PC_BOOST_LIBS "-L${_modelport_boost_libdir} -Wl,-rpath,${_modelport_boost_libdir} -lboost_json")
    endif()
    break()
  endif()
endforeach()

configure_file("${PROJECT_SOURCE_DIR}/cmake/modelport.pc.in" "${PROJECT_BINARY_DIR}/pkgconfig/modelport.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/modelport.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT Development)
