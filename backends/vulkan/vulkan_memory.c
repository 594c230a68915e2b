/* vulkan_memory.c: device buffers, staging, and the transfer commands.
 *
 * Each porta buffer is one VkBuffer with its own VkDeviceMemory, preferring
 * a DEVICE_LOCAL memory type. That is simple but counts against
 * maxMemoryAllocationCount (4096 on some Windows drivers); a suballocator
 * would lift the limit if porta ever needs thousands of live buffers.
 *
 * Writes never wait: small aligned ones go inline (vkCmdUpdateBuffer), the
 * rest are copied into a linear staging arena owned by the current batch and
 * recorded as vkCmdCopyBuffer; the arena is reused once the batch's fence
 * has signalled. Only when the device is idle is host-visible coherent
 * device memory written directly. Reads are synchronous: a host-visible
 * coherent buffer is read through its mapping, any other through a readback
 * buffer (preferably HOST_CACHED).
 *
 * Build with -DPORTA_VK_FORCE_STAGING to treat every device buffer as not
 * host-visible, which exercises the discrete-GPU paths on lavapipe.
 */
#include <stdlib.h>
#include <string.h>

#include "vulkan_internal.h"

#define VKB_STAGING_ALIGN 16

typedef struct vkb_mem_pref {
    VkMemoryPropertyFlags want;
    VkMemoryPropertyFlags avoid;
} vkb_mem_pref;

static const vkb_mem_pref device_prefs[] = {
    {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0},
    {0, 0},
};

static const vkb_mem_pref staging_prefs[] = {
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
     VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0},
};

static const vkb_mem_pref readback_prefs[] = {
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
     VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0},
    {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, 0},
};

#define N_PREFS(a) (sizeof(a) / sizeof((a)[0]))

/* The first memory type allowed by `bits` that matches a preference, trying
 * preferences in order. Returns -1 if none. */
static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t bits,
                            const vkb_mem_pref *prefs, size_t n_prefs)
{
    for (size_t p = 0; p < n_prefs; p++) {
        for (uint32_t i = 0; i < mem->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = mem->memoryTypes[i].propertyFlags;
            if ((bits & (1u << i)) && (f & prefs[p].want) == prefs[p].want && !(f & prefs[p].avoid))
                return (int)i;
        }
    }
    return -1;
}

static porta_status create_buffer(vkb_impl *vk, VkDeviceSize size, VkBufferUsageFlags usage,
                                  VkBuffer *out)
{
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(vk->device, &info, NULL, out);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateBuffer");
    return PORTA_OK;
}

/* Allocate and bind memory for `buf`; *flags gets the chosen type's flags. */
static porta_status bind_memory(vkb_impl *vk, VkBuffer buf, const vkb_mem_pref *prefs,
                                size_t n_prefs, VkDeviceMemory *out, VkMemoryPropertyFlags *flags)
{
    porta_msg *msg = vk->b->msg;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->device, buf, &req);
    int type = find_memory_type(&vk->mem, req.memoryTypeBits, prefs, n_prefs);
    if (type < 0)
        return porta_msg_set(msg, PORTA_ERROR_UNSUPPORTED,
                             "vkAllocateMemory: no suitable memory type for %llu bytes",
                             (unsigned long long)req.size);
    if (vk->n_allocations >= vk->props.limits.maxMemoryAllocationCount)
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_DEVICE_MEMORY,
                             "vkAllocateMemory: the device allows only %u live allocations",
                             vk->props.limits.maxMemoryAllocationCount);
    VkMemoryAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    VkResult r = vkAllocateMemory(vk->device, &info, NULL, out);
    if (r != VK_SUCCESS)
        return porta_msg_set(msg, vkb_status_of(r), "vkAllocateMemory(%llu bytes): %s",
                             (unsigned long long)req.size, vkb_result_name(r));
    vk->n_allocations++;
    r = vkBindBufferMemory(vk->device, buf, *out, 0);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkBindBufferMemory");
    *flags = vk->mem.memoryTypes[type].propertyFlags;
    return PORTA_OK;
}

static void free_memory(vkb_impl *vk, VkDeviceMemory mem)
{
    if (mem) {
        vkFreeMemory(vk->device, mem, NULL);
        vk->n_allocations--;
    }
}

/* ---- host buffers (staging, readback) ----------------------------------- */

void vkb_host_buffer_destroy(vkb_impl *vk, vkb_host_buffer *hb)
{
    if (hb->map)
        vkUnmapMemory(vk->device, hb->memory);
    if (hb->buffer)
        vkDestroyBuffer(vk->device, hb->buffer, NULL);
    free_memory(vk, hb->memory);
    memset(hb, 0, sizeof(*hb));
}

static porta_status host_buffer_create(vkb_impl *vk, VkDeviceSize size, VkBufferUsageFlags usage,
                                       const vkb_mem_pref *prefs, size_t n_prefs,
                                       vkb_host_buffer *hb)
{
    VkMemoryPropertyFlags flags = 0;
    memset(hb, 0, sizeof(*hb));
    hb->size = size;
    porta_status st = create_buffer(vk, size, usage, &hb->buffer);
    if (st == PORTA_OK)
        st = bind_memory(vk, hb->buffer, prefs, n_prefs, &hb->memory, &flags);
    if (st == PORTA_OK) {
        VkResult r = vkMapMemory(vk->device, hb->memory, 0, VK_WHOLE_SIZE, 0, &hb->map);
        if (r != VK_SUCCESS)
            st = vkb_fail(vk, r, "vkMapMemory");
    }
    if (st != PORTA_OK) {
        vkb_host_buffer_destroy(vk, hb);
        return st;
    }
    hb->coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    return PORTA_OK;
}

/* ---- per-batch staging arena -------------------------------------------- */

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a)
{
    return (v + a - 1) / a * a;
}

/* Room for `bytes` in the current batch's arena: *hb and *offset. */
static porta_status stage(vkb_impl *vk, VkDeviceSize bytes, vkb_host_buffer **hb,
                          VkDeviceSize *offset)
{
    vkb_batch *bt = &vk->ring[vk->cur];
    for (; bt->cur_chunk < bt->n_chunks; bt->cur_chunk++) {
        vkb_chunk *c = &bt->chunks[bt->cur_chunk];
        VkDeviceSize at = align_up(c->used, VKB_STAGING_ALIGN);
        if (at + bytes <= c->hb.size) {
            c->used = at + bytes;
            *hb = &c->hb;
            *offset = at;
            return PORTA_OK;
        }
    }
    vkb_chunk *grown = realloc(bt->chunks, (bt->n_chunks + 1) * sizeof(*grown));
    if (!grown)
        return porta_msg_set(vk->b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "buffer_write: out of host memory");
    bt->chunks = grown;
    vkb_chunk *c = &bt->chunks[bt->n_chunks];
    VkDeviceSize size = bytes > VKB_STAGING_CHUNK ? bytes : VKB_STAGING_CHUNK;
    porta_status st = host_buffer_create(vk, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, staging_prefs,
                                         N_PREFS(staging_prefs), &c->hb);
    if (st != PORTA_OK)
        return st;
    bt->cur_chunk = bt->n_chunks++;
    c->used = bytes;
    *hb = &c->hb;
    *offset = 0;
    return PORTA_OK;
}

void vkb_batch_reset_staging(vkb_impl *vk, vkb_batch *bt)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < bt->n_chunks; i++) {
        if (bt->chunks[i].hb.size > VKB_STAGING_KEEP) {
            vkb_host_buffer_destroy(vk, &bt->chunks[i].hb);
            continue;
        }
        bt->chunks[kept] = bt->chunks[i];
        bt->chunks[kept++].used = 0;
    }
    bt->n_chunks = kept;
    bt->cur_chunk = 0;
    bt->staged = 0;
}

void vkb_batch_free_staging(vkb_impl *vk, vkb_batch *bt)
{
    for (uint32_t i = 0; i < bt->n_chunks; i++)
        vkb_host_buffer_destroy(vk, &bt->chunks[i].hb);
    free(bt->chunks);
    bt->chunks = NULL;
    bt->n_chunks = bt->cur_chunk = 0;
    bt->staged = 0;
}

/* ---- buffers ------------------------------------------------------------- */

static void destroy_buffer(vkb_impl *vk, porta_bbuffer *buf)
{
    buf->prev->next = buf->next;
    buf->next->prev = buf->prev;
    if (buf->map)
        vkUnmapMemory(vk->device, buf->memory);
    if (buf->buffer)
        vkDestroyBuffer(vk->device, buf->buffer, NULL);
    free_memory(vk, buf->memory);
    free(buf);
}

porta_status vkb_buffer_alloc(porta_backend *b, size_t bytes, porta_bbuffer **out)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st != PORTA_OK)
        return st;
    if (!out || bytes == 0)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "buffer_alloc: %s",
                             out ? "zero bytes requested" : "NULL output");
    *out = NULL;
    if ((uint64_t)bytes > b->caps.max_alloc_bytes)
        return porta_msg_set(b->msg, PORTA_ERROR_ALLOCATION_TOO_LARGE,
                             "buffer_alloc: %zu bytes requested, but %s allows at most %llu "
                             "bytes per buffer",
                             bytes, b->caps.name, (unsigned long long)b->caps.max_alloc_bytes);
    porta_bbuffer *buf = calloc(1, sizeof(*buf));
    if (!buf)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "buffer_alloc: out of host memory");
    buf->size = bytes;
    buf->next = vk->live.next;
    buf->prev = &vk->live;
    vk->live.next->prev = buf;
    vk->live.next = buf;
    VkMemoryPropertyFlags flags = 0;
    st = create_buffer(vk, bytes,
                       VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                       &buf->buffer);
    if (st == PORTA_OK)
        st =
            bind_memory(vk, buf->buffer, device_prefs, N_PREFS(device_prefs), &buf->memory, &flags);
    if (st != PORTA_OK) {
        destroy_buffer(vk, buf);
        return st;
    }
    const VkMemoryPropertyFlags mappable =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    buf->host_coherent = (flags & mappable) == mappable;
#if defined(PORTA_VK_FORCE_STAGING)
    buf->host_coherent = 0;
#endif
    *out = buf;
    return PORTA_OK;
}

void vkb_release_deferred(vkb_impl *vk)
{
    size_t kept = 0;
    for (size_t i = 0; i < vk->n_deferred; i++) {
        if (vk->deferred[i].serial <= vk->completed_serial)
            destroy_buffer(vk, vk->deferred[i].buf);
        else
            vk->deferred[kept++] = vk->deferred[i];
    }
    vk->n_deferred = kept;
}

void vkb_free_all_buffers(vkb_impl *vk)
{
    while (vk->live.next != &vk->live)
        destroy_buffer(vk, vk->live.next);
}

static int defer_free(vkb_impl *vk, porta_bbuffer *buf, uint64_t serial)
{
    if (vk->n_deferred == vk->cap_deferred) {
        size_t cap = vk->cap_deferred ? 2 * vk->cap_deferred : 16;
        vkb_deferred *grown = realloc(vk->deferred, cap * sizeof(*grown));
        if (!grown)
            return -1;
        vk->deferred = grown;
        vk->cap_deferred = cap;
    }
    vk->deferred[vk->n_deferred++] = (vkb_deferred){buf, serial};
    return 0;
}

void vkb_buffer_free(porta_backend *b, porta_bbuffer *buf)
{
    vkb_impl *vk = b ? b->impl : NULL;
    if (!vk || !buf)
        return;
    if (vk->broken != PORTA_OK) {
        /* After a failure only an idle device proves the buffer unused; if
         * even that fails, it stays on the live list and destroy frees it. */
        if (vkDeviceWaitIdle(vk->device) == VK_SUCCESS)
            destroy_buffer(vk, buf);
        return;
    }
    const vkb_batch *bt = &vk->ring[vk->cur];
    /* The newest batch that may use the buffer. */
    uint64_t serial = bt->recording ? bt->serial : vk->submitted_serial;
    if (serial <= vk->completed_serial) {
        destroy_buffer(vk, buf);
    } else if (defer_free(vk, buf, serial) != 0) {
        /* No memory to remember it: block until the device is done with it. */
        b->counters.host_waits++;
        if (vkDeviceWaitIdle(vk->device) == VK_SUCCESS)
            destroy_buffer(vk, buf);
    }
}

/* ---- transfers ----------------------------------------------------------- */

static porta_status check_range(vkb_impl *vk, const char *call, const porta_bbuffer *buf,
                                size_t offset, size_t bytes)
{
    if (!buf)
        return porta_msg_set(vk->b->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: NULL buffer", call);
    if (offset > buf->size || bytes > buf->size - offset)
        return porta_msg_set(vk->b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: range [%zu, %zu + %zu) exceeds the buffer of %llu bytes", call,
                             offset, offset, bytes, (unsigned long long)buf->size);
    return PORTA_OK;
}

static porta_status map_buffer(vkb_impl *vk, porta_bbuffer *buf)
{
    if (buf->map)
        return PORTA_OK;
    VkResult r = vkMapMemory(vk->device, buf->memory, 0, VK_WHOLE_SIZE, 0, &buf->map);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkMapMemory");
    return PORTA_OK;
}

static porta_status write_inline(vkb_impl *vk, porta_bbuffer *buf, size_t offset, size_t bytes,
                                 const void *src)
{
    VkCommandBuffer cmd;
    porta_status st = vkb_begin_transfer(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    vkCmdUpdateBuffer(cmd, buf->buffer, offset, bytes, src);
    vkb_end_transfer(vk);
    return PORTA_OK;
}

static porta_status write_piece(vkb_impl *vk, porta_bbuffer *buf, size_t offset, size_t bytes,
                                const void *src)
{
    vkb_batch *bt = &vk->ring[vk->cur];
    porta_status st = PORTA_OK;
    if (bt->recording && bt->staged > 0 && bt->staged + bytes > VKB_STAGING_BUDGET)
        st = vkb_submit(vk->b); /* the batch has staged enough: send it off */
    VkCommandBuffer cmd;
    if (st == PORTA_OK)
        st = vkb_begin_transfer(vk, &cmd);
    vkb_host_buffer *hb = NULL;
    VkDeviceSize at = 0;
    if (st == PORTA_OK)
        st = stage(vk, bytes, &hb, &at);
    if (st != PORTA_OK)
        return st;
    memcpy((char *)hb->map + at, src, bytes);
    VkBufferCopy region = {.srcOffset = at, .dstOffset = offset, .size = bytes};
    vkCmdCopyBuffer(cmd, hb->buffer, buf->buffer, 1, &region);
    vkb_end_transfer(vk);
    vk->ring[vk->cur].staged += bytes;
    return PORTA_OK;
}

porta_status vkb_buffer_write(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                              const void *src)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_range(vk, "buffer_write", buf, offset, bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    if (!src)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "buffer_write: NULL source");
    if (buf->host_coherent && vkb_idle(vk)) {
        /* Nothing enqueued can touch it; the next submission makes it visible. */
        st = map_buffer(vk, buf);
        if (st == PORTA_OK)
            memcpy((char *)buf->map + offset, src, bytes);
        return st;
    }
    if (bytes <= VKB_INLINE_WRITE_MAX && offset % 4 == 0 && bytes % 4 == 0)
        return write_inline(vk, buf, offset, bytes, src);
    const char *p = src;
    while (bytes > 0 && st == PORTA_OK) {
        size_t piece = bytes < VKB_STAGING_PIECE ? bytes : (size_t)VKB_STAGING_PIECE;
        st = write_piece(vk, buf, offset, piece, p);
        p += piece;
        offset += piece;
        bytes -= piece;
    }
    return st;
}

static porta_status ensure_readback(vkb_impl *vk, VkDeviceSize bytes)
{
    if (vk->readback.size >= bytes)
        return PORTA_OK;
    /* Reads are synchronous: the old readback buffer is not in use. */
    vkb_host_buffer_destroy(vk, &vk->readback);
    VkDeviceSize size = bytes > VKB_STAGING_CHUNK ? bytes : VKB_STAGING_CHUNK;
    return host_buffer_create(vk, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, readback_prefs,
                              N_PREFS(readback_prefs), &vk->readback);
}

static porta_status read_mapped(vkb_impl *vk, porta_bbuffer *buf, size_t offset, size_t bytes,
                                void *dst)
{
    VkCommandBuffer cmd;
    porta_status st = vkb_begin(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    vkb_host_read_barrier(vk, cmd);
    st = vkb_sync(vk);
    if (st == PORTA_OK)
        st = map_buffer(vk, buf);
    if (st == PORTA_OK)
        memcpy(dst, (const char *)buf->map + offset, bytes);
    return st;
}

static porta_status read_piece(vkb_impl *vk, porta_bbuffer *buf, size_t offset, size_t bytes,
                               void *dst)
{
    VkCommandBuffer cmd;
    porta_status st = ensure_readback(vk, bytes);
    if (st == PORTA_OK)
        st = vkb_begin_transfer(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    VkBufferCopy region = {.srcOffset = offset, .dstOffset = 0, .size = bytes};
    vkCmdCopyBuffer(cmd, buf->buffer, vk->readback.buffer, 1, &region);
    vkb_end_transfer(vk);
    vkb_host_read_barrier(vk, cmd);
    st = vkb_sync(vk);
    if (st != PORTA_OK)
        return st;
    if (!vk->readback.coherent) {
        VkMappedMemoryRange range = {
            .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
            .memory = vk->readback.memory,
            .offset = 0,
            .size = VK_WHOLE_SIZE,
        };
        VkResult r = vkInvalidateMappedMemoryRanges(vk->device, 1, &range);
        if (r != VK_SUCCESS)
            return vkb_fail(vk, r, "vkInvalidateMappedMemoryRanges");
    }
    memcpy(dst, vk->readback.map, bytes);
    return PORTA_OK;
}

porta_status vkb_buffer_read(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                             void *dst)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_range(vk, "buffer_read", buf, offset, bytes);
    if (st == PORTA_OK && !dst && bytes > 0)
        st = porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "buffer_read: NULL destination");
    if (st != PORTA_OK)
        return st;
    b->counters.device_reads++;
    b->counters.host_waits++;
    if (bytes == 0)
        return vkb_sync(vk);
    if (buf->host_coherent)
        return read_mapped(vk, buf, offset, bytes, dst);
    char *p = dst;
    while (bytes > 0 && st == PORTA_OK) {
        size_t piece = bytes < VKB_READBACK_PIECE ? bytes : (size_t)VKB_READBACK_PIECE;
        st = read_piece(vk, buf, offset, piece, p);
        p += piece;
        offset += piece;
        bytes -= piece;
    }
    return st;
}

porta_status vkb_buffer_fill(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                             uint32_t pattern)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_range(vk, "buffer_fill", buf, offset, bytes);
    if (st == PORTA_OK && (offset % 4 != 0 || bytes % 4 != 0))
        st = porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "buffer_fill: offset %zu and size %zu must be multiples of 4", offset,
                           bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    VkCommandBuffer cmd;
    st = vkb_begin_transfer(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    vkCmdFillBuffer(cmd, buf->buffer, offset, bytes, pattern);
    vkb_end_transfer(vk);
    return PORTA_OK;
}

porta_status vkb_buffer_copy(porta_backend *b, porta_bbuffer *src, size_t src_offset,
                             porta_bbuffer *dst, size_t dst_offset, size_t bytes)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK)
        st = check_range(vk, "buffer_copy (source)", src, src_offset, bytes);
    if (st == PORTA_OK)
        st = check_range(vk, "buffer_copy (destination)", dst, dst_offset, bytes);
    if (st == PORTA_OK && src == dst && src_offset < dst_offset + bytes &&
        dst_offset < src_offset + bytes)
        st = porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "buffer_copy: source [%zu, +%zu) and destination [%zu, +%zu) overlap",
                           src_offset, bytes, dst_offset, bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    VkCommandBuffer cmd;
    st = vkb_begin_transfer(vk, &cmd);
    if (st != PORTA_OK)
        return st;
    VkBufferCopy region = {.srcOffset = src_offset, .dstOffset = dst_offset, .size = bytes};
    vkCmdCopyBuffer(cmd, src->buffer, dst->buffer, 1, &region);
    vkb_end_transfer(vk);
    return PORTA_OK;
}
