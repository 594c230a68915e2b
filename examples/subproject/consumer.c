/* consumer.c: the smallest program on porta: open the default device, run
 * the self-test, say which device and version it was. */
#include <stdio.h>

#include <porta/porta.h>

int main(void)
{
    porta_context *ctx = NULL;
    porta_device_info dev;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_open(ctx, NULL, &dev);
    if (!st)
        st = porta_self_test(ctx);
    if (st)
        fprintf(stderr, "consumer: %s: %s\n", porta_strerror(st), porta_context_message(ctx));
    else
        printf("consumer: porta %s, self-test passed on %s (%s)\n", porta_version().text, dev.spec,
               dev.name);
    porta_context_destroy(ctx);
    return st ? 1 : 0;
}
