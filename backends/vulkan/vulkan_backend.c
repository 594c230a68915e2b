/* vulkan_backend.c: instance, device enumeration and caps, open/destroy, and
 * the command stream (recording, barriers, submission, waits, timestamps).
 *
 * The instance requests Vulkan 1.1 and uses no surface extensions. Newer
 * device properties (driver name, subgroup size range) are read through
 * their extensions (VK_KHR_driver_properties, VK_EXT_subgroup_size_control),
 * which is what an instance of version 1.1 may use.
 *
 * Ordering (see backend.h): transfers are fenced by full barriers before and
 * after, dispatches are ordered by barrier() only. Pipeline barriers cover
 * every command earlier in submission order on the queue, so the "dirty"
 * flags that decide which barrier is needed carry across command buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan_internal.h"

#define VKB_API_VERSION VK_API_VERSION_1_1
#define VKB_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"
#define VKB_PORTABILITY_ENUMERATION "VK_KHR_portability_enumeration"
#define VKB_PORTABILITY_SUBSET "VK_KHR_portability_subset"
#define VKB_ENUMERATE_PORTABILITY_BIT 0x00000001 /* VK_INSTANCE_CREATE_..._PORTABILITY_BIT_KHR */

/* ---- small helpers ----------------------------------------------------- */

/* Copy src into dst, cut at cap - 1 bytes (device names may be longer
 * than porta's fields). A plain loop: GCC's -O3 warns about strnlen and
 * snprintf here although neither can overrun. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    while (n + 1 < cap && src[n] != '\0')
        n++;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void version_text(char *out, size_t cap, uint32_t v)
{
    snprintf(out, cap, "%u.%u.%u", (v >> 22) & 0x7fu, (v >> 12) & 0x3ffu, v & 0xfffu);
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x10DE:
        return "NVIDIA";
    case 0x1002:
        return "AMD";
    case 0x8086:
        return "Intel";
    case 0x13B5:
        return "ARM";
    case 0x5143:
        return "Qualcomm";
    case 0x106B:
        return "Apple";
    case 0x10005:
        return "Mesa";
    default:
        return NULL;
    }
}

/* driverVersion is vendor-encoded; used only when driverInfo is unknown. */
static void driver_version_text(char *out, size_t cap, uint32_t vendor, uint32_t v)
{
    if (vendor == 0x10DE) {
        snprintf(out, cap, "%u.%u.%u.%u", (v >> 22) & 0x3ffu, (v >> 14) & 0xffu, (v >> 6) & 0xffu,
                 v & 0x3fu);
        return;
    }
#if defined(_WIN32)
    if (vendor == 0x8086) {
        snprintf(out, cap, "%u.%u", v >> 14, v & 0x3fffu);
        return;
    }
#endif
    version_text(out, cap, v);
}

static int has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkLayerProperties *layers = calloc(n, sizeof(*layers));
    int found = 0;
    if (layers && vkEnumerateInstanceLayerProperties(&n, layers) >= VK_SUCCESS) {
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(layers[i].layerName, name) == 0;
    }
    free(layers);
    return found;
}

static int has_instance_ext(const char *layer, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *exts = calloc(n, sizeof(*exts));
    int found = 0;
    if (exts && vkEnumerateInstanceExtensionProperties(layer, &n, exts) >= VK_SUCCESS) {
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(exts[i].extensionName, name) == 0;
    }
    free(exts);
    return found;
}

static int has_device_ext(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *exts = calloc(n, sizeof(*exts));
    int found = 0;
    if (exts && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, exts) >= VK_SUCCESS) {
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(exts[i].extensionName, name) == 0;
    }
    free(exts);
    return found;
}

/* ---- instance ---------------------------------------------------------- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    vkb_impl *vk = user;
    porta_backend *b = vk->b;
    int error = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    (void)types;
    b->counters.validation_messages++;
    vk->validation_errors += error;
    const char *kind = error ? "error" : "warning";
    porta_msg_append(b->msg, "%s[vulkan validation %s] %s", vkb_msg_sep(b->msg), kind,
                     data && data->pMessage ? data->pMessage : "(no text)");
    return VK_FALSE;
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(vkb_impl *vk)
{
    VkDebugUtilsMessengerCreateInfoEXT info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
        .pfnUserCallback = on_validation_message,
        .pUserData = vk,
    };
    return info;
}

/* Create an instance; `vk` non-NULL enables validation reporting into it.
 * No usable driver gives PORTA_ERROR_BACKEND_UNAVAILABLE. */
static porta_status create_instance(porta_msg *msg, vkb_impl *vk, VkInstance *out)
{
    const char *exts[2];
    uint32_t n_exts = 0;
    const char *layers[1];
    uint32_t n_layers = 0;
    VkDebugUtilsMessengerCreateInfoEXT dbg = messenger_info(vk);
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "porta",
        .pEngineName = "porta",
        .apiVersion = VKB_API_VERSION,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    if (has_instance_ext(NULL, VKB_PORTABILITY_ENUMERATION)) {
        exts[n_exts++] = VKB_PORTABILITY_ENUMERATION;
        info.flags |= VKB_ENUMERATE_PORTABILITY_BIT;
    }
    if (vk) {
        if (!has_layer(VKB_VALIDATION_LAYER))
            return porta_msg_set(msg, PORTA_ERROR_VALIDATION,
                                 "Vulkan validation was requested but %s is not installed "
                                 "(install the Vulkan validation layers, e.g. the "
                                 "vulkan-validationlayers package, or turn validation off)",
                                 VKB_VALIDATION_LAYER);
        if (!has_instance_ext(VKB_VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) &&
            !has_instance_ext(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return porta_msg_set(msg, PORTA_ERROR_VALIDATION,
                                 "Vulkan validation was requested but %s is not available",
                                 VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        layers[n_layers++] = VKB_VALIDATION_LAYER;
        exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        info.pNext = &dbg; /* reports problems of vkCreateInstance itself */
    }
    info.enabledLayerCount = n_layers;
    info.ppEnabledLayerNames = n_layers ? layers : NULL;
    info.enabledExtensionCount = n_exts;
    info.ppEnabledExtensionNames = n_exts ? exts : NULL;
    VkResult r = vkCreateInstance(&info, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
        return porta_msg_set(msg, PORTA_ERROR_BACKEND_UNAVAILABLE,
                             "vkCreateInstance: %s (no Vulkan 1.1 driver (ICD) is installed or "
                             "it cannot be loaded)",
                             vkb_result_name(r));
    if (r == VK_ERROR_LAYER_NOT_PRESENT)
        return porta_msg_set(msg, PORTA_ERROR_VALIDATION, "vkCreateInstance: %s (%s)",
                             vkb_result_name(r), VKB_VALIDATION_LAYER);
    if (r != VK_SUCCESS)
        return porta_msg_set(msg, vkb_status_of(r), "vkCreateInstance: %s", vkb_result_name(r));
    return PORTA_OK;
}

static porta_status create_messenger(vkb_impl *vk)
{
    PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)(void (*)(
        void))vkGetInstanceProcAddr(vk->instance, "vkCreateDebugUtilsMessengerEXT");
    vk->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)(void (*)(
        void))vkGetInstanceProcAddr(vk->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (!create || !vk->destroy_messenger)
        return porta_msg_set(vk->b->msg, PORTA_ERROR_VALIDATION,
                             "vkGetInstanceProcAddr: vkCreateDebugUtilsMessengerEXT not found");
    VkDebugUtilsMessengerCreateInfoEXT info = messenger_info(vk);
    VkResult r = create(vk->instance, &info, NULL, &vk->messenger);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateDebugUtilsMessengerEXT");
    return PORTA_OK;
}

/* ---- physical devices and caps ----------------------------------------- */

/* The queue family porta uses: the first with compute and timestamps, else
 * the first with compute. Returns 0 if the device has no compute queue. */
static int pick_family(VkPhysicalDevice phys, uint32_t *family, uint32_t *ts_bits)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
    VkQueueFamilyProperties *fams = calloc(n ? n : 1, sizeof(*fams));
    int found = 0;
    if (!fams)
        return 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, fams);
    for (int want_ts = 1; want_ts >= 0 && !found; want_ts--) {
        for (uint32_t i = 0; i < n && !found; i++) {
            if (!(fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || fams[i].queueCount == 0)
                continue;
            if (want_ts && fams[i].timestampValidBits == 0)
                continue;
            *family = i;
            *ts_bits = fams[i].timestampValidBits;
            found = 1;
        }
    }
    free(fams);
    return found;
}

static int usable_device(VkPhysicalDevice phys)
{
    VkPhysicalDeviceProperties props;
    uint32_t family, ts_bits;
    vkGetPhysicalDeviceProperties(phys, &props);
    return props.apiVersion >= VKB_API_VERSION && pick_family(phys, &family, &ts_bits);
}

/* The devices porta can use, in enumeration order (index = position). */
static porta_status list_devices(VkInstance inst, porta_msg *msg, VkPhysicalDevice **out,
                                 uint32_t *count, uint32_t *total)
{
    uint32_t n = 0;
    *out = NULL;
    *count = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, &n, NULL);
    if (r == VK_ERROR_INITIALIZATION_FAILED || r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return porta_msg_set(msg, PORTA_ERROR_BACKEND_UNAVAILABLE,
                             "vkEnumeratePhysicalDevices: %s (no Vulkan driver could be loaded)",
                             vkb_result_name(r));
    if (r != VK_SUCCESS)
        return porta_msg_set(msg, vkb_status_of(r), "vkEnumeratePhysicalDevices: %s",
                             vkb_result_name(r));
    *total = n;
    if (n == 0)
        return PORTA_OK;
    VkPhysicalDevice *all = calloc(n, sizeof(*all));
    if (!all)
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "vulkan: out of host memory");
    r = vkEnumeratePhysicalDevices(inst, &n, all);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(all);
        return porta_msg_set(msg, vkb_status_of(r), "vkEnumeratePhysicalDevices: %s",
                             vkb_result_name(r));
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (usable_device(all[i]))
            all[kept++] = all[i];
    }
    *out = all;
    *count = kept;
    return PORTA_OK;
}

static uint64_t largest_device_heap(const VkPhysicalDeviceMemoryProperties *mem)
{
    uint64_t local = 0, any = 0;
    for (uint32_t i = 0; i < mem->memoryHeapCount; i++) {
        uint64_t size = mem->memoryHeaps[i].size;
        if (size > any)
            any = size;
        if ((mem->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && size > local)
            local = size;
    }
    return local ? local : any;
}

static porta_device_type device_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return PORTA_DEVICE_TYPE_CPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return PORTA_DEVICE_TYPE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return PORTA_DEVICE_TYPE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return PORTA_DEVICE_TYPE_VIRTUAL_GPU;
    default:
        return PORTA_DEVICE_TYPE_OTHER;
    }
}

/* Properties read through vkGetPhysicalDeviceProperties2. */
typedef struct vkb_props {
    VkPhysicalDeviceProperties2 p2;
    VkPhysicalDeviceSubgroupProperties subgroup;
    VkPhysicalDeviceMaintenance3Properties m3;
    VkPhysicalDeviceDriverPropertiesKHR driver;
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT size_control;
    int has_driver, has_size_control;
} vkb_props;

static void query_props(VkPhysicalDevice phys, vkb_props *p)
{
    memset(p, 0, sizeof(*p));
    p->p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p->subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    p->m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    p->driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES_KHR;
    p->size_control.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT;
    p->p2.pNext = &p->subgroup;
    p->subgroup.pNext = &p->m3;
    void **tail = &p->m3.pNext;
    p->has_driver = has_device_ext(phys, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    if (p->has_driver) {
        *tail = &p->driver;
        tail = &p->driver.pNext;
    }
    p->has_size_control = has_device_ext(phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    if (p->has_size_control)
        *tail = &p->size_control;
    vkGetPhysicalDeviceProperties2(phys, &p->p2);
}

static void fill_identity(const vkb_props *p, porta_device_caps *caps)
{
    const VkPhysicalDeviceProperties *pr = &p->p2.properties;
    const char *vendor = vendor_name(pr->vendorID);
    copy_str(caps->name, sizeof(caps->name), pr->deviceName);
    if (vendor)
        copy_str(caps->vendor, sizeof(caps->vendor), vendor);
    else
        snprintf(caps->vendor, sizeof(caps->vendor), "0x%04x", pr->vendorID);
    copy_str(caps->platform, sizeof(caps->platform),
             p->has_driver && p->driver.driverName[0] ? p->driver.driverName : "vulkan");
    if (p->has_driver && p->driver.driverInfo[0])
        copy_str(caps->driver, sizeof(caps->driver), p->driver.driverInfo);
    else
        driver_version_text(caps->driver, sizeof(caps->driver), pr->vendorID, pr->driverVersion);
    version_text(caps->api_version, sizeof(caps->api_version), pr->apiVersion);
    caps->type = device_type(pr->deviceType);
    /* Vulkan promises 2.5 ulp; CPU implementations (lavapipe, SwiftShader)
     * compile / and sqrt to IEEE instructions. */
    caps->div_sqrt_rounded = caps->type == PORTA_DEVICE_TYPE_CPU;

    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
        snprintf(uuid + 2 * i, 3, "%02x", pr->pipelineCacheUUID[i]);
    snprintf(caps->cache_key, sizeof(caps->cache_key), "vk-%08x-%08x-%08x-%s-%s-%s", pr->vendorID,
             pr->deviceID, pr->driverVersion, uuid, caps->platform, caps->driver);
}

static void fill_limits(const vkb_props *p, const VkPhysicalDeviceMemoryProperties *mem,
                        uint32_t ts_bits, porta_device_caps *caps)
{
    const VkPhysicalDeviceLimits *lim = &p->p2.properties.limits;
    uint64_t heap = largest_device_heap(mem);
    uint64_t max_alloc = lim->maxStorageBufferRange;
    if (p->m3.maxMemoryAllocationSize && p->m3.maxMemoryAllocationSize < max_alloc)
        max_alloc = p->m3.maxMemoryAllocationSize;
    if (heap < max_alloc)
        max_alloc = heap;
    caps->global_mem_bytes = heap;
    caps->max_alloc_bytes = max_alloc;
    caps->local_mem_bytes = lim->maxComputeSharedMemorySize;
    caps->max_workgroup_size = lim->maxComputeWorkGroupInvocations < lim->maxComputeWorkGroupSize[0]
                                   ? lim->maxComputeWorkGroupInvocations
                                   : lim->maxComputeWorkGroupSize[0];
    for (int i = 0; i < 3; i++)
        caps->max_workgroup_count[i] = lim->maxComputeWorkGroupCount[i];
    if (p->has_size_control && p->size_control.minSubgroupSize) {
        caps->subgroup_min = p->size_control.minSubgroupSize;
        caps->subgroup_max = p->size_control.maxSubgroupSize;
    } else {
        caps->subgroup_min = p->subgroup.subgroupSize;
        caps->subgroup_max = p->subgroup.subgroupSize;
    }
    caps->max_push_bytes = lim->maxPushConstantsSize;
    caps->timestamp_period_ns = ts_bits > 0 ? lim->timestampPeriod : 0.0;
    /* One kernel's buffers live in one descriptor set of the compute stage. */
    uint32_t buffers = lim->maxPerStageDescriptorStorageBuffers;
    if (lim->maxDescriptorSetStorageBuffers < buffers)
        buffers = lim->maxDescriptorSetStorageBuffers;
    if (lim->maxPerStageResources < buffers)
        buffers = lim->maxPerStageResources;
    caps->max_storage_buffers = buffers < PORTA_MAX_BINDINGS ? buffers : PORTA_MAX_BINDINGS;
    caps->max_storage_range = lim->maxStorageBufferRange;
}

static void fill_caps(VkPhysicalDevice phys, uint32_t index, porta_device_caps *caps)
{
    vkb_props p;
    VkPhysicalDeviceMemoryProperties mem;
    uint32_t family = 0, ts_bits = 0;
    query_props(phys, &p);
    vkGetPhysicalDeviceMemoryProperties(phys, &mem);
    pick_family(phys, &family, &ts_bits);
    memset(caps, 0, sizeof(*caps));
    caps->api = PORTA_API_VULKAN;
    caps->index = index;
    fill_identity(&p, caps);
    fill_limits(&p, &mem, ts_bits, caps);
    porta_device_preset_apply(caps);
}

porta_status porta_vulkan_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg)
{
    VkInstance inst = VK_NULL_HANDLE;
    VkPhysicalDevice *devs = NULL;
    uint32_t n = 0, total = 0;
    if (!out || !count)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "vulkan_enumerate: NULL output");
    *out = NULL;
    *count = 0;
    porta_status st = create_instance(msg, NULL, &inst);
    if (st == PORTA_ERROR_BACKEND_UNAVAILABLE)
        return PORTA_OK; /* no driver: zero devices, the message says why */
    if (st != PORTA_OK)
        return st;
    st = list_devices(inst, msg, &devs, &n, &total);
    if (st == PORTA_ERROR_BACKEND_UNAVAILABLE) {
        st = PORTA_OK; /* zero devices, the message says why */
    } else if (st == PORTA_OK && n == 0) {
        porta_msg_set(msg, PORTA_OK,
                      "vulkan: no usable device (%u found; porta needs Vulkan 1.1 and a compute "
                      "queue)",
                      total);
    } else if (st == PORTA_OK) {
        porta_device_caps *caps = calloc(n, sizeof(*caps));
        if (!caps) {
            st = porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "vulkan: out of host memory");
        } else {
            for (uint32_t i = 0; i < n; i++)
                fill_caps(devs[i], i, &caps[i]);
            *out = caps;
            *count = n;
        }
    }
    free(devs);
    vkDestroyInstance(inst, NULL);
    return st;
}

/* ---- open ---------------------------------------------------------------- */

static porta_status choose_device(vkb_impl *vk, uint32_t index)
{
    VkPhysicalDevice *devs = NULL;
    uint32_t n = 0, total = 0;
    porta_status st = list_devices(vk->instance, vk->b->msg, &devs, &n, &total);
    if (st != PORTA_OK)
        return st;
    if (index >= n) {
        free(devs);
        return porta_msg_set(vk->b->msg, PORTA_ERROR_DEVICE_NOT_FOUND,
                             "vulkan:%u does not exist (%u usable Vulkan devices)", index, n);
    }
    vk->phys = devs[index];
    free(devs);
    vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem);
    pick_family(vk->phys, &vk->family, &vk->timestamp_bits);
    fill_caps(vk->phys, index, &vk->b->caps);
    return PORTA_OK;
}

static porta_status create_device(vkb_impl *vk)
{
    const float priority = 1.0f;
    const char *exts[1];
    uint32_t n_exts = 0;
    if (has_device_ext(vk->phys, VKB_PORTABILITY_SUBSET))
        exts[n_exts++] = VKB_PORTABILITY_SUBSET; /* required where advertised (MoltenVK) */
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = vk->family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = n_exts ? exts : NULL,
    };
    VkResult r = vkCreateDevice(vk->phys, &info, NULL, &vk->device);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateDevice");
    vkGetDeviceQueue(vk->device, vk->family, 0, &vk->queue);
    return PORTA_OK;
}

static porta_status create_ring(vkb_impl *vk)
{
    VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = vk->family,
    };
    VkResult r = vkCreateCommandPool(vk->device, &pool, NULL, &vk->cmd_pool);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateCommandPool");
    VkCommandBuffer cmds[VKB_RING];
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = vk->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = VKB_RING,
    };
    r = vkAllocateCommandBuffers(vk->device, &alloc, cmds);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    for (int i = 0; i < VKB_RING; i++) {
        vk->ring[i].cmd = cmds[i];
        r = vkCreateFence(vk->device, &fence, NULL, &vk->ring[i].fence);
        if (r != VK_SUCCESS)
            return vkb_fail(vk, r, "vkCreateFence");
    }
    return PORTA_OK;
}

static porta_status create_queries(vkb_impl *vk)
{
    if (vk->b->caps.timestamp_period_ns <= 0.0)
        return PORTA_OK;
    VkQueryPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = PORTA_TIMESTAMP_SLOTS,
    };
    VkResult r = vkCreateQueryPool(vk->device, &info, NULL, &vk->queries);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateQueryPool");
    return PORTA_OK;
}

static void teardown(vkb_impl *vk)
{
    if (vk->device) {
        vkb_pipeline_cache_save(vk);
        for (int i = 0; i < VKB_RING; i++)
            vk->ring[i].in_flight = 0;
        vk->completed_serial = vk->last_serial;
        vkb_release_deferred(vk);
        vkb_free_all_buffers(vk);
        vkb_host_buffer_destroy(vk, &vk->readback);
        vkb_pipelines_destroy(vk);
        if (vk->queries)
            vkDestroyQueryPool(vk->device, vk->queries, NULL);
        for (int i = 0; i < VKB_RING; i++) {
            vkb_batch_free_pools(vk, &vk->ring[i]);
            vkb_batch_free_staging(vk, &vk->ring[i]);
            if (vk->ring[i].fence)
                vkDestroyFence(vk->device, vk->ring[i].fence, NULL);
        }
        if (vk->cmd_pool)
            vkDestroyCommandPool(vk->device, vk->cmd_pool, NULL);
        vkDestroyDevice(vk->device, NULL);
    }
    if (vk->messenger)
        vk->destroy_messenger(vk->instance, vk->messenger, NULL);
    if (vk->instance)
        vkDestroyInstance(vk->instance, NULL);
    free(vk->deferred);
}

static void vkb_destroy(porta_backend *b)
{
    vkb_impl *vk = b ? b->impl : NULL;
    if (!vk)
        return;
    if (vk->device) {
        if (vk->broken == PORTA_OK)
            vkb_sync(vk); /* send what is still recorded; a failure is in the message */
        VkResult r = vkDeviceWaitIdle(vk->device);
        if (r != VK_SUCCESS)
            porta_msg_append(b->msg, "%svkDeviceWaitIdle: %s", vkb_msg_sep(b->msg),
                             vkb_result_name(r));
    }
    teardown(vk);
    free(vk);
    b->impl = NULL;
}

static porta_status vkb_dispatch(porta_backend *b, porta_bkernel *k, const uint32_t groups[3],
                                 porta_bbuffer *const *bufs, const void *params);
static porta_status vkb_barrier(porta_backend *b);
static porta_status vkb_timestamp(porta_backend *b, uint32_t slot);
static porta_status vkb_timestamps_read(porta_backend *b, uint32_t first, uint32_t count,
                                        uint64_t *ns);

static const porta_backend_ops vkb_ops = {
    .destroy = vkb_destroy,
    .buffer_alloc = vkb_buffer_alloc,
    .buffer_free = vkb_buffer_free,
    .buffer_write = vkb_buffer_write,
    .buffer_read = vkb_buffer_read,
    .buffer_fill = vkb_buffer_fill,
    .buffer_copy = vkb_buffer_copy,
    .kernel_get = vkb_kernel_get,
    .dispatch = vkb_dispatch,
    .barrier = vkb_barrier,
    .submit = vkb_submit,
    .wait = vkb_wait,
    .timestamp = vkb_timestamp,
    .timestamps_read = vkb_timestamps_read,
};

static porta_status open_steps(vkb_impl *vk, uint32_t index, const porta_backend_options *opt)
{
    porta_status st = create_instance(vk->b->msg, opt->validate ? vk : NULL, &vk->instance);
    if (st == PORTA_OK && opt->validate)
        st = create_messenger(vk);
    if (st == PORTA_OK)
        st = choose_device(vk, index);
    if (st == PORTA_OK)
        st = create_device(vk);
    if (st == PORTA_OK)
        st = create_ring(vk);
    if (st == PORTA_OK)
        st = create_queries(vk);
    if (st == PORTA_OK)
        st = vkb_pipeline_cache_open(vk, opt);
    return st;
}

porta_status porta_vulkan_open(uint32_t index, const porta_backend_options *opt, porta_backend *b)
{
    static const porta_backend_options defaults = {0};
    if (!b)
        return PORTA_ERROR_INVALID_ARGUMENT;
    vkb_impl *vk = calloc(1, sizeof(*vk));
    if (!vk)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "vulkan: out of host memory");
    vk->b = b;
    vk->live.next = vk->live.prev = &vk->live;
    b->impl = vk;
    porta_status st = open_steps(vk, index, opt ? opt : &defaults);
    if (st != PORTA_OK) {
        teardown(vk);
        free(vk);
        b->impl = NULL;
        b->ops = NULL;
        return st;
    }
    b->ops = &vkb_ops;
    return PORTA_OK;
}

/* ---- the command stream ------------------------------------------------ */

porta_status vkb_check_alive(vkb_impl *vk)
{
    if (vk->broken == PORTA_OK)
        return PORTA_OK;
    return porta_msg_set(vk->b->msg, vk->broken,
                         "vulkan: the device is unusable after an earlier %s; destroy the context",
                         vk->broken == PORTA_ERROR_DEVICE_LOST ? "VK_ERROR_DEVICE_LOST"
                                                               : "failed submission");
}

int vkb_idle(const vkb_impl *vk)
{
    return !vk->ring[vk->cur].recording && vk->completed_serial == vk->submitted_serial;
}

/* The batch's work is done: make its resources reusable. */
static porta_status recycle(vkb_impl *vk, vkb_batch *bt)
{
    VkResult r = vkResetFences(vk->device, 1, &bt->fence);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkResetFences");
    bt->in_flight = 0;
    vkb_batch_reset_pools(vk, bt);
    vkb_batch_reset_staging(vk, bt);
    if (bt->serial > vk->completed_serial)
        vk->completed_serial = bt->serial;
    vkb_release_deferred(vk);
    return PORTA_OK;
}

/* Recycle an in-flight batch if its fence has signalled; with `block`, wait
 * for it: the ring is full (counted as a queue-full wait, not a host wait:
 * nothing is read or waited for but room). *done tells whether it was
 * recycled. */
static porta_status poll_batch(vkb_impl *vk, vkb_batch *bt, int block, int *done)
{
    *done = 0;
    VkResult r = vkGetFenceStatus(vk->device, bt->fence);
    if (r == VK_NOT_READY && block) {
        vk->b->counters.queue_full_waits++;
        r = vkWaitForFences(vk->device, 1, &bt->fence, VK_TRUE, UINT64_MAX);
    }
    if (r == VK_NOT_READY)
        return PORTA_OK;
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, block ? "vkWaitForFences" : "vkGetFenceStatus");
    *done = 1;
    return recycle(vk, bt);
}

/* Recycle finished batches without blocking. The slot after the newest
 * submission, vk->cur, holds the oldest batch; batches finish in order. */
static porta_status poll_all(vkb_impl *vk)
{
    for (uint32_t i = 0; i < VKB_RING; i++) {
        vkb_batch *bt = &vk->ring[(vk->cur + i) % VKB_RING];
        int done = 0;
        if (!bt->in_flight)
            continue;
        porta_status st = poll_batch(vk, bt, 0, &done);
        if (st != PORTA_OK || !done)
            return st;
    }
    return PORTA_OK;
}

porta_status vkb_begin(vkb_impl *vk, VkCommandBuffer *out)
{
    vkb_batch *bt = &vk->ring[vk->cur];
    if (!bt->recording) {
        int done = 0;
        porta_status st = bt->in_flight ? poll_batch(vk, bt, 1, &done) : PORTA_OK;
        if (st != PORTA_OK)
            return st;
        VkCommandBufferBeginInfo info = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        };
        VkResult r = vkBeginCommandBuffer(bt->cmd, &info);
        if (r != VK_SUCCESS)
            return vkb_fail(vk, r, "vkBeginCommandBuffer");
        bt->recording = 1;
        bt->serial = ++vk->last_serial;
        bt->n_dispatches = 0;
    }
    *out = bt->cmd;
    return PORTA_OK;
}

static void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                           VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                           VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
    };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

void vkb_full_barrier(vkb_impl *vk, VkCommandBuffer cmd)
{
    const VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    memory_barrier(cmd, stages, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, stages,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                       VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    vk->dirty = 0;
}

void vkb_host_read_barrier(vkb_impl *vk, VkCommandBuffer cmd)
{
    (void)vk;
    memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

porta_status vkb_begin_transfer(vkb_impl *vk, VkCommandBuffer *out)
{
    porta_status st = vkb_begin(vk, out);
    if (st == PORTA_OK && (vk->dirty & VKB_DIRTY_ANY))
        vkb_full_barrier(vk, *out);
    return st;
}

void vkb_end_transfer(vkb_impl *vk)
{
    vk->dirty |= VKB_DIRTY_ANY | VKB_DIRTY_TRANSFER;
}

/* The batch could not be submitted: its commands are lost, the stream is
 * broken. Keep the resources for destroy. */
static porta_status submit_failed(vkb_impl *vk, vkb_batch *bt, VkResult r, const char *call)
{
    porta_status st = vkb_fail(vk, r, call);
    bt->recording = 0;
    vk->broken = st;
    return st;
}

porta_status vkb_submit(porta_backend *b)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    vkb_batch *bt = &vk->ring[vk->cur];
    if (st != PORTA_OK || !bt->recording)
        return st != PORTA_OK ? st : poll_all(vk);
    VkResult r = vkEndCommandBuffer(bt->cmd);
    if (r != VK_SUCCESS)
        return submit_failed(vk, bt, r, "vkEndCommandBuffer");
    VkSubmitInfo info = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &bt->cmd,
    };
    r = vkQueueSubmit(vk->queue, 1, &info, bt->fence);
    if (r != VK_SUCCESS)
        return submit_failed(vk, bt, r, "vkQueueSubmit");
    bt->recording = 0;
    bt->in_flight = 1;
    vk->submitted_serial = bt->serial;
    b->counters.submits++;
    vk->cur = (vk->cur + 1) % VKB_RING;
    return poll_all(vk);
}

porta_status vkb_sync(vkb_impl *vk)
{
    VkFence fences[VKB_RING];
    vkb_batch *batches[VKB_RING];
    uint32_t n = 0;
    porta_status st = vkb_submit(vk->b);
    if (st != PORTA_OK)
        return st;
    for (uint32_t i = 0; i < VKB_RING; i++) {
        vkb_batch *bt = &vk->ring[(vk->cur + i) % VKB_RING];
        if (bt->in_flight) {
            batches[n] = bt;
            fences[n++] = bt->fence;
        }
    }
    if (n == 0)
        return PORTA_OK;
    VkResult r = vkWaitForFences(vk->device, n, fences, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkWaitForFences");
    for (uint32_t i = 0; i < n && st == PORTA_OK; i++)
        st = recycle(vk, batches[i]);
    return st;
}

porta_status vkb_wait(porta_backend *b)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st != PORTA_OK)
        return st;
    b->counters.host_waits++;
    return vkb_sync(vk);
}

static porta_status vkb_barrier(porta_backend *b)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st != PORTA_OK || !(vk->dirty & VKB_DIRTY_COMPUTE))
        return st;
    VkCommandBuffer cmd;
    st = vkb_begin(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    memory_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    vk->dirty &= ~(unsigned)VKB_DIRTY_COMPUTE;
    return PORTA_OK;
}

/* ---- dispatch ---------------------------------------------------------- */

static porta_status check_dispatch(vkb_impl *vk, const porta_bkernel *k, const uint32_t groups[3],
                                   porta_bbuffer *const *bufs, const void *params)
{
    porta_msg *msg = vk->b->msg;
    if (!k || !groups)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "dispatch: NULL kernel or grid");
    const porta_kernel_desc *d = k->prog->desc;
    for (int i = 0; i < 3; i++) {
        if (groups[i] > vk->b->caps.max_workgroup_count[i])
            return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "dispatch %s: %u workgroups in dimension %d, the device allows "
                                 "at most %u",
                                 d->name, groups[i], i, vk->b->caps.max_workgroup_count[i]);
    }
    if (d->params_bytes > 0 && !params)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "dispatch %s: NULL params",
                             d->name);
    if (d->n_buffers > 0 && !bufs)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "dispatch %s: NULL buffers",
                             d->name);
    for (uint32_t i = 0; i < d->n_buffers; i++) {
        if (!bufs[i])
            return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "dispatch %s: buffer for binding %u is NULL", d->name, i);
    }
    return PORTA_OK;
}

static porta_status bind_buffers(vkb_impl *vk, VkCommandBuffer cmd, const porta_bkernel *k,
                                 porta_bbuffer *const *bufs)
{
    uint32_t n = k->prog->desc->n_buffers;
    if (n == 0)
        return PORTA_OK;
    VkDescriptorSet set;
    porta_status st = vkb_alloc_set(vk, &vk->ring[vk->cur], k, &set);
    if (st != PORTA_OK)
        return st;
    VkDescriptorBufferInfo infos[PORTA_MAX_BINDINGS];
    VkWriteDescriptorSet writes[PORTA_MAX_BINDINGS];
    for (uint32_t i = 0; i < n; i++) {
        infos[i] = (VkDescriptorBufferInfo){bufs[i]->buffer, 0, VK_WHOLE_SIZE};
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &infos[i],
        };
    }
    vkUpdateDescriptorSets(vk->device, n, writes, 0, NULL);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->prog->layout, 0, 1, &set, 0,
                            NULL);
    return PORTA_OK;
}

static porta_status vkb_dispatch(porta_backend *b, porta_bkernel *k, const uint32_t groups[3],
                                 porta_bbuffer *const *bufs, const void *params)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_dispatch(vk, k, groups, bufs, params);
    if (st != PORTA_OK || groups[0] == 0 || groups[1] == 0 || groups[2] == 0)
        return st;
    vkb_batch *bt = &vk->ring[vk->cur];
    if (bt->recording && bt->n_dispatches >= VKB_MAX_BATCH_DISPATCHES) {
        st = vkb_submit(b);
        if (st != PORTA_OK)
            return st;
    }
    VkCommandBuffer cmd;
    st = vkb_begin(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    if (vk->dirty & VKB_DIRTY_TRANSFER)
        vkb_full_barrier(vk, cmd);
    st = bind_buffers(vk, cmd, k, bufs);
    if (st != PORTA_OK)
        return st;
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
    if (k->prog->desc->params_bytes > 0)
        vkCmdPushConstants(cmd, k->prog->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           k->prog->desc->params_bytes, params);
    vkCmdDispatch(cmd, groups[0], groups[1], groups[2]);
    vk->ring[vk->cur].n_dispatches++;
    vk->dirty |= VKB_DIRTY_COMPUTE | VKB_DIRTY_ANY;
    b->counters.dispatches++;
    return PORTA_OK;
}

/* ---- timestamps -------------------------------------------------------- */

static porta_status vkb_timestamp(porta_backend *b, uint32_t slot)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st != PORTA_OK)
        return st;
    if (!vk->queries)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "timestamp: the compute queue of %s has no timestamps", b->caps.name);
    if (slot >= PORTA_TIMESTAMP_SLOTS)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "timestamp: slot %u out of range (0..%d)", slot,
                             PORTA_TIMESTAMP_SLOTS - 1);
    VkCommandBuffer cmd;
    st = vkb_begin(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    /* Query commands on one query execute in submission order: no barrier. */
    vkCmdResetQueryPool(cmd, vk->queries, slot, 1);
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->queries, slot);
    vk->ts_written[slot] = 1;
    return PORTA_OK;
}

static porta_status check_timestamps(vkb_impl *vk, uint32_t first, uint32_t count, uint64_t *ns)
{
    porta_backend *b = vk->b;
    if (!vk->queries)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "timestamps_read: the compute queue of %s has no timestamps",
                             b->caps.name);
    if (!ns || first >= PORTA_TIMESTAMP_SLOTS || count > PORTA_TIMESTAMP_SLOTS - first)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "timestamps_read: slots [%u, %u+%u) out of range or NULL output",
                             first, first, count);
    for (uint32_t i = first; i < first + count; i++) {
        if (!vk->ts_written[i])
            return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "timestamps_read: slot %u was never written", i);
    }
    return PORTA_OK;
}

static porta_status vkb_timestamps_read(porta_backend *b, uint32_t first, uint32_t count,
                                        uint64_t *ns)
{
    vkb_impl *vk = b->impl;
    uint64_t raw[PORTA_TIMESTAMP_SLOTS];
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_timestamps(vk, first, count, ns);
    if (st != PORTA_OK || count == 0)
        return st;
    b->counters.host_waits++;
    st = vkb_sync(vk);
    if (st != PORTA_OK)
        return st;
    VkResult r =
        vkGetQueryPoolResults(vk->device, vk->queries, first, count, count * sizeof(uint64_t), raw,
                              sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkGetQueryPoolResults");
    uint64_t mask = vk->timestamp_bits >= 64 ? ~0ull : (1ull << vk->timestamp_bits) - 1;
    double period = b->caps.timestamp_period_ns;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t ticks = raw[i] & mask;
        ns[i] = period == 1.0 ? ticks : (uint64_t)((double)ticks * period);
    }
    return PORTA_OK;
}
