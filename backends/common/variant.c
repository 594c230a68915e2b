/* variant.c: comparing kernel variants (both backends cache by them). */
#include "backend.h"

int porta_variant_equal(const porta_kernel_variant *a, const porta_kernel_variant *b)
{
    if (a->local_size != b->local_size || a->own_rounding != b->own_rounding)
        return 0;
    for (int i = 0; i < PORTA_SPEC_COUNT; i++) {
        if (a->spec[i] != b->spec[i])
            return 0;
    }
    return 1;
}
