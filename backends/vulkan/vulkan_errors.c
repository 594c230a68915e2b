/* vulkan_errors.c: VkResult names and their porta status codes.
 *
 * Every VkResult value of Vulkan 1.3 (vulkan_core.h 1.3.239), by number so
 * that the table compiles against older headers too. Aliases such as
 * VK_ERROR_OUT_OF_POOL_MEMORY_KHR share a value with the name listed here.
 */
#include "vulkan_internal.h"

typedef struct vkb_result_entry {
    int value;
    const char *name;
} vkb_result_entry;

static const vkb_result_entry result_names[] = {
    {0, "VK_SUCCESS"},
    {1, "VK_NOT_READY"},
    {2, "VK_TIMEOUT"},
    {3, "VK_EVENT_SET"},
    {4, "VK_EVENT_RESET"},
    {5, "VK_INCOMPLETE"},
    {-1, "VK_ERROR_OUT_OF_HOST_MEMORY"},
    {-2, "VK_ERROR_OUT_OF_DEVICE_MEMORY"},
    {-3, "VK_ERROR_INITIALIZATION_FAILED"},
    {-4, "VK_ERROR_DEVICE_LOST"},
    {-5, "VK_ERROR_MEMORY_MAP_FAILED"},
    {-6, "VK_ERROR_LAYER_NOT_PRESENT"},
    {-7, "VK_ERROR_EXTENSION_NOT_PRESENT"},
    {-8, "VK_ERROR_FEATURE_NOT_PRESENT"},
    {-9, "VK_ERROR_INCOMPATIBLE_DRIVER"},
    {-10, "VK_ERROR_TOO_MANY_OBJECTS"},
    {-11, "VK_ERROR_FORMAT_NOT_SUPPORTED"},
    {-12, "VK_ERROR_FRAGMENTED_POOL"},
    {-13, "VK_ERROR_UNKNOWN"},
    {-1000069000, "VK_ERROR_OUT_OF_POOL_MEMORY"},
    {-1000072003, "VK_ERROR_INVALID_EXTERNAL_HANDLE"},
    {-1000161000, "VK_ERROR_FRAGMENTATION"},
    {-1000257000, "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS"},
    {1000297000, "VK_PIPELINE_COMPILE_REQUIRED"},
    {-1000000000, "VK_ERROR_SURFACE_LOST_KHR"},
    {-1000000001, "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR"},
    {1000001003, "VK_SUBOPTIMAL_KHR"},
    {-1000001004, "VK_ERROR_OUT_OF_DATE_KHR"},
    {-1000003001, "VK_ERROR_INCOMPATIBLE_DISPLAY_KHR"},
    {-1000011001, "VK_ERROR_VALIDATION_FAILED_EXT"},
    {-1000012000, "VK_ERROR_INVALID_SHADER_NV"},
    {-1000023000, "VK_ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR"},
    {-1000023001, "VK_ERROR_VIDEO_PICTURE_LAYOUT_NOT_SUPPORTED_KHR"},
    {-1000023002, "VK_ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR"},
    {-1000023003, "VK_ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR"},
    {-1000023004, "VK_ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR"},
    {-1000023005, "VK_ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR"},
    {-1000158000, "VK_ERROR_INVALID_DRM_FORMAT_MODIFIER_PLANE_LAYOUT_EXT"},
    {-1000174001, "VK_ERROR_NOT_PERMITTED_KHR"},
    {-1000255000, "VK_ERROR_FULL_SCREEN_EXCLUSIVE_MODE_LOST_EXT"},
    {1000268000, "VK_THREAD_IDLE_KHR"},
    {1000268001, "VK_THREAD_DONE_KHR"},
    {1000268002, "VK_OPERATION_DEFERRED_KHR"},
    {1000268003, "VK_OPERATION_NOT_DEFERRED_KHR"},
    {-1000338000, "VK_ERROR_COMPRESSION_EXHAUSTED_EXT"},
};

const char *vkb_result_name(VkResult r)
{
    for (size_t i = 0; i < sizeof(result_names) / sizeof(result_names[0]); i++) {
        if (result_names[i].value == (int)r)
            return result_names[i].name;
    }
    return "VK_RESULT_UNKNOWN_VALUE";
}

porta_status vkb_status_of(VkResult r)
{
    switch ((int)r) {
    case VK_SUCCESS:
        return PORTA_OK;
    case VK_ERROR_DEVICE_LOST:
        return PORTA_ERROR_DEVICE_LOST;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_TOO_MANY_OBJECTS:
    case VK_ERROR_FRAGMENTED_POOL:
    case -1000069000: /* VK_ERROR_OUT_OF_POOL_MEMORY */
    case -1000161000: /* VK_ERROR_FRAGMENTATION */
        return PORTA_ERROR_OUT_OF_DEVICE_MEMORY;
    default:
        return PORTA_ERROR_DRIVER;
    }
}

porta_status vkb_fail(vkb_impl *vk, VkResult r, const char *call)
{
    if (r == VK_ERROR_DEVICE_LOST)
        vk->broken = PORTA_ERROR_DEVICE_LOST;
    return porta_msg_set(vk->b->msg, vkb_status_of(r), "%s: %s", call, vkb_result_name(r));
}

const char *vkb_msg_sep(const porta_msg *msg)
{
    return msg && msg->text[0] ? "\n" : "";
}
