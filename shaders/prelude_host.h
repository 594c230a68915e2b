/* prelude_host.h: extracts a kernel's interface for the host.
 *
 * The build preprocesses each shaders/NAME.kc with this prelude and keeps
 * only the text between PORTA_HOST_CUT_BEGIN and PORTA_HOST_CUT_END: a C
 * struct porta_params_NAME laid out exactly like the kernel's params (all
 * fields 32-bit) and the number of buffers it binds. The generated
 * porta_kernels.h collects these for lib/.
 */
#define PORTA_HOST_PARAM_FIELD(type, name) porta_kc_##type name;
#define PORTA_HOST_BUFFER_COUNT(slot, type, name) +1
#define KERNEL_BEGIN(kname)                                                                        \
    PORTA_HOST_CUT_BEGIN typedef struct porta_params_##kname {                                     \
        PORTA_PARAMS(PORTA_HOST_PARAM_FIELD)                                                       \
    } porta_params_##kname;                                                                        \
    enum { porta_buffers_##kname = 0 PORTA_BUFFERS(PORTA_HOST_BUFFER_COUNT) };                     \
    PORTA_HOST_CUT_END
#define KERNEL_END
#define HELPER_DECLARE(name)
#define HELPER_BEGIN(name)
#define HELPER_END
#define HELPER_CALL(name)
#define STRUCT_BEGIN(name) typedef struct name {
#define STRUCT_END(name)                                                                           \
    }                                                                                              \
    name;
