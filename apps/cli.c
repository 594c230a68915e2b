/* cli.c: environment set-up, device opening, --help and reporting for
 * programs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void porta_cli_prepare_environment(void)
{
    setenv("RUSTICL_ENABLE", "llvmpipe", 0);
}

bool porta_cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

int porta_cli_help(const char *usage, const char *more)
{
    /* Asked for, so it is the program's output: stdout, and success. */
    fputs(usage, stdout);
    if (more)
        fputs(more, stdout);
    return PORTA_CLI_EXIT_HELP;
}

int porta_cli_usage_error(const char *program, const char *usage, const char *more, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    if (more)
        fputs(more, stderr);
    return PORTA_CLI_EXIT_USAGE;
}

void porta_cli_report(const char *program, porta_context *ctx, const char *what, porta_status st)
{
    const char *msg = ctx ? porta_context_message(ctx) : "";
    fprintf(stderr, "%s: %s: %s%s%s\n", program, what, porta_strerror(st), *msg ? ": " : "", msg);
}

int porta_cli_each_device(const char *spec, int (*fn)(const char *spec, void *user), void *user)
{
    if (spec)
        return fn(spec, user);
    porta_context *ctx = NULL;
    size_t count = 0;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_count(ctx, &count);
    int rc = st || count == 0;
    for (size_t i = 0; i < count; i++) {
        porta_device_info d;
        if (porta_device_get_info(ctx, i, &d) == PORTA_OK)
            rc |= fn(d.spec, user);
    }
    porta_context_destroy(ctx);
    return rc;
}

porta_context *porta_cli_open_device(const char *program, const char *spec)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (st) {
        porta_cli_report(program, ctx, "creating a context", st);
        return NULL;
    }
    porta_device_info info;
    st = porta_device_open(ctx, spec, &info);
    if (st) {
        porta_cli_report(program, ctx, "opening a device", st);
        porta_context_destroy(ctx);
        return NULL;
    }
    const char *how = spec && *spec            ? "as asked"
                      : getenv("PORTA_DEVICE") ? "from PORTA_DEVICE"
                                               : "default choice";
    fprintf(stderr, "%s: device %s: %s (%s, %s %s) [%s]\n", program, info.spec, info.name,
            info.type, info.platform, info.driver, how);
    return ctx;
}

const char *porta_cli_bytes(char *buf, size_t cap, unsigned long long bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

void porta_cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void porta_cli_json_capabilities(FILE *out, const porta_device_capabilities *c)
{
    fprintf(out, "{\"preset\": ");
    porta_cli_json_string(out, c->preset);
    fprintf(out, ", \"execution\": ");
    porta_cli_json_string(out, c->execution ? c->execution : "");
    fprintf(out,
            ", \"max_alloc_bytes\": %llu, \"max_storage_range\": %llu, \"local_mem_bytes\": %llu, "
            "\"max_workgroup_size\": %u, \"max_storage_buffers\": %u, \"max_push_bytes\": %u, "
            "\"loop_limit\": %u, \"fast_fma\": %s, \"group_handover\": %s, \"timestamps\": %s, "
            "\"limits\": ",
            (unsigned long long)c->max_alloc_bytes, (unsigned long long)c->max_storage_range,
            (unsigned long long)c->local_mem_bytes, c->max_workgroup_size, c->max_storage_buffers,
            c->max_push_bytes, c->loop_limit, c->fast_fma ? "true" : "false",
            c->group_handover ? "true" : "false", c->timestamps ? "true" : "false");
    porta_cli_json_string(out, c->limits);
    fputc('}', out);
}
