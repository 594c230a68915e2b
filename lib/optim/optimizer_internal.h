/* optimizer_internal.h: the optimizer object and the device blocks of the
 * fused step (shaders/optim_common.kh, optim_scalars.kc, optim_step.kc).
 * lib-internal. */
#ifndef PORTA_OPTIMIZER_INTERNAL_H
#define PORTA_OPTIMIZER_INTERNAL_H

#include <stddef.h>

#include "internal.h"
#include "optim/sched_device.h"
#include "optim/scheduler.h"

/* Mirror of optim_config in shaders/optim_common.kh: the same 28 words. */
typedef struct porta_optim_config_dev {
    uint32_t kind; /* 0 SGD, 1 AdamW */
    float momentum;
    float dampening;
    uint32_t nesterov;
    float beta1;
    float beta2;
    float eps;
    float clip_norm;
    uint32_t n_groups;
    uint32_t sched_on_loss;
    uint32_t ring_capacity;
    uint32_t pad0;
    uint32_t group_end[PORTA_MAX_PARAM_GROUPS];
    float weight_decay[PORTA_MAX_PARAM_GROUPS];
} porta_optim_config_dev;
_Static_assert(sizeof(porta_optim_config_dev) == 28 * 4, "optim_config: 28 words");

/* Mirror of optim_state (one half; the device holds two). */
typedef struct porta_optim_state_dev {
    uint32_t step;
    uint32_t skipped;
    float loss;
    float grad_norm;
} porta_optim_state_dev;
_Static_assert(sizeof(porta_optim_state_dev) == 4 * 4, "optim_state: 4 words");

/* Words of step_scalars (shaders/optim_common.kh): the per-step scalars
 * the scalar pass writes and the element update reads; the buffer holds
 * two halves, one per step parity. */
#define PORTA_OPTIM_SCALAR_WORDS 44u

/* A metrics ring entry: step, loss bits, norm bits, flags, lr[8]. */
#define PORTA_RING_WORDS 12u
#define PORTA_RING_CAPACITY 1024u
/* Workgroups of the gradient-norm reduction pass (its partial sums). */
#define PORTA_NORM_GROUPS 256u

/* Mirror of optim_block (shaders/optim_common.kh): everything of an
 * optimizer's on the device but its arenas, in one buffer, so that a step
 * binds few storage buffers. The first four fields are in the order of a
 * checkpoint's body (optimizer_save.c). */
typedef struct porta_optim_block {
    porta_optim_config_dev ocfg;
    porta_sched_device_config scfg;
    porta_optim_state_dev ost[2];                /* halves 0 and 1 */
    porta_sched_device_state sst[2];             /* halves 0 and 1 */
    uint32_t scal[2 * PORTA_OPTIM_SCALAR_WORDS]; /* step scalars, one half per step parity */
    float norm_partial[PORTA_NORM_GROUPS];       /* the gradient norm's partial sums */
    uint32_t ticket;                             /* optim_scalars' hand-over; 0 between steps */
    uint32_t ring[PORTA_RING_CAPACITY * PORTA_RING_WORDS]; /* the metrics ring */
} porta_optim_block;

/* Byte offset of a field of the block (reads, writes and the word offsets
 * kernels take). */
#define PORTA_BLOCK_AT(field) offsetof(porta_optim_block, field)

_Static_assert(sizeof(porta_optim_block) == sizeof(porta_kc_optim_block),
               "porta_optim_block must match optim_block in shaders/optim_common.kh");
_Static_assert(PORTA_BLOCK_AT(ocfg) == offsetof(porta_kc_optim_block, ocfg) &&
                   PORTA_BLOCK_AT(scfg) == offsetof(porta_kc_optim_block, scfg) &&
                   PORTA_BLOCK_AT(ost) == offsetof(porta_kc_optim_block, ost) &&
                   PORTA_BLOCK_AT(sst) == offsetof(porta_kc_optim_block, sst) &&
                   PORTA_BLOCK_AT(scal) == offsetof(porta_kc_optim_block, scal) &&
                   PORTA_BLOCK_AT(norm_partial) == offsetof(porta_kc_optim_block, norm_partial) &&
                   PORTA_BLOCK_AT(ticket) == offsetof(porta_kc_optim_block, ticket) &&
                   PORTA_BLOCK_AT(ring) == offsetof(porta_kc_optim_block, ring),
               "porta_optim_block's fields must be optim_block's words");
/* On CPU devices, the least elements one of them sums (256 KiB). */
#define PORTA_NORM_CPU_CHUNK 65536u
/* The most elements one of them may be told to sum
 * (PORTA_OPTIM_NORM_CHUNK): what PORTA_NORM_GROUPS of them sum of the
 * largest arena (2^31 elements, place_tensors) anyway. */
#define PORTA_NORM_CHUNK_MAX (1ul << 23)
/* Tensors start on multiples of this many elements (256 bytes). */
#define PORTA_TENSOR_ALIGN 64u
/* Every parameter group starts and ends on a multiple of this many
 * elements (8 KiB), a multiple of every block optim_step's layouts use
 * (porta__stream_layout_for: 256 or 2048 elements): no block then straddles
 * a group boundary or the arena's end, so the kernel needs no bounds
 * checks and no per-element choice of group (optimizer_run.c). */
#define PORTA_GROUP_ALIGN 2048u

/* The most buffers an optimizer's arenas are split into (each within the
 * device's largest buffer: a 128 MiB device then holds 8 GiB of
 * parameters); each runs at least one of the PORTA_NORM_GROUPS partial
 * sums of the gradient norm. */
#define PORTA_OPT_MAX_CHUNKS 64u
_Static_assert(PORTA_OPT_MAX_CHUNKS <= PORTA_NORM_GROUPS, "a norm partial per chunk at least");

/* Elements [start, start + n) of the arenas, in buffers of their own: every
 * tensor lies inside one chunk, and start and n are multiples of
 * PORTA_GROUP_ALIGN. m1 / m2 are 4-byte stand-ins where the optimizer has
 * no such moment. With the optimizer's small_step, m1 holds both moments,
 * the second m2_at bytes in, and m2 is NULL. */
typedef struct porta_opt_chunk {
    size_t start, n;
    porta_buffer *params, *grads, *m1, *m2;
    size_t m2_at;
} porta_opt_chunk;

typedef struct porta_opt_tensor {
    size_t n;
    unsigned group;
    size_t offset; /* valid once finalized */
    size_t chunk;  /* the chunk holding it (valid once finalized) */
} porta_opt_tensor;

struct porta_optimizer {
    porta_optimizer_config config;
    porta_scheduler_config scheduler; /* mode strings not kept: see sched_dev */
    porta_optim_config_dev dev;
    porta_sched_device_config sched_dev;
    porta_sched_device_state sched_init;

    porta_opt_tensor *tensors;
    size_t n_tensors;
    size_t cap_tensors;
    size_t elements;
    int finalized;
    int check_norm; /* run the gradient-norm pass before each step */
    /* Layout overrides from config.tuning or the environment, read at
     * creation (optimizer_run.c): -1 / 0 when unset. */
    int variant_override; /* PORTA_OPTIM_VARIANT: 0 scalars-pass, 1 per-workgroup, 2 fused */
    uint32_t per_invocation_override; /* PORTA_OPTIM_PER_INVOCATION */
    uint32_t local_size_override;     /* PORTA_OPTIM_LOCAL_SIZE */
    uint32_t norm_chunk_override;     /* PORTA_OPTIM_NORM_CHUNK */
    /* 1: the kernels correct the device's division and square root
     * (device default: where they may be off; tuning.division,
     * PORTA_OPTIM_DIVISION). */
    uint32_t correct_rounding;

    /* arenas and the block (NULL until finalized): the arenas as chunks,
     * usually one; params, grads are chunk 0's */
    porta_opt_chunk chunks[PORTA_OPT_MAX_CHUNKS];
    size_t n_chunks;
    porta_buffer *params, *grads;
    /* 1: the device binds fewer storage buffers than optim_step does; the
     * update is optim_step_small, whose moments share one buffer per chunk
     * (porta_opt_chunk). */
    int small_step;
    porta_buffer *block;  /* porta_optim_block */
    porta_buffer *metric; /* one float: the metric porta_optimizer_observe() passes */

    uint64_t steps;          /* training steps enqueued: half = steps & 1 */
    uint64_t sched_advances; /* scheduler advances enqueued: sched half = this & 1 */
    uint64_t steps_drained;  /* ring entries already returned */
};

/* Validate the groups and the scheduler config and build the scheduler's
 * device config and initial state (shared by optimizers and host
 * schedulers). A warning leaves PORTA_OK with text in the message. */
porta_status porta__scheduler_configure(porta_context *ctx, const porta_optimizer_config *groups,
                                        const porta_scheduler_config *s,
                                        porta_sched_device_config *dev,
                                        porta_sched_device_state *init);

/* Turn the public configs into the device blocks (validating everything:
 * messages name the parameter). Sets a warning message but returns PORTA_OK
 * for valid-but-suspicious configs. optimizer_config.c */
porta_status porta__optimizer_configure(porta_context *ctx, porta_optimizer *opt);

/* Set opt's overrides from opt->config.tuning, each field left zero from
 * its variable (PORTA_OPTIM_VARIANT, PORTA_OPTIM_DIVISION,
 * PORTA_OPTIM_PER_INVOCATION, PORTA_OPTIM_LOCAL_SIZE,
 * PORTA_OPTIM_NORM_CHUNK; documented in optimizer_run.c); fails naming a
 * bad value and the field or variable it came from. */
porta_status porta__optimizer_read_overrides(porta_context *ctx, porta_optimizer *opt);

/* Enqueue the scalar pass in its prepare mode: the coming step's words
 * that no loss changes, into its half of the scalars buffer, from the
 * state on the device (the fused variant's update reads them; the step
 * before prepares them otherwise). After the state is set. */
porta_status porta__optimizer_prepare(porta_context *ctx, porta_optimizer *opt);

#endif
