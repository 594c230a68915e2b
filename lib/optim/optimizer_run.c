/* optimizer_run.c: the fused step, evaluation-mode observation, and
 * reading what the device recorded (metrics ring, status). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optimizer_internal.h"
#include "spec_flags.h"

static porta_status require_ready(porta_context *ctx, porta_optimizer *opt, const char *what)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!opt || !opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: %s", what,
                             opt ? "call porta_optimizer_finalize() first" : "optimizer is NULL");
    return PORTA_OK;
}

/* The update rule of optim_step (its SPEC0: OPTIM_RULE_* in
 * shaders/spec_flags.h). */
static uint32_t step_variant(const porta_optimizer *opt)
{
    if (opt->dev.kind == 1u)
        return OPTIM_RULE_ADAMW;
    if (opt->dev.momentum == 0.0f)
        return OPTIM_RULE_SGD;
    return opt->dev.nesterov ? OPTIM_RULE_NESTEROV : OPTIM_RULE_MOMENTUM;
}

/* Whether x is in 1..most and, for pow2, a power of two: what a count
 * override must be (read_count, tuned_count). */
static int count_ok(unsigned long x, unsigned long most, int pow2)
{
    return x >= 1 && x <= most && (!pow2 || porta__is_pow2(x));
}

/* *out = the decimal value of variable `name` when it is set, in 1..most
 * and (pow2) a power of two; unset or empty leaves *out; anything else is
 * an error naming the variable and what it expects. */
static porta_status read_count(porta_context *ctx, const char *name, unsigned long most, int pow2,
                               uint32_t *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return PORTA_OK;
    char *end = NULL;
    const unsigned long x = strtoul(v, &end, 10);
    if (*end != '\0' || !count_ok(x, most, pow2))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s=%s: expected %s%lu", name,
                             v, pow2 ? "a power of two up to " : "1..", most);
    *out = (uint32_t)x;
    return PORTA_OK;
}

/* *out = tuning field `field` when it is non-zero (checked as read_count
 * checks a variable, the message naming the field), else variable `name`
 * as read_count reads it when use_env. */
static porta_status tuned_count(porta_context *ctx, unsigned value, const char *field,
                                const char *name, bool use_env, unsigned long most, int pow2,
                                uint32_t *out)
{
    if (value == 0)
        return use_env ? read_count(ctx, name, most, pow2, out) : PORTA_OK;
    if (!count_ok(value, most, pow2))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "tuning.%s %u: expected %s%lu", field, value,
                             pow2 ? "a power of two up to " : "1..", most);
    *out = (uint32_t)value;
    return PORTA_OK;
}

/* *out = k when variable `name` is set to words[k] (words: NULL-ended);
 * unset or empty leaves *out; anything else is an error naming the words. */
static porta_status read_choice(porta_context *ctx, const char *name, const char *const *words,
                                int *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return PORTA_OK;
    for (int k = 0; words[k]; k++) {
        if (strcmp(v, words[k]) == 0) {
            *out = k;
            return PORTA_OK;
        }
    }
    porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s=%s: expected", name, v);
    for (int k = 0; words[k]; k++)
        porta_msg_append(&ctx->msg, "%s %s", k == 0 ? "" : words[k + 1] ? "," : " or", words[k]);
    return PORTA_ERROR_INVALID_ARGUMENT;
}

/* The variants, in PORTA_OPTIM_VARIANT's order (read_overrides); not
 * porta_optimizer_layout's numbers, which tuned_layout maps to these. */
enum { VARIANT_SCALARS_PASS = 0, VARIANT_PER_WORKGROUP = 1, VARIANT_FUSED = 2 };

/* *variant = the variant tuning.layout names, or for
 * PORTA_OPTIMIZER_LAYOUT_DEFAULT the one $PORTA_OPTIM_VARIANT names when
 * use_env (unset or empty leaves *variant). */
static porta_status tuned_layout(porta_context *ctx, porta_optimizer_layout layout, bool use_env,
                                 int *variant)
{
    static const char *const variants[] = {"scalars-pass", "per-workgroup", "fused", NULL};
    switch (layout) {
    case PORTA_OPTIMIZER_LAYOUT_DEFAULT:
        return use_env ? read_choice(ctx, "PORTA_OPTIM_VARIANT", variants, variant) : PORTA_OK;
    case PORTA_OPTIMIZER_LAYOUT_SCALARS_PASS:
        *variant = VARIANT_SCALARS_PASS;
        return PORTA_OK;
    case PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP:
        *variant = VARIANT_PER_WORKGROUP;
        return PORTA_OK;
    case PORTA_OPTIMIZER_LAYOUT_FUSED:
        *variant = VARIANT_FUSED;
        return PORTA_OK;
    }
    return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                         "tuning.layout %d: expected a porta_optimizer_layout (0 default, "
                         "1 scalars-pass, 2 per-workgroup or 3 fused)",
                         (int)layout);
}

/* *correct = 1 (correct the device's division and square root) or 0 (the
 * device's own) as tuning.division says, or for PORTA_DIVISION_DEFAULT as
 * $PORTA_OPTIM_DIVISION says when use_env (unset or empty leaves
 * *correct). */
static porta_status tuned_division(porta_context *ctx, porta_division division, bool use_env,
                                   int *correct)
{
    static const char *const divisions[] = {"device", "corrected", NULL};
    switch (division) {
    case PORTA_DIVISION_DEFAULT:
        return use_env ? read_choice(ctx, "PORTA_OPTIM_DIVISION", divisions, correct) : PORTA_OK;
    case PORTA_DIVISION_CORRECTED:
        *correct = 1;
        return PORTA_OK;
    case PORTA_DIVISION_DEVICE:
        *correct = 0;
        return PORTA_OK;
    }
    return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                         "tuning.division %d: expected a porta_division (0 default, "
                         "1 corrected or 2 device)",
                         (int)division);
}

/* Layout overrides, read when an optimizer is created (kept in the
 * optimizer, so no global state) to compare variants on a device without
 * rebuilding. Each comes from its field of config.tuning when that is
 * non-zero, else (unless tuning.ignore_environment) from its environment
 * variable when that is set (the field named after the variable's value
 * below):
 *   PORTA_OPTIM_VARIANT=scalars-pass   optim_scalars, then optim_step with
 *   (layout)                           OPTIM_FLAG_PER_WORKGROUP clear (also with a gradient
 *                                      norm: the scalar pass finishes it);
 *   PORTA_OPTIM_VARIANT=per-workgroup  optim_step alone with OPTIM_FLAG_PER_WORKGROUP;
 *   PORTA_OPTIM_VARIANT=fused          without a gradient norm, optim_step
 *                                      alone with OPTIM_FLAG_FUSED (its
 *                                      scalars prepared by the previous
 *                                      step); with one, scalars-pass;
 *   PORTA_OPTIM_PER_INVOCATION=N       optim_step's SPEC1 (1..256);
 *   (per_invocation)
 *   PORTA_OPTIM_LOCAL_SIZE=N           its workgroup size (a power of two
 *   (local_size)                       the device allows);
 *   PORTA_OPTIM_NORM_CHUNK=N           the gradient norm's workgroups each
 *   (norm_chunk)                       sum N elements (at most
 *                                      PORTA_NORM_GROUPS workgroups; N up
 *                                      to 2^23, what 256 workgroups of
 *                                      the largest arena sum anyway:
 *                                      scalars_local_size);
 *   PORTA_OPTIM_DIVISION=corrected     the device's fastest division and
 *   (division)                         square root, each corrected once
 *                                      (shaders/corrected_div_sqrt.kh);
 *   PORTA_OPTIM_DIVISION=device        the device's own, as precise as it
 *                                      offers (may be 2.5 ulp off on a GPU
 *                                      under Vulkan: a diagnostic).
 * Neither: the device's choice below. */
porta_status porta__optimizer_read_overrides(porta_context *ctx, porta_optimizer *opt)
{
    const porta_optimizer_tuning *t = &opt->config.tuning;
    const bool env = !t->ignore_environment;
    opt->variant_override = -1;
    opt->per_invocation_override = 0;
    opt->local_size_override = 0;
    opt->norm_chunk_override = 0;
    /* Corrected where the device's own may be a few ulp off: AdamW's two
     * divisions and root per element drift past the tests' 1e-6 otherwise. */
    int correct = ctx->backend.caps.div_sqrt_rounded ? 0 : 1;
    porta_status st = tuned_layout(ctx, t->layout, env, &opt->variant_override);
    if (!st)
        st = tuned_division(ctx, t->division, env, &correct);
    opt->correct_rounding = (uint32_t)correct;
    if (!st)
        st = tuned_count(ctx, t->per_invocation, "per_invocation", "PORTA_OPTIM_PER_INVOCATION",
                         env, 256, 0, &opt->per_invocation_override);
    if (!st)
        st = tuned_count(ctx, t->local_size, "local_size", "PORTA_OPTIM_LOCAL_SIZE", env,
                         ctx->backend.caps.max_workgroup_size, 1, &opt->local_size_override);
    if (!st)
        st = tuned_count(ctx, t->norm_chunk, "norm_chunk", "PORTA_OPTIM_NORM_CHUNK", env,
                         PORTA_NORM_CHUNK_MAX, 0, &opt->norm_chunk_override);
    return st;
}

/* Where optim_step finds the step's scalars. 0 (scalars-pass): in the
 * buffer the scalar pass (optim_scalars) wrote just before, without any
 * barrier or per-workgroup preamble: llvmpipe, and every device when a
 * gradient norm is needed (the scalar pass sums it). 1 (per-workgroup):
 * every workgroup computes the scalars into shared memory and workgroup 0
 * also does the bookkeeping; on a GPU invocation 0 of every workgroup then
 * runs a chain of dependent loads before its first element: kept for
 * comparison. 2 (fused): without a norm, the update alone, from words the
 * step before prepared, workgroup 0 doing the bookkeeping after its
 * update: one dispatch per step, no dependent launch to wait for. The
 * default on GPUs (not yet measured on one against scalars-pass:
 * PORTA_OPTIM_VARIANT compares) and on PoCL, where it takes the loss
 * count as a constant and 2048-wide workgroups (step_layout,
 * loss_words): 16M AdamW parameters, interleaved runs, 0.93 of the
 * roofline on average, level with scalars-pass within this VM's noise
 * (0.92-0.96 in two series); 0.89 with 256-wide workgroups (each
 * workgroup sums the loss's 64 words before its elements). llvmpipe
 * (Rusticl and lavapipe; Mesa 22.3) has no real branch on a uniform value:
 * every batch of 8 invocations runs all of a kernel's code, masked where
 * it does not apply, and every buffer access is a loop over the 8 lanes.
 * So the fused step costs it, per 2048-element workgroup, the 64-word
 * loss sum and the whole bookkeeping, masked off. Forced fused, 4M AdamW
 * parameters, lavapipe: 0.80 of the roofline against 0.93-0.94 for the
 * scalar pass; 0.87-0.90 with the bookkeeping left out, 0.94 with the
 * loss sum left out too (Rusticl 0.77 against 0.89). Longer workgroups
 * shrink that share but not enough: 1024 elements per invocation, 0.87
 * (more code than llvmpipe compiles quickly); a loop over blocks makes
 * every access masked (256 workgroups, 16M: lavapipe 400-415 ms against
 * 347) and runs into llvmpipe's silent end of an invocation's loops after
 * 65,535 iterations in all (shaders/README.md). */
static uint32_t scalars_variant(const porta_context *ctx, const porta_optimizer *opt)
{
    /* Split arenas are updated a buffer at a time, so the step's
     * bookkeeping and scalars come from the scalar pass, once. */
    if (opt->n_chunks > 1)
        return VARIANT_SCALARS_PASS;
    if (opt->variant_override >= 0)
        return (uint32_t)opt->variant_override;
    return porta__masked_lanes(ctx) ? VARIANT_SCALARS_PASS : VARIANT_FUSED;
}

/* Whether optim_step runs the fused variant on PoCL, which runs a kernel
 * as a loop over its work-items: it then takes the loss count as a
 * constant (loss_words), 2048-wide workgroups (step_layout) and a barrier
 * before the bookkeeping (OPTIM_FLAG_FUSED_BARRIER). */
static int fused_work_item_loop(const porta_context *ctx, uint32_t variant)
{
    return variant == VARIANT_FUSED && porta__is_work_item_loop(ctx);
}

/* The fused variant's loss word count as optim_step's the OPTIM_FLAG_LOSS_WORDS bits,
 * when at most 64 (a training graph's loss has at most 64 partials), on
 * PoCL: with the count constant, LLVM sums the loss before its loop over
 * the work-items instead of in every work-item (shaders/optim_step.kc).
 * Elsewhere 0 (the loop over P(loss_count); no pipeline per count). */
static uint32_t loss_words(const porta_context *ctx, uint32_t variant, uint32_t loss_count)
{
    return fused_work_item_loop(ctx, variant) && loss_count <= 64u ? loss_count : 0u;
}

/* How optim_step walks the arena: the device's stream layout
 * (porta__stream_layout_for: on llvmpipe one SIMD batch per workgroup, 256
 * elements per invocation; elsewhere one element per invocation, the
 * layout in which PoCL vectorises the update and a GPU reads it
 * coalesced), so the step walks memory as the roofline does. The
 * per-workgroup variant (OPTIM_FLAG_PER_WORKGROUP) outside llvmpipe takes the device's
 * preset for blocked elementwise kernels, to amortise its preamble; the
 * fused variant on PoCL 2048-wide workgroups, for the same reason (the
 * loss sum before each workgroup's elements: 0.93 of the roofline against
 * 0.89 with 256, 16M AdamW parameters). PORTA_OPTIM_PER_INVOCATION and
 * PORTA_OPTIM_LOCAL_SIZE override. */
static porta__stream_layout step_layout(const porta_context *ctx, const porta_optimizer *opt,
                                        uint32_t variant)
{
    porta__stream_layout layout = porta__stream_layout_for(ctx);
    if (variant == VARIANT_PER_WORKGROUP && !porta__masked_lanes(ctx))
        layout.per_invocation = porta__elements_per_invocation(ctx);
    if (fused_work_item_loop(ctx, variant) &&
        ctx->backend.caps.max_workgroup_size >= PORTA_STREAM_BLOCK_MAX)
        layout.local_size = PORTA_STREAM_BLOCK_MAX;
    if (opt->per_invocation_override)
        layout.per_invocation = opt->per_invocation_override;
    if (opt->local_size_override)
        layout.local_size = opt->local_size_override;
    return layout;
}

/* Workgroups for the gradient norm's partial sums, at most
 * PORTA_NORM_GROUPS, the same count for both passes that sum the norm: on
 * a GPU one per stretch of the arena as wide as its default workgroup;
 * on a CPU device one per PORTA_NORM_CPU_CHUNK elements, since there
 * every workgroup of the scalar pass is work: PoCL runs each one's
 * barrier regions as loops over all its work-items, and llvmpipe runs the
 * serial part (the scalars) in every workgroup, masked off. Measured with
 * porta-bench optimizer, a 65,536-parameter step with the norm: PoCL 1.00
 * -> 0.11 ms, lavapipe 5.4 -> 3.1 ms, Rusticl 12.5 -> 9.8 ms (one
 * workgroup instead of 256); 16M parameters: the same 256 either way.
 * PORTA_OPTIM_NORM_CHUNK overrides the elements per workgroup. */
static uint32_t norm_groups(const porta_context *ctx, const porta_optimizer *opt)
{
    size_t per = porta__cpu_like(ctx) ? PORTA_NORM_CPU_CHUNK : ctx->variant.local_size;
    if (opt->norm_chunk_override)
        per = opt->norm_chunk_override;
    const size_t groups = (opt->elements + per - 1) / per;
    return groups < PORTA_NORM_GROUPS ? (uint32_t)groups : PORTA_NORM_GROUPS;
}

/* The most passes of the norm's loop (8 elements each, reduce_chunk.kh)
 * one invocation of the scalar pass makes: half of the 65,535 loop
 * iterations after which llvmpipe ends an invocation's loops without a
 * word (shaders/README.md), the rest left to its serial part (a loss of
 * up to PORTA_OPTIMIZER_MAX_LOSS_WORDS words, the norm partials, the
 * scheduler's window). */
#define NORM_MAX_PASSES 32768u

/* The scalar pass's workgroup size: the stream layout's (launch_scalars
 * says why), but on llvmpipe, when the pass sums the gradient norm,
 * doubled while an invocation would make more than NORM_MAX_PASSES passes
 * over its workgroup's share: 8 invocations reach that at 2^21 elements
 * per workgroup (256 workgroups: 2^29 parameters), and a workgroup sums
 * at most PORTA_NORM_CHUNK_MAX, 2^23, which 32 cover. Before, llvmpipe
 * silently summed only part of such an arena's norm. */
static uint32_t scalars_local_size(const porta_context *ctx, const porta_optimizer *opt,
                                   uint32_t groups, int with_norm)
{
    uint32_t local = porta__stream_layout_for(ctx).local_size;
    if (!with_norm || !porta__masked_lanes(ctx))
        return local;
    const size_t chunk = (opt->elements + groups - 1) / groups;
    while ((chunk + 8u * local - 1) / (8u * local) > NORM_MAX_PASSES &&
           local * 2u <= ctx->backend.caps.max_workgroup_size &&
           local * 2u <= porta_kernel_table[PORTA_KERNEL_optim_scalars]->max_local_size)
        local *= 2u;
    return local;
}

/* The scheduler kind + 1 when it is one a kernel can compile alone (as
 * SCHED_ONLY_KIND: optim_scalars' SPEC0, optim_step's the OPTIM_FLAG_SCHED_KIND bits),
 * else 0: every kind, chosen at run time. */
static uint32_t sched_only_kind(const porta_optimizer *opt)
{
    const uint32_t kind = opt->sched_dev.kind;
    return kind <= PORTA_SCHED_GREEDYLR ? kind + 1u : 0u;
}

/* optim_scalars' P(phase) with a gradient norm (NORM_* in
 * shaders/optim_scalars.kc). */
enum { NORM_PHASE_TICKET = 0, NORM_PHASE_PARTIALS = 1, NORM_PHASE_FINISH = 2 };

/* Enqueue one optim_scalars dispatch of `groups` workgroups of `local`
 * invocations. norm: compile the gradient norm in (SPEC2), in phase
 * `phase`; norm_count: the partials the scalar pass adds up. */
static porta_status scalars_dispatch(porta_context *ctx, porta_optimizer *opt, porta_buffer *loss,
                                     uint32_t loss_off, uint32_t loss_count, float scale,
                                     uint32_t mode, uint32_t groups, uint32_t local, int norm,
                                     uint32_t phase, uint32_t norm_count, const porta_opt_chunk *k,
                                     uint32_t partial_off)
{
    porta_params_optim_scalars p = {.loss_off = loss_off,
                                    .loss_count = loss_count,
                                    .loss_scale = scale,
                                    .norm_count = norm_count,
                                    .mode = mode,
                                    .state_half = (uint32_t)(opt->steps & 1u),
                                    .sched_half = (uint32_t)(opt->sched_advances & 1u),
                                    .n = (uint32_t)k->n,
                                    .phase = phase,
                                    .partial_off = partial_off};
    porta_bbuffer *bufs[] = {opt->block->impl, loss->impl, k->grads->impl};
    /* SPEC0: the scheduler's kind + 1 (0, every kind, for a kind the
     * kernel does not know), so the kernel holds only that kind's code:
     * Rusticl rebuilds a kernel's compute state on every launch, at a cost
     * that grows with its size. */
    const uint32_t spec[PORTA_SPEC_COUNT] = {sched_only_kind(opt), opt->correct_rounding,
                                             norm ? 1u : 0u, porta__reduce_runs(ctx)};
    const uint32_t grid[3] = {groups, 1u, 1u};
    return porta__launch_spec_local(ctx, PORTA_KERNEL_optim_scalars, local, opt->correct_rounding,
                                    spec, grid, bufs, &p);
}

/* The gradient norm's partial sums into the block, from optim_scalars in
 * its partials-only phase: for the per-workgroup variant, for the scalar
 * pass on a device without hand-over between workgroups, and for split
 * arenas (one dispatch per buffer, into consecutive partials, each buffer
 * its share of the norm_groups() workgroups by size, at least one).
 * The same pipeline as the ticket's, so the same bits. Returns how many. */
static porta_status norm_partials_pass(porta_context *ctx, porta_optimizer *opt, uint32_t *count)
{
    const uint32_t groups = norm_groups(ctx, opt);
    const uint32_t local = scalars_local_size(ctx, opt, groups, 1);
    uint32_t share[PORTA_OPT_MAX_CHUNKS], total = 0;
    for (size_t c = 0; c < opt->n_chunks; c++) {
        const size_t g = opt->elements ? groups * opt->chunks[c].n / opt->elements : 0;
        share[c] = g > 0 ? (uint32_t)g : 1u;
        total += share[c];
    }
    /* rounding up the small ones may overshoot: take it from the largest */
    while (total > PORTA_NORM_GROUPS) {
        size_t big = 0;
        for (size_t c = 1; c < opt->n_chunks; c++)
            big = share[c] > share[big] ? c : big;
        share[big]--;
        total--;
    }
    porta_status st = PORTA_OK;
    uint32_t at = 0;
    for (size_t c = 0; c < opt->n_chunks && !st; c++) {
        st = scalars_dispatch(ctx, opt, opt->metric, 0, 1, 1.0f, 0, share[c], local, 1,
                              NORM_PHASE_PARTIALS, total, &opt->chunks[c], at);
        at += share[c];
    }
    *count = total;
    return st;
}

/* Enqueue the scalar pass (optim_scalars). mode 0: a training step; 1:
 * observe only; 2: prepare the coming step's words only. with_norm: first
 * the gradient norm's partial sums, on norm_groups() workgroups. Where
 * the device promises hand-over between the workgroups of one dispatch
 * (caps.group_handover) the last of them to finish runs the pass (a step
 * with a norm is then two dispatches); elsewhere a second dispatch of one
 * workgroup of the same pipeline does, reading the partials in index
 * order: the same bits either way. Without a norm, one workgroup. The
 * workgroups are as wide as the stream layout's: on llvmpipe one SIMD
 * batch, since every batch of a wider workgroup runs the serial part too,
 * masked off (lavapipe, 2048 parameters: 0.80 ms per step with 256
 * invocations, 0.21 ms with 8; Rusticl spends its ~5 ms elsewhere,
 * rebuilding the kernel's compute state on every launch); the device's
 * default elsewhere, where the invocations share out the copies to and
 * from shared memory. */
static porta_status launch_scalars(porta_context *ctx, porta_optimizer *opt, porta_buffer *loss,
                                   uint32_t loss_off, uint32_t loss_count, float scale,
                                   int with_norm, uint32_t mode)
{
    if (!with_norm)
        return scalars_dispatch(ctx, opt, loss, loss_off, loss_count, scale, mode, 1u,
                                scalars_local_size(ctx, opt, 1u, 0), 0, 0, 0, &opt->chunks[0], 0);
    const uint32_t groups = norm_groups(ctx, opt);
    const uint32_t local = scalars_local_size(ctx, opt, groups, 1);
    if (ctx->backend.caps.group_handover && opt->n_chunks == 1)
        return scalars_dispatch(ctx, opt, loss, loss_off, loss_count, scale, mode, groups, local, 1,
                                NORM_PHASE_TICKET, groups, &opt->chunks[0], 0);
    uint32_t count = 0;
    porta_status st = norm_partials_pass(ctx, opt, &count);
    if (!st)
        st = scalars_dispatch(ctx, opt, loss, loss_off, loss_count, scale, mode, 1u, local, 1,
                              NORM_PHASE_FINISH, count, &opt->chunks[0], 0);
    return st;
}

/* 1 where optim_step skips a step's update by one branch around it
 * (OPTIM_FLAG_SKIP_BRANCH), 0 where each element selects between its new and old
 * values. A select on a value that is the same for the whole loop is one
 * that LLVM's x86 backend compiles to a branch per select (it has no blend
 * with a scalar condition), and three such branches in every 8-element
 * iteration left PoCL's AdamW step at 0.87-0.93 of the stream kernel (16M
 * parameters); with the branch outside the loop, which LLVM then
 * unswitches, 0.92-0.97 (interleaved runs). llvmpipe (Rusticl, lavapipe)
 * runs every branch masked and so pays for it inside: Rusticl 0.88 against
 * 0.90-0.91 with the selects, lavapipe no different. GPUs keep the selects,
 * the form measured there (a uniform branch would cost them nothing, but
 * it is not measured). */
static uint32_t skip_by_branch(const porta_context *ctx)
{
    return (uint32_t)porta__is_work_item_loop(ctx);
}

/* The kernel of the element update: optim_step, or, on a device that
 * binds fewer storage buffers than optim_step does, optim_step_small (the
 * scalars-pass form, 4 buffers, its moments in one; optimizer.c allocates
 * them so). */
static porta_kernel_id update_kernel(const porta_optimizer *opt)
{
    return opt->small_step ? PORTA_KERNEL_optim_step_small : PORTA_KERNEL_optim_step;
}

/* One params struct for both (optim_update.kh declares their params). */
_Static_assert(sizeof(porta_params_optim_step) == sizeof(porta_params_optim_step_small) &&
                   offsetof(porta_params_optim_step, m2_off) ==
                       offsetof(porta_params_optim_step_small, m2_off),
               "optim_step and optim_step_small take the same params");

/* Enqueue the element update (update_kernel()), in the variant
 * scalars_variant() picks: the one that computes the scalars per
 * workgroup (finishing the gradient norm from the partials of the norm
 * pass when norm_count > 0), or the one that reads what optim_scalars
 * wrote. */
static porta_status launch_update(porta_context *ctx, porta_optimizer *opt, porta_buffer *loss,
                                  uint32_t loss_off, uint32_t loss_count, float scale,
                                  uint32_t norm_count, uint32_t variant, const porta_opt_chunk *k)
{
    const uint32_t n_groups = opt->dev.n_groups;
    /* The groups' starts within this chunk: a group that began before it
     * starts at 0, one that begins after it at its end (never reached). */
    uint32_t start[PORTA_MAX_PARAM_GROUPS] = {0};
    for (uint32_t g = 1; g < n_groups; g++) {
        const size_t at = opt->dev.group_end[g - 1];
        start[g] = (uint32_t)(at <= k->start ? 0 : at - k->start < k->n ? at - k->start : k->n);
    }
    porta_params_optim_step p = {.n = (uint32_t)k->n,
                                 .start1 = start[1],
                                 .start2 = start[2],
                                 .start3 = start[3],
                                 .start4 = start[4],
                                 .start5 = start[5],
                                 .start6 = start[6],
                                 .start7 = start[7],
                                 .loss_off = loss_off,
                                 .loss_count = loss_count,
                                 .loss_scale = scale,
                                 .norm_count = norm_count,
                                 .mode = 0,
                                 .state_half = (uint32_t)(opt->steps & 1u),
                                 .sched_half = (uint32_t)(opt->sched_advances & 1u),
                                 .beta2 = opt->dev.beta2,
                                 .one_minus_beta1 = 1.0f - opt->dev.beta1,
                                 .one_minus_beta2 = 1.0f - opt->dev.beta2,
                                 .eps = opt->dev.eps,
                                 .momentum = opt->dev.momentum,
                                 .one_minus_dampening = 1.0f - opt->dev.dampening,
                                 .m2_off = (uint32_t)(k->m2_at / 4)};
    /* optim_step: param, grad, m1, m2, loss, block; optim_step_small:
     * param, grad, moments, block. */
    porta_bbuffer *bufs[] = {k->params->impl,  k->grads->impl, k->m1->impl,
                             opt->block->impl, loss->impl,     opt->block->impl};
    if (!opt->small_step)
        bufs[3] = k->m2->impl;
    /* SPEC3's flags (shaders/spec_flags.h). CHECKED: bounds checks, for a
     * block that does not divide the groups' alignment (only a tuning
     * override makes one) and for an empty arena (its one workgroup must
     * not write). SKIP_BRANCH: skip_by_branch(). CLIP: clipping is on (off,
     * the update leaves out its multiply by 1). FUSED_BARRIER: the fused
     * variant's barrier before its bookkeeping, which only PoCL needs
     * (shaders/optim_step.kc says why). */
    const porta__stream_layout layout = step_layout(ctx, opt, variant);
    const uint32_t block = layout.local_size * layout.per_invocation;
    const uint32_t checked = PORTA_GROUP_ALIGN % block != 0u || k->n == 0;
    const uint32_t spec[PORTA_SPEC_COUNT] = {
        step_variant(opt), 0u, n_groups,
        (variant == VARIANT_PER_WORKGROUP ? OPTIM_FLAG_PER_WORKGROUP : 0u) |
            (checked ? OPTIM_FLAG_CHECKED : 0u) |
            (opt->correct_rounding ? OPTIM_FLAG_CORRECT_DIV : 0u) |
            (variant == VARIANT_FUSED ? OPTIM_FLAG_FUSED : 0u) |
            (skip_by_branch(ctx) ? OPTIM_FLAG_SKIP_BRANCH : 0u) |
            (opt->dev.clip_norm > 0.0f ? OPTIM_FLAG_CLIP : 0u) |
            (fused_work_item_loop(ctx, variant) ? OPTIM_FLAG_FUSED_BARRIER : 0u) |
            (loss_words(ctx, variant, loss_count) << OPTIM_FLAG_LOSS_WORDS_SHIFT) |
            (variant != VARIANT_SCALARS_PASS ? sched_only_kind(opt) << OPTIM_FLAG_SCHED_KIND_SHIFT
                                             : 0u)};
    return porta__launch_stream(ctx, update_kernel(opt), layout, k->n, opt->correct_rounding, spec,
                                bufs, &p);
}

_Static_assert(PORTA_GROUP_ALIGN % PORTA_STREAM_BLOCK_MAX == 0,
               "every stream layout's block must divide the groups' alignment");

/* optim_scalars.kc keeps the norm partials in shared memory. */
_Static_assert(PORTA_NORM_GROUPS <= 256u, "optim_scalars.kc holds at most 256 norm partials");

porta_status porta_optimizer_step(porta_context *ctx, porta_optimizer *opt, porta_view lossv,
                                  size_t loss_count, float loss_scale)
{
    porta_buffer *loss = lossv.buffer;
    const size_t loss_off = lossv.offset;
    porta_status st = require_ready(ctx, opt, "porta_optimizer_step");
    if (!st)
        st = porta__check_view(ctx, lossv, loss_count, "porta_optimizer_step loss");
    if (st)
        return st;
    /* optim_step's buffers are restrict (shaders/optim_step.kc): the loss
     * must not be one the step writes or reads as another array. */
    for (size_t c = 0; c < opt->n_chunks; c++)
        if (loss == opt->chunks[c].params || loss == opt->chunks[c].grads)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "porta_optimizer_step: the loss is in the optimizer's %s arena; "
                                 "keep it in a buffer of its own",
                                 loss == opt->chunks[c].params ? "parameter" : "gradient");
    if (loss_count == 0 || loss_count > PORTA_OPTIMIZER_MAX_LOSS_WORDS)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_step: loss_count is %zu, expected 1..%u (sum a "
                             "longer loss first, e.g. with porta_vec_sum)",
                             loss_count, PORTA_OPTIMIZER_MAX_LOSS_WORDS);
    /* The scalar pass (which sums the gradient norm first when one is
     * needed) and the update that only reads the scalars; or, in the
     * per-workgroup variant, the norm pass when needed and the update that
     * finishes the scalars in every workgroup; or, in the fused variant
     * without a norm, the update alone. */
    const int with_norm = opt->check_norm && opt->elements > 0;
    uint32_t variant = scalars_variant(ctx, opt);
    if ((variant == VARIANT_FUSED && with_norm) || opt->small_step)
        variant = VARIANT_SCALARS_PASS;
    /* Whether the update fits the device, before anything is enqueued: a
     * refusal (its message names the limit) then leaves the state as it
     * was. */
    st = porta__kernel_fits(ctx, porta_kernel_table[update_kernel(opt)],
                            step_layout(ctx, opt, variant).local_size);
    if (st)
        return st;
    uint32_t norm_count = 0;
    if (variant == VARIANT_SCALARS_PASS)
        st = launch_scalars(ctx, opt, loss, (uint32_t)loss_off, (uint32_t)loss_count, loss_scale,
                            with_norm, 0);
    else if (variant == VARIANT_PER_WORKGROUP && with_norm)
        st = norm_partials_pass(ctx, opt, &norm_count);
    for (size_t c = 0; c < opt->n_chunks && !st; c++)
        st = launch_update(ctx, opt, loss, (uint32_t)loss_off, (uint32_t)loss_count, loss_scale,
                           norm_count, variant, &opt->chunks[c]);
    if (!st) {
        opt->steps++;
        opt->sched_advances += opt->dev.sched_on_loss;
    }
    return st;
}

porta_status porta__optimizer_prepare(porta_context *ctx, porta_optimizer *opt)
{
    return launch_scalars(ctx, opt, opt->metric, 0, 1, 1.0f, 0, 2);
}

porta_status porta_optimizer_observe(porta_context *ctx, porta_optimizer *opt, float metric)
{
    porta_status st = require_ready(ctx, opt, "porta_optimizer_observe");
    if (st)
        return st;
    const porta_scheduler_kind kind = opt->scheduler.kind;
    if (kind != PORTA_SCHEDULER_GREEDYLR && kind != PORTA_SCHEDULER_PLATEAU)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_observe: only GreedyLR and plateau observe metrics");
    if (!opt->scheduler.observe_eval)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_observe: the scheduler observes the training loss "
                             "(create it with observe_eval = true to feed evaluation metrics)");
    st = porta_buffer_write(ctx, opt->metric, 0, sizeof(metric), &metric);
    if (!st)
        st = launch_scalars(ctx, opt, opt->metric, 0, 1, 1.0f, 0, 1);
    if (!st)
        opt->sched_advances++;
    return st;
}

/* The ring's flags word carries the scheduler's PORTA_SCHED_EV_* bits,
 * returned as they are: the public names must be the same bits. */
_Static_assert(PORTA_SCHEDULER_EVENT_FROZEN == PORTA_SCHED_EV_FROZEN &&
                   PORTA_SCHEDULER_EVENT_IMPROVED == PORTA_SCHED_EV_IMPROVED &&
                   PORTA_SCHEDULER_EVENT_INCREASE == PORTA_SCHED_EV_INCREASE &&
                   PORTA_SCHEDULER_EVENT_DECREASE == PORTA_SCHED_EV_DECREASE &&
                   PORTA_SCHEDULER_EVENT_CHANGED == PORTA_SCHED_EV_CHANGED &&
                   PORTA_SCHEDULER_EVENT_RESET == PORTA_SCHED_EV_RESET &&
                   PORTA_SCHEDULER_EVENT_NONFINITE == PORTA_SCHED_EV_NONFINITE,
               "porta_scheduler_event must equal the PORTA_SCHED_EV_* bits");

static void decode_entry(const uint32_t *w, unsigned n_groups, porta_step_metrics *out)
{
    memset(out, 0, sizeof(*out));
    out->step = w[0];
    memcpy(&out->loss, &w[1], 4);
    memcpy(&out->grad_norm, &w[2], 4);
    out->skipped = (w[3] & 1u) != 0;
    out->scheduler_events = w[3] >> 8;
    for (unsigned g = 0; g < n_groups; g++)
        memcpy(&out->lr[g], &w[4 + g], 4);
}

porta_status porta_optimizer_metrics(porta_context *ctx, porta_optimizer *opt,
                                     porta_step_metrics *out, size_t cap, size_t *count,
                                     size_t *lost)
{
    porta_status st = require_ready(ctx, opt, "porta_optimizer_metrics");
    if (st)
        return st;
    if (!count || (!out && cap))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_metrics: NULL argument");
    const size_t words = PORTA_RING_CAPACITY * PORTA_RING_WORDS;
    uint32_t *ring = malloc(words * 4);
    if (!ring)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "metrics: no memory");
    st = porta_buffer_read(ctx, opt->block, PORTA_BLOCK_AT(ring), words * 4, ring);
    if (st) {
        free(ring);
        return st;
    }
    uint64_t first = opt->steps_drained;
    size_t dropped = 0;
    if (opt->steps - first > PORTA_RING_CAPACITY) {
        dropped = (size_t)(opt->steps - PORTA_RING_CAPACITY - first);
        first = opt->steps - PORTA_RING_CAPACITY;
    }
    size_t n = 0;
    for (uint64_t s = first; s < opt->steps && n < cap; s++, n++) {
        const uint32_t *w = ring + (s % PORTA_RING_CAPACITY) * PORTA_RING_WORDS;
        decode_entry(w, opt->config.n_groups, &out[n]);
        out[n].step = s; /* the ring keeps the low 32 bits */
    }
    opt->steps_drained = first + n;
    *count = n;
    if (lost)
        *lost = dropped;
    free(ring);
    return PORTA_OK;
}

porta_status porta_optimizer_status_get(porta_context *ctx, porta_optimizer *opt,
                                        porta_optimizer_status *out)
{
    porta_status st = require_ready(ctx, opt, "porta_optimizer_status_get");
    if (st)
        return st;
    if (!out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "status: out is NULL");
    /* Only the current halves: the host knows which they are. */
    porta_optim_state_dev o;
    float lr[PORTA_MAX_PARAM_GROUPS];
    st = porta_buffer_read(ctx, opt->block, PORTA_BLOCK_AT(ost) + (opt->steps & 1u) * sizeof(o),
                           sizeof(o), &o);
    if (!st)
        st = porta_buffer_read(ctx, opt->block,
                               PORTA_BLOCK_AT(sst) +
                                   (opt->sched_advances & 1u) * sizeof(porta_sched_device_state) +
                                   offsetof(porta_sched_device_state, lr),
                               sizeof(lr), lr);
    if (st)
        return st;
    memset(out, 0, sizeof(*out));
    out->steps = opt->steps; /* equal to o.step modulo 2^32 */
    out->skipped = o.skipped;
    out->n_groups = opt->config.n_groups;
    for (unsigned g = 0; g < out->n_groups; g++)
        out->lr[g] = lr[g];
    out->ring_capacity = PORTA_RING_CAPACITY;
    return PORTA_OK;
}
