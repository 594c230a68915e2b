/* harness.c: see harness.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

void test_check(test_state *t, int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        t->passed++;
        return;
    }
    t->failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void test_skip_at(test_state *t, const char *file, int line, const char *fmt, ...)
{
    t->skipped++;
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

void test_init(void)
{
    setenv("RUSTICL_ENABLE", "llvmpipe", 0);
}

static int selected(const porta_device_info *info)
{
    const char *want = getenv("PORTA_TEST_DEVICE");
    if (!want || !*want)
        return 1;
    /* Resolve the spec exactly as the library does. */
    porta_context *probe = NULL;
    porta_device_info chosen;
    int match = 0;
    if (porta_context_create(NULL, &probe) == PORTA_OK &&
        porta_device_find(probe, want, &chosen) == PORTA_OK)
        match = strcmp(chosen.spec, info->spec) == 0;
    porta_context_destroy(probe);
    return match;
}

static void run_device(test_state *t, const porta_device_info *info, test_device_fn fn, void *user)
{
    porta_context_options opt = porta_context_options_default();
    /* Validation on, unless PORTA_VALIDATE=0 says the machine has no
     * validation layers (a GPU box with only the driver installed). */
    const char *v = getenv("PORTA_VALIDATE");
    opt.validate = (v && strcmp(v, "0") == 0) ? PORTA_SETTING_OFF : PORTA_SETTING_ON;
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(&opt, &ctx);
    if (!st)
        st = porta_device_open(ctx, info->spec, NULL);
    CHECK_OK(t, ctx, st, info->spec);
    if (st == PORTA_OK) {
        int failed_before = t->failed;
        fn(t, ctx, info, user);
        porta_counters c;
        st = porta_counters_get(ctx, &c);
        CHECK_OK(t, ctx, st, "counters");
        CHECK(t, c.validation_messages == 0, "%s: %llu validation messages:\n%s", info->spec,
              (unsigned long long)c.validation_messages, porta_context_message(ctx));
        printf("%s %s (%s, %s)\n", t->failed == failed_before ? "ok  " : "FAIL", info->spec,
               info->name, info->platform);
    }
    porta_context_destroy(ctx);
}

void test_for_each_device(test_state *t, test_device_fn fn, void *user)
{
    porta_context *ctx = NULL;
    size_t count = 0;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_count(ctx, &count);
    CHECK_OK(t, ctx, st, "enumerating devices");
    CHECK(t, count > 0, "no device found: %s", porta_context_message(ctx));
    size_t ran = 0;
    for (size_t i = 0; i < count; i++) {
        porta_device_info info;
        if (porta_device_get_info(ctx, i, &info) == PORTA_OK && selected(&info)) {
            run_device(t, &info, fn, user);
            ran++;
        }
    }
    /* a PORTA_TEST_DEVICE that names no device tests nothing: a failure */
    CHECK(t, ran > 0, "PORTA_TEST_DEVICE=%s matches none of the %zu devices found",
          getenv("PORTA_TEST_DEVICE") ? getenv("PORTA_TEST_DEVICE") : "", count);
    porta_context_destroy(ctx);
}

int test_finish(const test_state *t)
{
    if (t->skipped)
        printf("%d passed, %d failed, %d skipped\n", t->passed, t->failed, t->skipped);
    else
        printf("%d passed, %d failed\n", t->passed, t->failed);
    if (t->failed)
        return 1;
    if (t->skipped)
        return TEST_SKIP_CODE;
    return t->passed > 0 ? 0 : 1;
}
