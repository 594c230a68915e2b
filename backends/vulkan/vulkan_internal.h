/* vulkan_internal.h: state shared by the files of the Vulkan backend.
 *
 * Nothing here is visible outside backends/vulkan. The backend keeps all its
 * state in one vkb_impl (porta_backend.impl); there is no global mutable state.
 * A backend is not thread-safe: one thread drives one opened device.
 *
 * Command model: commands are recorded into the current batch (a command
 * buffer with its fence, descriptor pools and staging arena). submit() ends
 * and submits it and moves to the next batch of a small ring; a batch is
 * recycled once its fence has signalled. Because a fence signal covers every
 * earlier submission on the queue, batches complete in serial order, and a
 * serial number is enough to know what the device has finished.
 */
#ifndef PORTA_VULKAN_INTERNAL_H
#define PORTA_VULKAN_INTERNAL_H

#include <vulkan/vulkan.h>

#include "backend.h"

/* Batches in flight before recording waits for the oldest one. */
#define VKB_RING 8
/* A batch is submitted by itself once it holds this many dispatches. */
#define VKB_MAX_BATCH_DISPATCHES 4096
/* Descriptor sets (and storage buffer descriptors per set) per pool. */
#define VKB_POOL_SETS 256
#define VKB_POOL_DESCRIPTORS (VKB_POOL_SETS * 8)
/* Staging: chunk size, largest piece of one write, and what one batch may
 * stage before it is submitted by itself. Chunks above VKB_STAGING_KEEP are
 * freed when their batch is recycled instead of being kept for reuse. */
#define VKB_STAGING_CHUNK ((VkDeviceSize)4 << 20)
#define VKB_STAGING_PIECE ((VkDeviceSize)32 << 20)
#define VKB_STAGING_BUDGET ((VkDeviceSize)128 << 20)
#define VKB_STAGING_KEEP ((VkDeviceSize)16 << 20)
/* Largest read staged at once; larger reads go in pieces. */
#define VKB_READBACK_PIECE ((VkDeviceSize)64 << 20)
/* vkCmdUpdateBuffer's limit: small aligned writes go inline. */
#define VKB_INLINE_WRITE_MAX 65536

struct porta_bbuffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    int host_coherent;                 /* host-visible and coherent: may be mapped directly */
    void *map;                         /* mapped on first direct access */
    struct porta_bbuffer *prev, *next; /* live list, freed at destroy */
};

/* A host-visible buffer, persistently mapped. */
typedef struct vkb_host_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *map;
    int coherent;
} vkb_host_buffer;

typedef struct vkb_chunk {
    vkb_host_buffer hb;
    VkDeviceSize used;
} vkb_chunk;

typedef struct vkb_pool {
    VkDescriptorPool pool;
    uint32_t sets_left;
    uint32_t descriptors_left;
} vkb_pool;

typedef struct vkb_batch {
    VkCommandBuffer cmd;
    VkFence fence;
    uint64_t serial;
    int recording; /* begun, commands may be recorded */
    int in_flight; /* submitted, fence not yet recycled */
    uint32_t n_dispatches;
    vkb_pool *pools;
    uint32_t n_pools, cur_pool;
    vkb_chunk *chunks;
    uint32_t n_chunks, cur_chunk;
    VkDeviceSize staged;
} vkb_batch;

/* Shader module and layouts for one kernel desc. */
typedef struct vkb_program {
    const porta_kernel_desc *desc;
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
} vkb_program;

struct porta_bkernel {
    vkb_program *prog;
    porta_kernel_variant variant;
    VkPipeline pipeline;
};

typedef struct vkb_deferred {
    porta_bbuffer *buf;
    uint64_t serial; /* free once completed_serial >= serial */
} vkb_deferred;

/* What has been recorded since the last barrier of each kind. */
enum {
    VKB_DIRTY_COMPUTE = 1u,  /* dispatches since the last barrier */
    VKB_DIRTY_ANY = 2u,      /* any command since the last full barrier */
    VKB_DIRTY_TRANSFER = 4u, /* transfers since the last full barrier */
};

typedef struct vkb_impl {
    porta_backend *b;
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    uint64_t validation_errors; /* error-severity reports (a subset of the counter) */
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    uint32_t family;
    uint32_t timestamp_bits;
    VkDevice device;
    VkQueue queue;
    VkCommandPool cmd_pool;
    porta_status broken; /* set after device loss or a failed submission */

    vkb_batch ring[VKB_RING];
    uint32_t cur;
    uint64_t last_serial;      /* serial of the newest batch begun */
    uint64_t submitted_serial; /* serial of the newest batch submitted */
    uint64_t completed_serial; /* the device has finished up to this */
    unsigned dirty;

    porta_bbuffer live; /* sentinel of the live buffer list */
    vkb_deferred *deferred;
    size_t n_deferred, cap_deferred;
    vkb_host_buffer readback;
    uint64_t n_allocations; /* VkDeviceMemory objects alive */

    VkPipelineCache pipeline_cache;
    char cache_dir[4096];
    char cache_file[64];
    size_t cache_loaded_bytes; /* pipeline cache data accepted at open */
    int keep_source;
    uint32_t pipelines_built;
    vkb_program **programs;
    size_t n_programs, cap_programs;
    porta_bkernel **kernels;
    size_t n_kernels, cap_kernels;

    VkQueryPool queries;
    unsigned char ts_written[PORTA_TIMESTAMP_SLOTS];
} vkb_impl;

/* vulkan_errors.c */
const char *vkb_result_name(VkResult r);
porta_status vkb_status_of(VkResult r);
/* Set the message "<call>: <VkResult name>" and return the mapped status
 * (marks the backend broken on VK_ERROR_DEVICE_LOST). */
porta_status vkb_fail(vkb_impl *vk, VkResult r, const char *call);
/* "\n" if the message already holds text (to append a line), else "". */
const char *vkb_msg_sep(const porta_msg *msg);

/* vulkan_backend.c: recording */
porta_status vkb_check_alive(vkb_impl *vk);
porta_status vkb_begin(vkb_impl *vk, VkCommandBuffer *out);
porta_status vkb_begin_transfer(vkb_impl *vk, VkCommandBuffer *out);
void vkb_end_transfer(vkb_impl *vk);
void vkb_full_barrier(vkb_impl *vk, VkCommandBuffer cmd);
void vkb_host_read_barrier(vkb_impl *vk, VkCommandBuffer cmd);
int vkb_idle(const vkb_impl *vk);
porta_status vkb_submit(porta_backend *b);
porta_status vkb_wait(porta_backend *b);
/* Submit and wait without counting a host wait (the caller counts it). */
porta_status vkb_sync(vkb_impl *vk);

/* vulkan_memory.c */
porta_status vkb_buffer_alloc(porta_backend *b, size_t bytes, porta_bbuffer **out);
void vkb_buffer_free(porta_backend *b, porta_bbuffer *buf);
porta_status vkb_buffer_write(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                              const void *src);
porta_status vkb_buffer_read(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                             void *dst);
porta_status vkb_buffer_fill(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                             uint32_t pattern);
porta_status vkb_buffer_copy(porta_backend *b, porta_bbuffer *src, size_t src_offset,
                             porta_bbuffer *dst, size_t dst_offset, size_t bytes);
void vkb_batch_reset_staging(vkb_impl *vk, vkb_batch *batch);
void vkb_batch_free_staging(vkb_impl *vk, vkb_batch *batch);
void vkb_release_deferred(vkb_impl *vk);
void vkb_free_all_buffers(vkb_impl *vk);
void vkb_host_buffer_destroy(vkb_impl *vk, vkb_host_buffer *hb);

/* vulkan_pipeline.c */
porta_status vkb_kernel_get(porta_backend *b, const porta_kernel_desc *desc,
                            const porta_kernel_variant *variant, porta_bkernel **out);
porta_status vkb_alloc_set(vkb_impl *vk, vkb_batch *batch, const porta_bkernel *k,
                           VkDescriptorSet *out);
void vkb_batch_reset_pools(vkb_impl *vk, vkb_batch *batch);
void vkb_batch_free_pools(vkb_impl *vk, vkb_batch *batch);
porta_status vkb_pipeline_cache_open(vkb_impl *vk, const porta_backend_options *opt);
void vkb_pipeline_cache_save(vkb_impl *vk);
void vkb_pipelines_destroy(vkb_impl *vk);

#endif
