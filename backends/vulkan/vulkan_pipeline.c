/* vulkan_pipeline.c: shader modules, layouts, compute pipelines, the
 * on-disk VkPipelineCache, and the per-batch descriptor pools.
 *
 * Each kernel desc gets one vkb_program (shader module, descriptor set
 * layout with n_buffers storage buffers at set 0, push constant range of
 * params_bytes); each (desc, variant) gets one pipeline, specialised with
 * constant 0 = local size and 1..4 = spec[0..3]. Both live until destroy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan_internal.h"

#define SPIRV_MAGIC 0x07230203u
#define CACHE_HEADER_BYTES (16 + VK_UUID_SIZE)

/* ---- the on-disk pipeline cache ----------------------------------------- */

static uint32_t read_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Is `data` a pipeline cache written by this device and driver? (The driver
 * checks too, but not every driver checks carefully.) */
static int cache_matches(const vkb_impl *vk, const unsigned char *data, size_t bytes)
{
    if (bytes < CACHE_HEADER_BYTES)
        return 0;
    uint32_t header_bytes = read_le32(data);
    return header_bytes >= CACHE_HEADER_BYTES && header_bytes <= bytes &&
           read_le32(data + 4) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           read_le32(data + 8) == vk->props.vendorID &&
           read_le32(data + 12) == vk->props.deviceID &&
           memcmp(data + 16, vk->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

static VkResult create_cache(vkb_impl *vk, const void *data, size_t bytes)
{
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = bytes,
        .pInitialData = data,
    };
    return vkCreatePipelineCache(vk->device, &info, NULL, &vk->pipeline_cache);
}

porta_status vkb_pipeline_cache_open(vkb_impl *vk, const porta_backend_options *opt)
{
    void *data = NULL;
    size_t bytes = 0;
    vk->keep_source = opt->keep_source;
    if (opt->cache_dir && opt->cache_dir[0] && strlen(opt->cache_dir) < sizeof(vk->cache_dir)) {
        strcpy(vk->cache_dir, opt->cache_dir);
        const char *key = vk->b->caps.cache_key;
        porta_cache_name(vk->cache_file, sizeof(vk->cache_file), "vk",
                         porta_fnv1a(PORTA_FNV_SEED, key, strlen(key)));
        if (porta_cache_read(vk->cache_dir, vk->cache_file, &data, &bytes) == 0 &&
            !cache_matches(vk, data, bytes)) {
            free(data);
            data = NULL;
            bytes = 0;
        }
    }
    VkResult r = create_cache(vk, data, bytes);
    vk->cache_loaded_bytes = r == VK_SUCCESS ? bytes : 0;
    if (r != VK_SUCCESS && data)
        r = create_cache(vk, NULL, 0); /* the driver rejected the file: start empty */
    free(data);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreatePipelineCache");
    return PORTA_OK;
}

/* Persist the cache if this session built pipelines. Never fatal. */
void vkb_pipeline_cache_save(vkb_impl *vk)
{
    size_t bytes = 0;
    if (!vk->pipeline_cache || !vk->cache_dir[0] || vk->pipelines_built == 0)
        return;
    VkResult r = vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &bytes, NULL);
    void *data = r == VK_SUCCESS && bytes > 0 ? malloc(bytes) : NULL;
    if (data)
        r = vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &bytes, data);
    if (data && r == VK_SUCCESS &&
        porta_cache_write(vk->cache_dir, vk->cache_file, data, bytes) != 0)
        porta_msg_append(vk->b->msg, "%snote: could not write the pipeline cache %s/%s",
                         vkb_msg_sep(vk->b->msg), vk->cache_dir, vk->cache_file);
    free(data);
}

/* ---- programs (per kernel desc) ----------------------------------------- */

/* With keep_source: <cache_dir or .>/source/<name>.spv. Never fatal. */
static void keep_source(vkb_impl *vk, const porta_kernel_desc *desc)
{
    char dir[4200], file[300];
    size_t n = 0;
    snprintf(dir, sizeof(dir), "%s/source", vk->cache_dir[0] ? vk->cache_dir : ".");
    for (const char *p = desc->name; *p && n < sizeof(file) - 5; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        file[n++] = ok ? c : '_';
    }
    memcpy(file + n, ".spv", 5);
    if (porta_cache_write(dir, file, desc->spirv, desc->spirv_bytes) != 0)
        porta_msg_append(vk->b->msg, "%snote: could not write %s/%s", vkb_msg_sep(vk->b->msg), dir,
                         file);
}

static void program_destroy(vkb_impl *vk, vkb_program *p)
{
    if (p->layout)
        vkDestroyPipelineLayout(vk->device, p->layout, NULL);
    if (p->set_layout)
        vkDestroyDescriptorSetLayout(vk->device, p->set_layout, NULL);
    if (p->module)
        vkDestroyShaderModule(vk->device, p->module, NULL);
    free(p);
}

/* The message "<call>(kernel <name>): <VkResult>", followed by whatever the
 * validation layer reported during the call (the closest thing to a build
 * log Vulkan has). With validation on, an error report during a build fails
 * the build (VK_ERROR_VALIDATION_FAILED_EXT) even if the driver accepted it:
 * such a kernel (e.g. too much shared memory) must not run. */
static porta_status build_failed(vkb_impl *vk, size_t log_start, VkResult r, const char *call,
                                 const char *name)
{
    porta_msg *msg = vk->b->msg;
    char *log = NULL;
    if (msg && strlen(msg->text) > log_start)
        log = strdup(msg->text + log_start);
    porta_msg_set(msg, PORTA_ERROR_KERNEL_BUILD, "%s(kernel %s): %s", call, name,
                  vkb_result_name(r));
    if (log)
        porta_msg_append(msg, "\n%s", log[0] == '\n' ? log + 1 : log);
    free(log);
    if (r == VK_ERROR_DEVICE_LOST)
        vk->broken = PORTA_ERROR_DEVICE_LOST;
    return PORTA_ERROR_KERNEL_BUILD;
}

static size_t msg_len(const vkb_impl *vk)
{
    return vk->b->msg ? strlen(vk->b->msg->text) : 0;
}

static porta_status create_layouts(vkb_impl *vk, vkb_program *p)
{
    const porta_kernel_desc *d = p->desc;
    VkDescriptorSetLayoutBinding bindings[PORTA_MAX_BINDINGS];
    for (uint32_t i = 0; i < d->n_buffers; i++) {
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    }
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = d->n_buffers,
        .pBindings = d->n_buffers ? bindings : NULL,
    };
    VkResult r = vkCreateDescriptorSetLayout(vk->device, &set_info, NULL, &p->set_layout);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateDescriptorSetLayout");
    VkPushConstantRange range = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .offset = 0,
        .size = d->params_bytes,
    };
    VkPipelineLayoutCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = d->params_bytes ? 1 : 0,
        .pPushConstantRanges = d->params_bytes ? &range : NULL,
    };
    r = vkCreatePipelineLayout(vk->device, &info, NULL, &p->layout);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreatePipelineLayout");
    return PORTA_OK;
}

static porta_status create_program(vkb_impl *vk, const porta_kernel_desc *desc, vkb_program *p)
{
    p->desc = desc;
    if (vk->keep_source)
        keep_source(vk, desc);
    VkShaderModuleCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = desc->spirv_bytes,
        .pCode = desc->spirv,
    };
    size_t log_start = msg_len(vk);
    uint64_t errors = vk->validation_errors;
    VkResult r = vkCreateShaderModule(vk->device, &info, NULL, &p->module);
    if (r == VK_SUCCESS && vk->validation_errors != errors)
        r = VK_ERROR_VALIDATION_FAILED_EXT;
    if (r != VK_SUCCESS)
        return build_failed(vk, log_start, r, "vkCreateShaderModule", desc->name);
    return create_layouts(vk, p);
}

static int push_program(vkb_impl *vk, vkb_program *p)
{
    if (vk->n_programs == vk->cap_programs) {
        size_t cap = vk->cap_programs ? 2 * vk->cap_programs : 16;
        vkb_program **grown = realloc(vk->programs, cap * sizeof(*grown));
        if (!grown)
            return -1;
        vk->programs = grown;
        vk->cap_programs = cap;
    }
    vk->programs[vk->n_programs++] = p;
    return 0;
}

static int push_kernel(vkb_impl *vk, porta_bkernel *k)
{
    if (vk->n_kernels == vk->cap_kernels) {
        size_t cap = vk->cap_kernels ? 2 * vk->cap_kernels : 16;
        porta_bkernel **grown = realloc(vk->kernels, cap * sizeof(*grown));
        if (!grown)
            return -1;
        vk->kernels = grown;
        vk->cap_kernels = cap;
    }
    vk->kernels[vk->n_kernels++] = k;
    return 0;
}

static porta_status get_program(vkb_impl *vk, const porta_kernel_desc *desc, vkb_program **out)
{
    for (size_t i = 0; i < vk->n_programs; i++) {
        if (vk->programs[i]->desc == desc) {
            *out = vk->programs[i];
            return PORTA_OK;
        }
    }
    vkb_program *p = calloc(1, sizeof(*p));
    porta_status st = p ? create_program(vk, desc, p)
                        : porta_msg_set(vk->b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                        "kernel_get: out of host memory");
    if (st == PORTA_OK && push_program(vk, p) != 0)
        st = porta_msg_set(vk->b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                           "kernel_get: out of host memory");
    if (st != PORTA_OK) {
        if (p)
            program_destroy(vk, p);
        return st;
    }
    *out = p;
    return PORTA_OK;
}

/* ---- pipelines (per desc and variant) ----------------------------------- */

/* Does the module declare a GLCompute entry point named "main"? A missing
 * one crashes some drivers and layers, so it is checked here. 0 if not or
 * if the instruction stream is malformed. */
static int has_compute_main(const uint32_t *words, size_t n_words)
{
    static const char main_name[4] = {'m', 'a', 'i', 'n'};
    size_t at = 5; /* after the header */
    while (at < n_words) {
        uint32_t count = words[at] >> 16, opcode = words[at] & 0xffffu;
        if (count == 0 || count > n_words - at)
            return 0;
        if (opcode == 15 && count >= 5 && words[at + 1] == 5 &&
            memcmp(&words[at + 3], main_name, 4) == 0 && (words[at + 4] & 0xffu) == 0)
            return 1; /* OpEntryPoint GLCompute %id "main" */
        at += count;
    }
    return 0;
}

static porta_status check_kernel(vkb_impl *vk, const porta_kernel_desc *d,
                                 const porta_kernel_variant *v)
{
    porta_backend *b = vk->b;
    const VkPhysicalDeviceLimits *lim = &vk->props.limits;
    if (!d || !v || !d->name)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get: NULL kernel description or variant");
    if (!d->spirv || d->spirv_bytes < 20 || d->spirv_bytes % 4 != 0 || d->spirv[0] != SPIRV_MAGIC)
        return porta_msg_set(b->msg, PORTA_ERROR_KERNEL_BUILD,
                             "kernel_get(kernel %s): the SPIR-V code is missing or malformed "
                             "(%zu bytes)",
                             d->name, d->spirv_bytes);
    if (!has_compute_main(d->spirv, d->spirv_bytes / 4))
        return porta_msg_set(b->msg, PORTA_ERROR_KERNEL_BUILD,
                             "kernel_get(kernel %s): the SPIR-V has no GLCompute entry point "
                             "named \"main\"",
                             d->name);
    if (d->n_buffers > PORTA_MAX_BINDINGS ||
        d->n_buffers > lim->maxPerStageDescriptorStorageBuffers)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "kernel_get(kernel %s): %u storage buffers, porta allows %d and the "
                             "device %u per stage",
                             d->name, d->n_buffers, PORTA_MAX_BINDINGS,
                             lim->maxPerStageDescriptorStorageBuffers);
    if (d->params_bytes % 4 != 0 || d->params_bytes > PORTA_MAX_PARAMS_BYTES ||
        d->params_bytes > lim->maxPushConstantsSize)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "kernel_get(kernel %s): params of %u bytes; they must be a multiple "
                             "of 4 and at most %d (porta) and %u (maxPushConstantsSize)",
                             d->name, d->params_bytes, PORTA_MAX_PARAMS_BYTES,
                             lim->maxPushConstantsSize);
    if (v->local_size == 0 || v->local_size > b->caps.max_workgroup_size)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get(kernel %s): local size %u; %s allows 1 to %u", d->name,
                             v->local_size, b->caps.name, b->caps.max_workgroup_size);
    return PORTA_OK;
}

static porta_status create_pipeline(vkb_impl *vk, porta_bkernel *k)
{
    uint32_t values[1 + PORTA_SPEC_COUNT];
    VkSpecializationMapEntry entries[1 + PORTA_SPEC_COUNT];
    values[0] = k->variant.local_size;
    for (int i = 0; i < PORTA_SPEC_COUNT; i++)
        values[1 + i] = k->variant.spec[i];
    for (uint32_t i = 0; i < 1 + PORTA_SPEC_COUNT; i++)
        entries[i] = (VkSpecializationMapEntry){i, i * sizeof(uint32_t), sizeof(uint32_t)};
    VkSpecializationInfo spec = {
        .mapEntryCount = 1 + PORTA_SPEC_COUNT,
        .pMapEntries = entries,
        .dataSize = sizeof(values),
        .pData = values,
    };
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = k->prog->module,
                .pName = "main",
                .pSpecializationInfo = &spec,
            },
        .layout = k->prog->layout,
    };
    size_t log_start = msg_len(vk);
    uint64_t errors = vk->validation_errors;
    VkResult r =
        vkCreateComputePipelines(vk->device, vk->pipeline_cache, 1, &info, NULL, &k->pipeline);
    if (r == VK_SUCCESS && vk->validation_errors != errors)
        r = VK_ERROR_VALIDATION_FAILED_EXT; /* the layer let it through; don't run it */
    if (r != VK_SUCCESS)
        return build_failed(vk, log_start, r, "vkCreateComputePipelines", k->prog->desc->name);
    vk->pipelines_built++;
    return PORTA_OK;
}

static void kernel_destroy(vkb_impl *vk, porta_bkernel *k)
{
    if (k->pipeline)
        vkDestroyPipeline(vk->device, k->pipeline, NULL);
    free(k);
}

porta_status vkb_kernel_get(porta_backend *b, const porta_kernel_desc *desc,
                            const porta_kernel_variant *variant, porta_bkernel **out)
{
    vkb_impl *vk = b->impl;
    porta_status st = vkb_check_alive(vk);
    if (st == PORTA_OK && !out)
        st = porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "kernel_get: NULL output");
    if (st == PORTA_OK)
        st = check_kernel(vk, desc, variant);
    if (st != PORTA_OK)
        return st;
    for (size_t i = 0; i < vk->n_kernels; i++) {
        porta_bkernel *k = vk->kernels[i];
        if (k->prog->desc == desc && porta_variant_equal(&k->variant, variant)) {
            *out = k;
            return PORTA_OK;
        }
    }
    porta_bkernel *k = calloc(1, sizeof(*k));
    if (!k)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "kernel_get: out of host memory");
    k->variant = *variant;
    st = get_program(vk, desc, &k->prog);
    if (st == PORTA_OK)
        st = create_pipeline(vk, k);
    if (st == PORTA_OK && push_kernel(vk, k) != 0)
        st =
            porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "kernel_get: out of host memory");
    if (st != PORTA_OK) {
        kernel_destroy(vk, k);
        return st;
    }
    *out = k;
    return PORTA_OK;
}

void vkb_pipelines_destroy(vkb_impl *vk)
{
    for (size_t i = 0; i < vk->n_kernels; i++)
        kernel_destroy(vk, vk->kernels[i]);
    for (size_t i = 0; i < vk->n_programs; i++)
        program_destroy(vk, vk->programs[i]);
    free(vk->kernels);
    free(vk->programs);
    vk->kernels = NULL;
    vk->programs = NULL;
    vk->n_kernels = vk->n_programs = 0;
    if (vk->pipeline_cache)
        vkDestroyPipelineCache(vk->device, vk->pipeline_cache, NULL);
    vk->pipeline_cache = VK_NULL_HANDLE;
}

/* ---- descriptor pools (per batch) ---------------------------------------- */

static porta_status add_pool(vkb_impl *vk, vkb_batch *bt)
{
    vkb_pool *grown = realloc(bt->pools, (bt->n_pools + 1) * sizeof(*grown));
    if (!grown)
        return porta_msg_set(vk->b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "dispatch: out of host memory");
    bt->pools = grown;
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VKB_POOL_DESCRIPTORS};
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = VKB_POOL_SETS,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    vkb_pool *p = &bt->pools[bt->n_pools];
    VkResult r = vkCreateDescriptorPool(vk->device, &info, NULL, &p->pool);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkCreateDescriptorPool");
    p->sets_left = VKB_POOL_SETS;
    p->descriptors_left = VKB_POOL_DESCRIPTORS;
    bt->n_pools++;
    return PORTA_OK;
}

porta_status vkb_alloc_set(vkb_impl *vk, vkb_batch *bt, const porta_bkernel *k,
                           VkDescriptorSet *out)
{
    uint32_t need = k->prog->desc->n_buffers;
    while (bt->cur_pool < bt->n_pools && (bt->pools[bt->cur_pool].sets_left == 0 ||
                                          bt->pools[bt->cur_pool].descriptors_left < need))
        bt->cur_pool++;
    if (bt->cur_pool == bt->n_pools) {
        porta_status st = add_pool(vk, bt);
        if (st != PORTA_OK)
            return st;
    }
    vkb_pool *p = &bt->pools[bt->cur_pool];
    VkDescriptorSetAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = p->pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &k->prog->set_layout,
    };
    VkResult r = vkAllocateDescriptorSets(vk->device, &info, out);
    if (r != VK_SUCCESS)
        return vkb_fail(vk, r, "vkAllocateDescriptorSets");
    p->sets_left--;
    p->descriptors_left -= need;
    return PORTA_OK;
}

void vkb_batch_reset_pools(vkb_impl *vk, vkb_batch *bt)
{
    for (uint32_t i = 0; i < bt->n_pools; i++) {
        vkResetDescriptorPool(vk->device, bt->pools[i].pool, 0);
        bt->pools[i].sets_left = VKB_POOL_SETS;
        bt->pools[i].descriptors_left = VKB_POOL_DESCRIPTORS;
    }
    bt->cur_pool = 0;
}

void vkb_batch_free_pools(vkb_impl *vk, vkb_batch *bt)
{
    for (uint32_t i = 0; i < bt->n_pools; i++)
        vkDestroyDescriptorPool(vk->device, bt->pools[i].pool, NULL);
    free(bt->pools);
    bt->pools = NULL;
    bt->n_pools = bt->cur_pool = 0;
}
