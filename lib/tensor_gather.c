/* tensor_gather.c: strided gather copy into a contiguous tensor
 * (shaders/tensor_gather.kc), for head split / merge and other permutes.
 */
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

#define GATHER_MAX_DIMS 6u

/* Elements of a row one invocation copies at most: llvmpipe wants long
 * invocations (porta__elements_per_invocation), PoCL a few more than its
 * streaming preset, since each invocation first spends up to five integer
 * divisions finding its row. */
static uint32_t gather_elements(const porta_context *ctx)
{
    const uint32_t per = porta__elements_per_invocation(ctx);
    return per < 16u ? 16u : per;
}

porta_status porta_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                 const size_t *x_strides, porta_view xv, porta_view yv,
                                 bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_tensor_gather(ctx, ndim, shape, x_strides, xv, yv, accumulate);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    const char *call = "porta_tensor_gather";
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (ndim < 1 || ndim > GATHER_MAX_DIMS)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s ndim: %u is not in [1, %u]", call, ndim, GATHER_MAX_DIMS);
    if (!shape || !x_strides)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s %s: NULL", call,
                             shape ? "x_strides" : "shape");
    /* The element count and the largest source index, without overflow. */
    size_t n = 1, last = x_off;
    for (unsigned d = 0; d < ndim; d++) {
        if (shape[d] == 0) {
            n = 0;
            break;
        }
        if (n > SIZE_MAX / shape[d])
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "%s shape: the element count overflows", call);
        n *= shape[d];
    }
    for (unsigned d = 0; n > 0 && d < ndim; d++) {
        const size_t extent = shape[d] - 1;
        if (extent > 0 &&
            (x_strides[d] > SIZE_MAX / extent || last > SIZE_MAX - extent * x_strides[d]))
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "%s x_strides[%u]: %zu overflows the source index", call, d,
                                 x_strides[d]);
        last += extent * x_strides[d];
    }
    /* Every source index lies in [x_off, last]. */
    st = porta__check_view(ctx, xv, n > 0 ? last - x_off + 1 : 0, "porta_tensor_gather x");
    if (!st)
        st = porta__check_view(ctx, yv, n, "porta_tensor_gather y");
    if (st || n == 0)
        return st;
    /* Drop extents of 1 and merge each dimension into the one outside it
     * when they are contiguous in x (stride[d] == shape[d + 1] *
     * stride[d + 1]): the same copy with fewer index divisions and longer
     * rows. Then pad to six dimensions with leading extents of 1. */
    size_t ext[GATHER_MAX_DIMS], str[GATHER_MAX_DIMS];
    unsigned m = 0;
    for (unsigned d = 0; d < ndim; d++) {
        if (shape[d] == 1)
            continue;
        if (m > 0 && str[m - 1] == shape[d] * x_strides[d]) {
            ext[m - 1] *= shape[d];
            str[m - 1] = x_strides[d];
        } else {
            ext[m] = shape[d];
            str[m] = x_strides[d];
            m++;
        }
    }
    uint32_t e6[GATHER_MAX_DIMS], s6[GATHER_MAX_DIMS];
    for (unsigned d = 0; d < GATHER_MAX_DIMS; d++) {
        e6[d] = 1;
        s6[d] = 0;
    }
    for (unsigned d = 0; d < m; d++) {
        e6[GATHER_MAX_DIMS - m + d] = (uint32_t)ext[d];
        s6[GATHER_MAX_DIMS - m + d] = (uint32_t)str[d];
    }
    /* SPEC0 elements of a row per invocation: a power of two up to the
     * device's preset, no longer than the row needs. */
    const uint32_t cols = e6[GATHER_MAX_DIMS - 1];
    uint32_t per = 1;
    while (per < cols && per < gather_elements(ctx))
        per *= 2;
    const size_t chunks = (cols + per - 1) / per, rows = n / cols;
    porta_params_tensor_gather p = {.rows = (uint32_t)rows,
                                    .chunks = (uint32_t)chunks,
                                    .x_off = (uint32_t)x_off,
                                    .y_off = (uint32_t)y_off,
                                    .accumulate = accumulate ? 1u : 0u,
                                    .shape1 = e6[1],
                                    .shape2 = e6[2],
                                    .shape3 = e6[3],
                                    .shape4 = e6[4],
                                    .shape5 = e6[5],
                                    .stride0 = s6[0],
                                    .stride1 = s6[1],
                                    .stride2 = s6[2],
                                    .stride3 = s6[3],
                                    .stride4 = s6[4],
                                    .stride5 = s6[5]};
    porta_bbuffer *bufs[] = {x->impl, y->impl};
    const uint32_t spec[PORTA_SPEC_COUNT] = {per, 1, 1, 1};
    const size_t local = ctx->variant.local_size;
    uint32_t grid[3];
    porta__grid_2d((rows * chunks + local - 1) / local, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_tensor_gather, spec, grid, bufs, &p);
}
