# porta_kernels.cmake: shaders/*.kc -> OpenCL C + SPIR-V, embedded in the
# library as generated C (cmake/compile_kernel.cmake does one kernel).
#
# Sets PORTA_KERNEL_DIR (the generated sources and porta_kernels.h) and
# PORTA_KERNEL_SOURCES, and defines the target porta_kernels that builds
# them. Without the Vulkan backend no SPIR-V is made, so glslc and
# spirv-val are not needed.

if(PORTA_VULKAN)
  find_program(PORTA_GLSLC glslc REQUIRED)
  find_program(PORTA_SPIRV_VAL spirv-val REQUIRED)
else()
  set(PORTA_GLSLC "")
  set(PORTA_SPIRV_VAL "")
endif()

set(PORTA_KERNEL_DIR ${CMAKE_CURRENT_BINARY_DIR}/kernels)
file(MAKE_DIRECTORY ${PORTA_KERNEL_DIR})
set(shaders ${CMAKE_CURRENT_SOURCE_DIR}/shaders)
file(GLOB kc_files CONFIGURE_DEPENDS ${shaders}/*.kc)
list(SORT kc_files)
file(GLOB preludes ${shaders}/prelude_*.h ${shaders}/*.kh ${shaders}/local_size_max.h)

set(PORTA_KERNEL_SOURCES "")
set(kernel_headers "")
set(kernel_includes "")
set(kernel_enum "")
set(kernel_externs "")
set(kernel_table "")
foreach(kc ${kc_files})
  get_filename_component(name ${kc} NAME_WE)
  add_custom_command(
    OUTPUT ${PORTA_KERNEL_DIR}/kernel_${name}.c ${PORTA_KERNEL_DIR}/kernel_${name}.h
    COMMAND ${CMAKE_COMMAND} -DKC=${kc} -DNAME=${name} -DSHADERS=${shaders}
            -DOUT=${PORTA_KERNEL_DIR} -DCC=${CMAKE_C_COMPILER} "-DGLSLC=${PORTA_GLSLC}"
            "-DSPIRV_VAL=${PORTA_SPIRV_VAL}" -P ${CMAKE_CURRENT_LIST_DIR}/compile_kernel.cmake
    DEPENDS ${kc} ${preludes} ${CMAKE_CURRENT_LIST_DIR}/compile_kernel.cmake
    COMMENT "Kernel ${name}: OpenCL C + GLSL -> SPIR-V"
    VERBATIM)
  list(APPEND PORTA_KERNEL_SOURCES ${PORTA_KERNEL_DIR}/kernel_${name}.c)
  list(APPEND kernel_headers ${PORTA_KERNEL_DIR}/kernel_${name}.h)
  string(APPEND kernel_includes "#include \"kernel_${name}.h\"\n")
  string(APPEND kernel_enum "    PORTA_KERNEL_${name},\n")
  string(APPEND kernel_externs "extern const porta_kernel_desc porta_kernel_desc_${name};\n")
  string(APPEND kernel_table "    &porta_kernel_desc_${name},\n")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/porta_kernels.h.in ${PORTA_KERNEL_DIR}/porta_kernels.h
               @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/porta_kernels.c.in ${PORTA_KERNEL_DIR}/porta_kernels.c
               @ONLY)
list(APPEND PORTA_KERNEL_SOURCES ${PORTA_KERNEL_DIR}/porta_kernels.c)
add_custom_target(porta_kernels DEPENDS ${PORTA_KERNEL_SOURCES} ${kernel_headers})
