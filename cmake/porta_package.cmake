# porta_package.cmake: Debian packages with `cpack -G DEB` from a build
# (a shared one: BUILD_SHARED_LIBS=ON), one per install component:
#
#   libporta0     runtime: libporta.so.0, libporta_train.so.0
#   libporta-dev  headers, the .so links, the CMake package, pkg-config
#   porta-tools   porta-info, porta-check, porta-train, porta-sample,
#                 porta-bench, porta-greedylr
#
# Each package's dependencies on other packages come from the shared
# libraries its files actually link (dpkg-shlibdeps); the -dev and tools
# packages also depend on the exact runtime package.

set(CPACK_PACKAGE_NAME porta)
set(CPACK_PACKAGE_VENDOR "porta")
set(CPACK_PACKAGE_CONTACT "porta developers")
# Every package's one-line synopsis; the component descriptions below follow it.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libporta${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "porta trains neural networks on any GPU that speaks OpenCL or Vulkan, and on
CPUs through PoCL and Mesa. This package holds the shared libraries:
libporta (the core) and libporta_train (the training toolkit).")
# A shlibs file, so packages built against libporta get their dependency
# on it from dpkg-shlibdeps too.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libporta-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "porta's development files: the headers (porta/porta.h, porta/train.h, porta/check.h),
the CMake package (find_package(porta)) and the pkg-config files (porta,
porta-train).")
set(CPACK_COMPONENT_DEV_DEPENDS runtime)

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME porta-tools)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
    "porta's programs: porta-info, porta-check (is porta right and fast on
this machine's devices), porta-train (vision and text), porta-sample,
porta-bench and porta-greedylr.")
set(CPACK_COMPONENT_TOOLS_DEPENDS runtime)
# dpkg-shlibdeps must find libporta.so.0, which the tools link, in this
# build rather than on the system.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_CURRENT_BINARY_DIR})

include(CPack)
