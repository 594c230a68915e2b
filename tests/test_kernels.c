/* test_kernels: every vector kernel on every device against the C reference.
 *
 *   test_kernels [KERNEL]   (default: all kernels)
 *
 * Sizes include the awkward ones: 1, 7, a non-multiple of every local size,
 * and 1000003 (prime, larger than one grid-stride pass on most devices).
 */
#include <string.h>

#include "harness.h"
#include "internal.h"

static const size_t sizes[] = {1, 7, 1000, 4099, 1000003};

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    const char *only = user;
    for (size_t k = 0; k < porta__kernel_check_count; k++) {
        const char *name = porta__kernel_check_names[k];
        if (only && strcmp(only, name) != 0)
            continue;
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            porta_status st = porta__kernel_check(ctx, name, sizes[s], (uint32_t)(k * 31 + s));
            CHECK(t, st == PORTA_OK, "%s %s n=%zu: %s: %s", info->spec, name, sizes[s],
                  porta_strerror(st), porta_context_message(ctx));
        }
    }
}

int main(int argc, char **argv)
{
    test_init();
    test_state t = {0};
    const char *only = argc > 1 ? argv[1] : NULL;
    int known = only == NULL;
    for (size_t k = 0; only && k < porta__kernel_check_count; k++)
        known |= strcmp(only, porta__kernel_check_names[k]) == 0;
    CHECK(&t, known, "unknown kernel %s", only ? only : "");
    if (known)
        test_for_each_device(&t, check_device, (void *)only);
    return test_finish(&t);
}
