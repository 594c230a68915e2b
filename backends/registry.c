/* registry.c: entry points for an API that this build leaves out.
 *
 * With -DPORTA_OPENCL=OFF or -DPORTA_VULKAN=OFF the missing API enumerates
 * no devices (saying why) and refuses to open. */
#include "backend.h"

#if !defined(PORTA_HAVE_OPENCL)
porta_status porta_opencl_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg)
{
    *out = NULL;
    *count = 0;
    porta_msg_set(msg, PORTA_OK, "OpenCL support was not built (PORTA_OPENCL=OFF)");
    return PORTA_OK;
}

porta_status porta_opencl_open(uint32_t index, const porta_backend_options *opt, porta_backend *b)
{
    (void)index;
    (void)opt;
    return porta_msg_set(b->msg, PORTA_ERROR_BACKEND_UNAVAILABLE,
                         "OpenCL support was not built (PORTA_OPENCL=OFF)");
}
#endif

#if !defined(PORTA_HAVE_VULKAN)
porta_status porta_vulkan_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg)
{
    *out = NULL;
    *count = 0;
    porta_msg_set(msg, PORTA_OK, "Vulkan support was not built (PORTA_VULKAN=OFF)");
    return PORTA_OK;
}

porta_status porta_vulkan_open(uint32_t index, const porta_backend_options *opt, porta_backend *b)
{
    (void)index;
    (void)opt;
    return porta_msg_set(b->msg, PORTA_ERROR_BACKEND_UNAVAILABLE,
                         "Vulkan support was not built (PORTA_VULKAN=OFF)");
}
#endif

/* ISO C forbids an empty translation unit. */
typedef int porta_registry_nonempty;
