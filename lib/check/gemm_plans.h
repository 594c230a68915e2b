/* gemm_plans.h: the GEMM plans the GEMM checks force (kernels.gemm and
 * kernels.gemm_epilogue in lib/check/, tests/test_gemm and
 * test_gemm_epilogue): the tiled GPU path and three direct CPU block
 * shapes, on every device whatever its preset. Not installed. */
#ifndef PORTA_CHECK_GEMM_PLANS_H
#define PORTA_CHECK_GEMM_PLANS_H

#include "gemm_internal.h"

static const porta__gemm_plan gemm_forced_plans[] = {
    {.tiled = 1, .tm = 1, .nv = 1, .wx = 1, .local_size = 256, .splits = 1, .preset = "tiled"},
    {.tiled = 0, .tm = 8, .nv = 2, .wx = 2, .local_size = 16, .splits = 1, .preset = "8x2v"},
    {.tiled = 0, .tm = 3, .nv = 1, .wx = 4, .local_size = 8, .splits = 1, .preset = "3x1v"},
    {.tiled = 0, .tm = 1, .nv = 1, .wx = 1, .local_size = 8, .splits = 1, .preset = "1x1v"},
};
#define GEMM_FORCED_PLAN_COUNT (sizeof gemm_forced_plans / sizeof gemm_forced_plans[0])

#endif
