/* local_size_max.h: the largest workgroup of a kernel whose shared arrays
 * are sized by it. Shared arrays have a fixed size (README.md: a shared
 * array sized by the workgroup-size specialisation constant breaks
 * SPIRV-Cross's Metal output, which MoltenVK runs), and the host caps such
 * a kernel's workgroups to this (cmake/compile_kernel.cmake reads it from
 * here). Included by every prelude. */
#define LOCAL_SIZE_MAX 256u
