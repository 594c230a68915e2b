/* prelude_host.h: extracts a kernel's interface for the host.
 *
 * The build preprocesses each shaders/NAME.kc with this prelude and keeps
 * only the text between PORTA_HOST_CUT_BEGIN and PORTA_HOST_CUT_END: a C
 * struct porta_params_NAME laid out exactly like the kernel's params (all
 * fields 32-bit), the number of buffers it binds and the bytes of its
 * shared arrays. The generated
 * porta_kernels.h collects these for lib/.
 */
#define PORTA_HOST_PARAM_FIELD(type, name) porta_kc_##type name;
#define PORTA_HOST_BUFFER_COUNT(slot, type, name) +1
#define PORTA_HOST_SHARED_BYTES(type, name, count) +sizeof(type) * (count)
/* Shared arrays have a fixed size (README.md): a count that names the
 * workgroup size stops the library's build here. */
#define LOCAL_SIZE porta_shared_arrays_take_LOCAL_SIZE_MAX_not_LOCAL_SIZE
#include "local_size_max.h"
#define KERNEL_BEGIN(kname)                                                                        \
    PORTA_HOST_CUT_BEGIN typedef struct porta_params_##kname {                                     \
        PORTA_PARAMS(PORTA_HOST_PARAM_FIELD)                                                       \
    } porta_params_##kname;                                                                        \
    enum { porta_buffers_##kname = 0 PORTA_BUFFERS(PORTA_HOST_BUFFER_COUNT) };                     \
    enum { porta_shared_bytes_##kname = 0 PORTA_SHARED(PORTA_HOST_SHARED_BYTES) };                 \
    PORTA_HOST_CUT_END
#define KERNEL_END
#define HELPER_DECLARE(name)
#define HELPER_BEGIN(name)
#define HELPER_END
#define HELPER_CALL(name)
/* compile_kernel.cmake copies each struct into the kernel's header, once
 * per name (guarded), so shared arrays of them have a size on the host. */
#define STRUCT_BEGIN(name) PORTA_HOST_STRUCT_BEGIN name typedef struct name {
#define STRUCT_END(name)                                                                           \
    }                                                                                              \
    name;                                                                                          \
    PORTA_HOST_STRUCT_END
#define uint porta_kc_uint
