# porta_install.cmake: what `cmake --install` puts where, and the files
# that let another project find it: a CMake package (find_package(porta))
# and pkg-config files (porta, porta-train). Nothing here names a path of
# the build machine: the exported targets and the .pc files locate
# everything relative to where they are installed.

include(CMakePackageConfigHelpers)

set(PORTA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/porta)

install(FILES lib/include/porta/porta.h lib/include/porta/train.h lib/include/porta/check.h
              lib/include/porta/status.h
              lib/include/porta/export.h ${PORTA_GENERATED_INCLUDE}/porta/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/porta COMPONENT dev)

install(TARGETS porta porta_train
        EXPORT porta-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
                NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT porta-targets NAMESPACE porta:: DESTINATION ${PORTA_CMAKE_DIR} COMPONENT dev)

if(BUILD_SHARED_LIBS)
  set(PORTA_CONFIG_SHARED ON)
else()
  set(PORTA_CONFIG_SHARED OFF)
endif()
configure_package_config_file(cmake/porta-config.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/porta-config.cmake
                              INSTALL_DESTINATION ${PORTA_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/porta-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/porta-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/porta-config-version.cmake
        DESTINATION ${PORTA_CMAKE_DIR} COMPONENT dev)

# pkg-config: prefix relative to the .pc file (${pcfiledir}), so an
# installed tree can be moved. The private libraries are what a static
# link needs.
file(RELATIVE_PATH PORTA_PC_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" PORTA_PC_PREFIX "${PORTA_PC_PREFIX}")
set(PORTA_PC_CORE_PRIVATE "-lm")
if(PORTA_OPENCL)
  string(APPEND PORTA_PC_CORE_PRIVATE " -lOpenCL")
endif()
if(PORTA_VULKAN)
  string(APPEND PORTA_PC_CORE_PRIVATE " -lvulkan")
endif()
configure_file(cmake/porta.pc.in ${CMAKE_CURRENT_BINARY_DIR}/porta.pc @ONLY)
configure_file(cmake/porta-train.pc.in ${CMAKE_CURRENT_BINARY_DIR}/porta-train.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/porta.pc ${CMAKE_CURRENT_BINARY_DIR}/porta-train.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

if(PORTA_BUILD_APPS)
  install(TARGETS porta-info porta-check porta-train porta-sample porta-bench porta-greedylr
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
  install(FILES apps/bench_torch.py DESTINATION ${CMAKE_INSTALL_DATADIR}/porta COMPONENT tools)
endif()
install(FILES README.md docs/GREEDYLR.md docs/DRIVERS.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT dev)

