/* gemm_plans.h: the GEMM plans the GEMM checks force (kernels.gemm and
 * kernels.gemm_epilogue in lib/check/, tests/test_gemm and
 * test_gemm_epilogue): the tiled GPU path, three direct CPU block shapes
 * and the scalar fallback (with split-K too: a narrow C on a device with
 * small workgroups), on every device whatever its preset. Not installed. */
#ifndef PORTA_CHECK_GEMM_PLANS_H
#define PORTA_CHECK_GEMM_PLANS_H

#include "gemm_internal.h"

static const porta__gemm_plan gemm_forced_plans[] = {
    {.tiled = 1, .tm = 1, .nv = 1, .wx = 1, .local_size = 256, .splits = 1, .preset = "tiled"},
    {.tiled = 0, .tm = 8, .nv = 2, .wx = 2, .local_size = 16, .splits = 1, .preset = "8x2v"},
    {.tiled = 0, .tm = 3, .nv = 1, .wx = 4, .local_size = 8, .splits = 1, .preset = "3x1v"},
    {.tiled = 0, .tm = 1, .nv = 1, .wx = 1, .local_size = 8, .splits = 1, .preset = "1x1v"},
    {.scalar = 1, .tm = 1, .nv = 1, .wx = 1, .local_size = 32, .splits = 1, .preset = "scalar"},
    {.scalar = 1, .tm = 1, .nv = 1, .wx = 1, .local_size = 16, .splits = 3, .preset = "scalar k/3"},
};
#define GEMM_FORCED_PLAN_COUNT (sizeof gemm_forced_plans / sizeof gemm_forced_plans[0])

#endif
