/* tensor_gather.c: strided gather copy into a contiguous tensor
 * (shaders/tensor_gather.kc), for head split / merge and other permutes.
 */
#include <stdint.h>

#include "internal.h"

#define GATHER_MAX_DIMS 6u

porta_status porta_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                 const size_t *x_strides, porta_buffer *x, size_t x_off,
                                 porta_buffer *y, size_t y_off, int accumulate)
{
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
    st = porta__check_range(ctx, x, x_off, n > 0 ? last - x_off + 1 : 0, "porta_tensor_gather x");
    if (!st)
        st = porta__check_range(ctx, y, y_off, n, "porta_tensor_gather y");
    if (st || n == 0)
        return st;
    /* Pad to six dimensions with leading extents of 1 (stride 0). Strides
     * of extent-1 dimensions are never used: 0 keeps them in 32 bits. */
    uint32_t ext[GATHER_MAX_DIMS], str[GATHER_MAX_DIMS];
    for (unsigned d = 0; d < GATHER_MAX_DIMS; d++) {
        ext[d] = 1;
        str[d] = 0;
    }
    for (unsigned d = 0; d < ndim; d++) {
        const unsigned to = GATHER_MAX_DIMS - ndim + d;
        ext[to] = (uint32_t)shape[d];
        str[to] = shape[d] > 1 ? (uint32_t)x_strides[d] : 0u;
    }
    porta_params_tensor_gather p = {.n = (uint32_t)n,
                                    .x_off = (uint32_t)x_off,
                                    .y_off = (uint32_t)y_off,
                                    .accumulate = accumulate ? 1u : 0u,
                                    .shape0 = ext[0],
                                    .shape1 = ext[1],
                                    .shape2 = ext[2],
                                    .shape3 = ext[3],
                                    .shape4 = ext[4],
                                    .shape5 = ext[5],
                                    .stride0 = str[0],
                                    .stride1 = str[1],
                                    .stride2 = str[2],
                                    .stride3 = str[3],
                                    .stride4 = str[4],
                                    .stride5 = str[5]};
    porta_bbuffer *bufs[] = {x->impl, y->impl};
    const uint32_t per = porta__elements_per_invocation(ctx);
    const uint32_t spec[PORTA_SPEC_COUNT] = {per, 1, 1, 1};
    const size_t block = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((n + block - 1) / block, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_tensor_gather, spec, grid, bufs, &p);
}
