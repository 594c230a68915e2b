/* check_vec.c: kernels.vec, the vector kernels through porta__kernel_check
 * (selftest.c), which compares them with lib/ref/ref_vec.c: elementwise
 * bit for bit, sums within the float tree-sum bound. */
#include <stdio.h>
#include <string.h>

#include "check_internal.h"

void porta__check_vec(porta__check *c)
{
    /* 1, a few, one past a 4096 block, and (full) a prime larger than one
     * grid-stride pass on most devices. */
    static const size_t quick_sizes[] = {1, 7, 4099};
    static const size_t full_sizes[] = {1, 7, 1000, 4099, 1000003};
    const size_t *sizes = c->quick ? quick_sizes : full_sizes;
    const size_t n_sizes = c->quick ? sizeof(quick_sizes) / sizeof(quick_sizes[0])
                                    : sizeof(full_sizes) / sizeof(full_sizes[0]);
    for (size_t k = 0; k < porta__kernel_check_count && !c->fatal; k++) {
        const char *name = porta__kernel_check_names[k];
        for (size_t s = 0; s < n_sizes && !c->fatal; s++) {
            porta_status st = porta__kernel_check(c->ctx, name, sizes[s], (uint32_t)(k * 31 + s));
            if (st == PORTA_ERROR_MISMATCH)
                porta__check_case(c, false, "%s", porta_context_message(c->ctx));
            else if (porta__check_call(c, st, "%s n=%zu", name, sizes[s]))
                porta__check_case(c, true, "%s n=%zu", name, sizes[s]);
        }
    }
}
