/* device_presets.c: the per-device tuning table. Policy in lib/ reads the
 * capabilities these presets fill (porta_device_caps: execution,
 * loop_limit, fast_fma, elements_per_invocation, group_handover) and never
 * a device or driver name; this table is the one place where names are
 * matched, as CLBlast keys its presets by vendor, device type and device.
 *
 * Each entry says what is known of a family of drivers; the first entry a
 * device matches wins and the last matches every device. A user can pick
 * an entry by name instead (PORTA_DEVICE_PRESET, read by lib/devices.c),
 * and docs/DRIVERS.md says which quirk each value answers. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

/* group_handover: 1 or 0, or this for "by API": Vulkan's coherent buffers
 * and memoryBarrierBuffer make another workgroup's stores visible; OpenCL
 * 1.2 (the dialect's C) promises nothing across workgroups. */
#define HANDOVER_BY_API 2u

typedef struct preset {
    const char *name;
    /* Match (NULL / 0: anything): device type, then case-insensitive
     * substrings of the vendor, the platform (OpenCL platform, Vulkan
     * driver name) and the device name. */
    int cpu_only;
    const char *vendor;
    const char *platform;
    const char *device;
    /* The policy. */
    porta_execution execution;
    uint32_t loop_limit;
    uint32_t fast_fma;
    uint32_t elements_per_invocation;
    uint32_t group_handover;
} preset;

static const preset presets[] = {
    /* Mesa's llvmpipe under lavapipe (Vulkan), Rusticl and Clover (OpenCL):
     * branches run masked, a barrier is a coroutine switch (few, long
     * workgroups: 64 elements an invocation), FMA compiles to slow code,
     * loops end silently after 65535 iterations an invocation. Workgroups
     * are threads over one coherent host memory. */
    {"llvmpipe", 1, NULL, NULL, "llvmpipe", PORTA_EXECUTION_MASKED_LANES, 65535u, 0u, 64u, 1u},
    /* PoCL and any other CPU OpenCL or Vulkan driver: a workgroup is a loop
     * over its work-items; host memory is coherent. */
    {"pocl", 1, NULL, "portable computing language", NULL, PORTA_EXECUTION_WORK_ITEM_LOOP, 0u, 1u,
     4u, 1u},
    {"cpu", 1, NULL, NULL, NULL, PORTA_EXECUTION_WORK_ITEM_LOOP, 0u, 1u, 4u, 1u},
    /* MoltenVK: Vulkan over Metal, whose memory model promises no
     * visibility between threadgroups of one dispatch. */
    {"moltenvk", 0, NULL, "moltenvk", NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, 0u},
    {"apple", 0, "apple", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, 0u},
    /* Mobile GPUs (Qualcomm Adreno, ARM Mali, Imagination): their
     * cross-workgroup coherence is where drivers differ most; take the
     * second dispatch. */
    {"qualcomm", 0, "qualcomm", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, 0u},
    {"arm", 0, "arm", NULL, "mali", PORTA_EXECUTION_SIMT, 0u, 1u, 4u, 0u},
    {"imagination", 0, "imagination", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, 0u},
    /* Desktop GPUs. */
    {"nvidia", 0, "nvidia", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, HANDOVER_BY_API},
    {"amd", 0, "amd", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, HANDOVER_BY_API},
    {"intel", 0, "intel", NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, HANDOVER_BY_API},
    /* Anything else: a GPU that follows its API's memory model. */
    {"gpu", 0, NULL, NULL, NULL, PORTA_EXECUTION_SIMT, 0u, 1u, 4u, HANDOVER_BY_API},
};
#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))

/* 1 if `needle` (NULL: anything) occurs in `hay`, ignoring case. */
static int contains(const char *hay, const char *needle)
{
    if (!needle)
        return 1;
    const size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int matches(const preset *p, const porta_device_caps *c)
{
    if (p->cpu_only && c->type != PORTA_DEVICE_TYPE_CPU)
        return 0;
    return contains(c->vendor, p->vendor) && contains(c->platform, p->platform) &&
           contains(c->name, p->device);
}

static void apply(const preset *p, porta_device_caps *c)
{
    c->execution = p->execution;
    c->loop_limit = p->loop_limit;
    c->fast_fma = p->fast_fma;
    c->elements_per_invocation = p->elements_per_invocation;
    c->group_handover =
        p->group_handover == HANDOVER_BY_API ? c->api == PORTA_API_VULKAN : p->group_handover;
    snprintf(c->preset, sizeof(c->preset), "%s", p->name);
}

void porta_device_preset_apply(porta_device_caps *caps)
{
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (matches(&presets[i], caps)) {
            apply(&presets[i], caps);
            return;
        }
    }
}

int porta_device_preset_apply_named(porta_device_caps *caps, const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            apply(&presets[i], caps);
            return 0;
        }
    }
    return -1;
}

void porta_device_preset_list(char *out, size_t cap)
{
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < N_PRESETS && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", presets[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
}
