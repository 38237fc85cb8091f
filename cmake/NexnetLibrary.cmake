# The layers (netbuf, framework, drivers, netif, inet, toe, sio) are object libraries, made by nexnet_add_layer();
# this file joins them into the one library, nexnet, built shared and static, and installs it with
# its headers, a find_package(nexnet) config and a pkg-config file.

set(NEXNET_LAYERS netbuf framework drivers netif inet toe sio)
set(_objects)
foreach(layer IN LISTS NEXNET_LAYERS)
  list(APPEND _objects $<TARGET_OBJECTS:nexnet_${layer}>)
endforeach()

find_package(Threads REQUIRED)

foreach(kind shared static)
  if(kind STREQUAL "shared")
    add_library(nexnet SHARED ${_objects})
    set(target nexnet)
    set_target_properties(nexnet PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  else()
    add_library(nexnet_static STATIC ${_objects})
    set(target nexnet_static)
    set_target_properties(nexnet_static PROPERTIES OUTPUT_NAME nexnet)
  endif()
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/nexnet>)
  # Boost::headers is public: installed headers use Boost.Intrusive (nexnetConfig finds it).
  target_link_libraries(${target} PUBLIC Threads::Threads Boost::headers PRIVATE $<BUILD_INTERFACE:nexnet_options>)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:PkgConfig::PCAP> $<BUILD_INTERFACE:PkgConfig::URING>
                                          $<BUILD_INTERFACE:PkgConfig::XDP> $<BUILD_INTERFACE:PkgConfig::BPF>)
  if(kind STREQUAL "static")
    # A static archive carries no dependencies of its own: consumers link libpcap, liburing, libxdp
    # and libbpf (with libbpf's libelf and zlib) themselves.
    target_link_libraries(${target} INTERFACE $<BUILD_INTERFACE:PkgConfig::URING> $<INSTALL_INTERFACE:pcap> $<INSTALL_INTERFACE:uring>
                                              $<INSTALL_INTERFACE:xdp> $<INSTALL_INTERFACE:bpf>
                                              $<INSTALL_INTERFACE:elf> $<INSTALL_INTERFACE:z>)
  endif()
  add_library(nexnet::${target} ALIAS ${target})
endforeach()

# Headers keep their layer folder: #include <netbuf/Netbuf.h> after -I<prefix>/include/nexnet.
foreach(layer IN LISTS NEXNET_LAYERS)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nexnet/${layer}
          FILES_MATCHING PATTERN "*.h")
endforeach()

install(TARGETS nexnet nexnet_static EXPORT nexnetTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nexnet)
install(EXPORT nexnetTargets NAMESPACE nexnet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nexnet)

include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nexnetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nexnetConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nexnet)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nexnetConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nexnetConfig.cmake ${PROJECT_BINARY_DIR}/nexnetConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nexnet)

# The .pc file finds the prefix relative to itself, so an installed tree can be moved.
file(RELATIVE_PATH NEXNET_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${PROJECT_SOURCE_DIR}/cmake/nexnet.pc.in ${PROJECT_BINARY_DIR}/nexnet.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nexnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# nexnet_export_for_plugins(TARGET): links the objects of every layer into the program TARGET and
# exports their symbols, so that driver plug-ins it loads at run time (DriverRegistry::loadPlugin)
# use this program's one copy of nexnet: its pools, registries and thread caches. A plug-in links
# no nexnet of its own (see samples/vxlan). Programs that link the shared libnexnet need nothing.
function(nexnet_export_for_plugins target)
  foreach(layer IN LISTS NEXNET_LAYERS)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:nexnet_${layer}>)
  endforeach()
  set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
  target_link_libraries(${target} PRIVATE ${CMAKE_DL_LIBS})
endfunction()

# nexnet_add_driver_plugin(NAME SOURCES...): a driver plug-in, a shared object that links no
# nexnet (it resolves nexnet's symbols in the program that loads it) and is installed in
# <libdir>/nexnet/drivers, where NEXNET_DRIVER_PATH can name the whole folder.
function(nexnet_add_driver_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE nexnet_options)
  set_target_properties(${name} PROPERTIES PREFIX "")
  install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/nexnet/drivers)
endfunction()
