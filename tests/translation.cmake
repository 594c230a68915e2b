# translation.cmake: kernels.translation, every kernel the build generated
# (PORTA_KERNEL_DIR) put through the translators real drivers use and we
# cannot run: SPIR-V to MSL (MoltenVK) and HLSL with spirv-cross, OpenCL C
# with clang-14 as OpenCL 1.2 and 3.0 (scripts/check-translation.sh). No
# device needed. Skipped (exit 77, saying which) where spirv-cross or
# clang-14 is not installed; the translations are left in
# <build>/translation to be read.
find_program(PORTA_SPIRV_CROSS spirv-cross)
find_program(PORTA_CLANG_OPENCL clang-14)
set(translation_env "")
if(PORTA_SPIRV_CROSS)
  list(APPEND translation_env SPIRV_CROSS=${PORTA_SPIRV_CROSS})
endif()
if(PORTA_CLANG_OPENCL)
  list(APPEND translation_env CLANG=${PORTA_CLANG_OPENCL})
endif()

add_test(NAME kernels.translation
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check-translation.sh --strict --keep
                 ${PROJECT_BINARY_DIR}/translation ${PORTA_KERNEL_DIR})
# The kernels are the porta_kernels target's outputs: CTest does not build,
# so it reports the test not run (required file missing) until they are,
# rather than checking a half-written directory.
set_tests_properties(kernels.translation PROPERTIES LABELS "fast;host" TIMEOUT 300
                                                    SKIP_RETURN_CODE 77
                                                    REQUIRED_FILES "${PORTA_KERNEL_SOURCES}")
if(translation_env)
  set_tests_properties(kernels.translation PROPERTIES ENVIRONMENT "${translation_env}")
endif()
