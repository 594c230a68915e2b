# compile_kernel.cmake: turn one shaders/NAME.kc into everything the library embeds.
#
# Run as: cmake -DKC=<file.kc> -DNAME=<name> -DSHADERS=<dir> -DOUT=<dir>
#               -DCC=<c compiler> -DGLSLC=<glslc or ""> -DSPIRV_VAL=<spirv-val> -P compile_kernel.cmake
# Writes into OUT:
#   NAME.cl        OpenCL C (the .kc expanded with prelude_cl.h)
#   NAME.comp      GLSL (expanded with prelude_glsl.h, "#version 450" prepended)
#   NAME.spv       SPIR-V from glslc (any warning is an error), checked by spirv-val
#   kernel_NAME.h  the params struct and buffer count (expanded with prelude_host.h)
#   kernel_NAME.c  the OpenCL source and SPIR-V words as a porta_kernel_desc
# The C preprocessor does the expansion, not glslang's: it has no '#' or '##'
# surprises and is the same on every platform.

function(preprocess prelude output)
  execute_process(
    COMMAND "${CC}" -E -P -x c -nostdinc -I "${SHADERS}" -include "${SHADERS}/${prelude}" "${KC}"
    OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${KC}: preprocessing with ${prelude} failed:\n${err}")
  endif()
  set(${output} "${text}" PARENT_SCOPE)
endfunction()

preprocess(prelude_cl.h cl_text)
file(WRITE "${OUT}/${NAME}.cl" "${cl_text}")

# SPIR-V only when the Vulkan backend is built (GLSLC given); otherwise the
# kernel carries an empty SPIR-V array that nothing reads.
if(GLSLC)
  preprocess(prelude_glsl.h glsl_text)
  file(WRITE "${OUT}/${NAME}.comp" "#version 450\n${glsl_text}")
  execute_process(
    COMMAND "${GLSLC}" -fshader-stage=compute --target-env=vulkan1.1 -Werror -O
            "${OUT}/${NAME}.comp" -o "${OUT}/${NAME}.spv"
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
    message(FATAL_ERROR "${KC}: glslc failed or warned (see ${OUT}/${NAME}.comp):\n${out}${err}")
  endif()
  execute_process(COMMAND "${SPIRV_VAL}" --target-env vulkan1.1 "${OUT}/${NAME}.spv"
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${KC}: spirv-val rejected the SPIR-V:\n${out}${err}")
  endif()
endif()

# The host interface: the text between the markers prelude_host.h emits.
preprocess(prelude_host.h host_text)
string(FIND "${host_text}" "PORTA_HOST_CUT_BEGIN" begin)
string(FIND "${host_text}" "PORTA_HOST_CUT_END" end)
if(begin LESS 0 OR end LESS begin)
  message(FATAL_ERROR "${KC}: no KERNEL_BEGIN(${NAME}) found")
endif()
math(EXPR begin "${begin} + 20")
math(EXPR length "${end} - ${begin}")
string(SUBSTRING "${host_text}" ${begin} ${length} interface)
string(FIND "${interface}" "porta_params_${NAME} " named)
if(named LESS 0)
  message(FATAL_ERROR "${KC}: KERNEL_BEGIN must name the kernel after its file (${NAME})")
endif()
# The structs the kernel declares (prelude_host.h marks them), each guarded
# so that kernels sharing a header can be included together.
set(structs "")
set(snames "")
set(rest "${host_text}")
string(FIND "${rest}" "PORTA_HOST_STRUCT_BEGIN" sb)
while(sb GREATER -1)
  math(EXPR sb "${sb} + 23")
  string(SUBSTRING "${rest}" ${sb} -1 rest)
  string(FIND "${rest}" "PORTA_HOST_STRUCT_END" se)
  string(SUBSTRING "${rest}" 0 ${se} body)
  string(STRIP "${body}" body)
  string(REGEX MATCH "^[A-Za-z_][A-Za-z_0-9]*" sname "${body}")
  list(APPEND snames ${sname})
  string(LENGTH "${sname}" slen)
  string(SUBSTRING "${body}" ${slen} -1 body)
  string(APPEND structs "#ifndef PORTA_KC_STRUCT_${sname}\n#define PORTA_KC_STRUCT_${sname}\n"
         "${body}\n#endif\n")
  string(SUBSTRING "${rest}" ${se} -1 rest)
  string(FIND "${rest}" "PORTA_HOST_STRUCT_BEGIN" sb)
endwhile()
# On the host each struct is porta_kc_NAME (lib/ has names of its own).
set(header "${structs}${interface}")
foreach(sname IN LISTS snames)
  string(REGEX REPLACE "([ (])${sname}([ ;)])" "\\1porta_kc_${sname}\\2" header "${header}")
endforeach()
file(WRITE "${OUT}/kernel_${NAME}.h"
     "/* Generated from shaders/${NAME}.kc by cmake/compile_kernel.cmake. Do not edit. */\n"
     "${header}\n")

# A kernel that names LOCAL_SIZE_MAX sizes shared arrays by it: the host
# caps its workgroups to that size (0: the device's limit alone).
file(READ "${KC}" kc_text)
if(kc_text MATCHES "LOCAL_SIZE_MAX")
  file(STRINGS "${SHADERS}/local_size_max.h" max_local REGEX "^#define LOCAL_SIZE_MAX")
  string(REGEX REPLACE "^#define LOCAL_SIZE_MAX ([0-9]+)u.*" "\\1" max_local "${max_local}")
else()
  set(max_local 0)
endif()

# OpenCL source as a C string literal, one source line per literal line.
string(REPLACE "\\" "\\\\" cl_c "${cl_text}")
string(REPLACE "\"" "\\\"" cl_c "${cl_c}")
string(REPLACE "\n" "\\n\"\n    \"" cl_c "${cl_c}")

# SPIR-V as little-endian 32-bit words (one 0 word when there is none, as
# C has no empty arrays; spirv_bytes is then 0).
if(GLSLC)
  file(READ "${OUT}/${NAME}.spv" spv_hex HEX)
else()
  set(spv_hex "")
endif()
string(LENGTH "${spv_hex}" hex_len)
math(EXPR spv_bytes "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
                     "0x\\4\\3\\2\\1u," spv_words "${spv_hex}")
string(REGEX REPLACE "(0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,0x[0-9a-f]+u,)"
                     "\\1\n    " spv_words "${spv_words}")
if(spv_words STREQUAL "")
  set(spv_words "0u")
endif()

string(SHA256 digest "${cl_text}${spv_hex}")
string(SUBSTRING "${digest}" 0 16 hash16)

file(WRITE "${OUT}/kernel_${NAME}.c"
"/* Generated from shaders/${NAME}.kc by cmake/compile_kernel.cmake. Do not edit. */
#include \"porta_kernels.h\"

static const char cl_source[] =
    \"${cl_c}\";

static const uint32_t spirv[] = {
    ${spv_words}
};

const porta_kernel_desc porta_kernel_desc_${NAME} = {
    .name = \"${NAME}\",
    .cl_source = cl_source,
    .spirv = spirv,
    .spirv_bytes = ${spv_bytes},
    .n_buffers = porta_buffers_${NAME},
    .params_bytes = sizeof(porta_params_${NAME}),
    .shared_bytes = porta_shared_bytes_${NAME},
    .max_local_size = ${max_local},
    .source_hash = 0x${hash16}ull,
};
")
