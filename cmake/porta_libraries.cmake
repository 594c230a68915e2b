# porta_libraries.cmake: the two libraries.
#
#   porta        (porta::porta)        the core: context, devices, buffers,
#                kernels, graphs, optimizers and schedulers, checkpoints.
#                Links only the OpenCL / Vulkan loaders and libm.
#   porta_train  (porta::porta_train)  the training toolkit: image and text
#                readers, the batch loader, metrics log, SVG plots. Adds
#                zlib and threads.
#
# Both are built from object libraries, so that the tests, which look
# inside the library, can link a static copy of the same objects when the
# libraries themselves are shared (PORTA_FOR_TESTS_* below).

set(src ${CMAKE_CURRENT_SOURCE_DIR})

# porta/version.h, generated beside the other headers' build copy.
set(PORTA_GENERATED_INCLUDE ${CMAKE_CURRENT_BINARY_DIR}/include)
configure_file(${src}/cmake/version.h.in ${PORTA_GENERATED_INCLUDE}/porta/version.h @ONLY)

# The internal helpers both libraries need (messages, atomic files, JSON):
# compiled once, linked into each, hidden in each.
add_library(porta_common_objects OBJECT
  ${src}/backends/common/message.c ${src}/lib/io/atomic_file.c ${src}/lib/io/json_parse.c
  ${src}/lib/io/json_text.c)

file(GLOB core_sources CONFIGURE_DEPENDS ${src}/lib/*.c ${src}/lib/graph/*.c ${src}/lib/ref/*.c
     ${src}/lib/check/*.c
     ${src}/lib/optim/*.c ${src}/lib/io/safetensors_*.c ${src}/backends/*.c
     ${src}/backends/common/disk_cache.c ${src}/backends/common/variant.c
     ${src}/backends/common/device_presets.c)
add_library(porta_core_objects OBJECT ${core_sources} ${PORTA_KERNEL_SOURCES})
add_dependencies(porta_core_objects porta_kernels)
target_include_directories(porta_core_objects PRIVATE ${PORTA_KERNEL_DIR} ${src}/shaders)
if(PORTA_TEST_HOOKS)
  target_compile_definitions(porta_core_objects PRIVATE PORTA_TEST_HOOKS=1)
endif()
if(PORTA_OPENCL)
  file(GLOB opencl_sources CONFIGURE_DEPENDS ${src}/backends/opencl/opencl_*.c)
  target_sources(porta_core_objects PRIVATE ${opencl_sources})
  target_compile_definitions(porta_core_objects PRIVATE PORTA_HAVE_OPENCL=1
                                                        CL_TARGET_OPENCL_VERSION=300)
  target_link_libraries(porta_core_objects PRIVATE OpenCL::OpenCL)
endif()
if(PORTA_VULKAN)
  file(GLOB vulkan_sources CONFIGURE_DEPENDS ${src}/backends/vulkan/vulkan_*.c)
  target_sources(porta_core_objects PRIVATE ${vulkan_sources})
  target_compile_definitions(porta_core_objects PRIVATE PORTA_HAVE_VULKAN=1)
  target_link_libraries(porta_core_objects PRIVATE Vulkan::Vulkan)
endif()

file(GLOB train_sources CONFIGURE_DEPENDS ${src}/lib/train/*.c)
add_library(porta_train_objects OBJECT ${train_sources})
target_link_libraries(porta_train_objects PRIVATE ZLIB::ZLIB)

if(BUILD_SHARED_LIBS)
  set(pic ON)
else()
  set(pic OFF)
endif()
foreach(objects porta_common_objects porta_core_objects porta_train_objects)
  target_include_directories(${objects} PRIVATE ${src}/lib/include ${PORTA_GENERATED_INCLUDE}
                                                ${src}/lib ${src}/backends)
  # Hidden by default: only what porta/export.h marks PORTA_API is public.
  set_target_properties(${objects} PROPERTIES POSITION_INDEPENDENT_CODE ${pic}
                                              C_VISIBILITY_PRESET hidden)
endforeach()

# A shared library: libNAME.so.MAJOR with the full version, exporting only
# porta_* (cmake/porta.map; GNU ld, gold and lld read it, Apple's ld does
# not need it).
function(porta_shared_properties name)
  get_target_property(type ${name} TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION}
                                             SOVERSION ${PROJECT_VERSION_MAJOR})
    if(NOT APPLE)
      target_link_options(${name} PRIVATE -Wl,--version-script=${src}/cmake/porta.map)
      if(NOT PORTA_SANITIZE)
        # Every symbol resolved at link time: a missing dependency fails
        # the build, not a user's program.
        target_link_options(${name} PRIVATE -Wl,--no-undefined)
      endif()
      set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${src}/cmake/porta.map)
    endif()
  endif()
endfunction()

# A library of `objects` named `name` (STATIC or SHARED as `kind`, or
# BUILD_SHARED_LIBS's choice when empty) with its usage requirements.
function(porta_add_core name kind)
  add_library(${name} ${kind} $<TARGET_OBJECTS:porta_core_objects>
                              $<TARGET_OBJECTS:porta_common_objects>)
  target_include_directories(
    ${name} PUBLIC $<BUILD_INTERFACE:${src}/lib/include> $<BUILD_INTERFACE:${PORTA_GENERATED_INCLUDE}>
                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${name} PRIVATE m)
  porta_shared_properties(${name})
  if(PORTA_OPENCL)
    target_link_libraries(${name} PRIVATE OpenCL::OpenCL)
  endif()
  if(PORTA_VULKAN)
    target_link_libraries(${name} PRIVATE Vulkan::Vulkan)
  endif()
endfunction()

function(porta_add_train name kind core)
  add_library(${name} ${kind} $<TARGET_OBJECTS:porta_train_objects>
                              $<TARGET_OBJECTS:porta_common_objects>)
  target_link_libraries(${name} PUBLIC ${core} PRIVATE ZLIB::ZLIB Threads::Threads m)
  porta_shared_properties(${name})
endfunction()

porta_add_core(porta "")
porta_add_train(porta_train "" porta)
add_library(porta::porta ALIAS porta)
add_library(porta::porta_train ALIAS porta_train)

# What the tests link: the libraries themselves when static, else a static
# copy of the same objects (the tests call internal functions that a
# shared library does not export).
if(PORTA_BUILD_TESTS)
  if(BUILD_SHARED_LIBS)
    porta_add_core(porta_core_for_tests STATIC)
    porta_add_train(porta_train_for_tests STATIC porta_core_for_tests)
    set(PORTA_FOR_TESTS porta_train_for_tests porta_core_for_tests)
  else()
    set(PORTA_FOR_TESTS porta_train porta)
  endif()
endif()
