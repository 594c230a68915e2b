/* porta-info: list every OpenCL and Vulkan device and self-test each one.
 *
 *   porta-info [--json] [--no-selftest] [--device SPEC]
 *   porta-info --version | --help
 *
 * One line per device (API, index, name, vendor, type, driver, memory,
 * largest allocation, local memory, subgroup sizes, self-test result),
 * then an indented line of what porta's policy follows (the tuning preset,
 * how the device runs a workgroup, its limits: porta_device_capabilities,
 * after PORTA_DEVICE_PRESET and PORTA_DEVICE_LIMITS); or with --json one
 * JSON object: the program's and the library's versions, the backends
 * compiled in, and "devices", an array of objects with the same fields and
 * "capabilities" (one device a line). Exit status 0 when at least one
 * device was found, could be opened, and every self-test run passed, 1
 * otherwise, 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta-info [--json] [--no-selftest] [--device SPEC]\n"
    "       porta-info --version | --help\n"
    "  --json           one JSON object: versions, backends and an array of the devices\n"
    "  --no-selftest    list the devices without running the known-answer self-test\n"
    "  --device SPEC    only the device SPEC selects (opencl:0, vulkan, pocl, ...)\n"
    "  --version        the program's and the library's versions and backends\n"
    "exit status: 0 when a device was found and every self-test run passed, 1 otherwise,\n"
    "2 for a usage error\n";

typedef struct options {
    bool json;
    bool selftest;
    bool version;
    const char *device;
} options;

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.json = false, .selftest = true, .version = false, .device = NULL};
    for (int i = 1; i < argc; i++) {
        if (porta_cli_is_help(argv[i]))
            return porta_cli_help(usage, NULL);
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--no-selftest") == 0)
            o->selftest = false;
        else if (strcmp(argv[i], "--version") == 0)
            o->version = true;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else if (strcmp(argv[i], "--device") == 0)
            return porta_cli_usage_error("porta-info", usage, NULL, "--device: missing value");
        else
            return porta_cli_usage_error("porta-info", usage, NULL, "unknown option %s", argv[i]);
    }
    return PORTA_CLI_RUN;
}

/* "porta-info 0.2.0 (library 0.2.0, backends: opencl vulkan)": the version
 * the program was built against, then the one it runs with (a shared
 * library may be newer). */
static void print_version(void)
{
    const porta_version_info v = porta_version();
    printf("porta-info %s (library %s, backends: %s)\n", PORTA_VERSION_STRING, v.text, v.backends);
}

/* Open one device in a context of its own, read its capabilities and,
 * when `run`, self-test it; result: "pass", "not run" or the reason. */
static bool probe(const porta_device_info *d, bool run, porta_device_capabilities *caps,
                  char *result, size_t cap)
{
    memset(caps, 0, sizeof(*caps));
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_open(ctx, d->spec, NULL);
    if (!st)
        st = porta_device_capabilities_get(ctx, caps);
    if (!st && run)
        st = porta_self_test(ctx);
    if (st)
        snprintf(result, cap, "fail: %s: %s", porta_strerror(st),
                 ctx ? porta_context_message(ctx) : "");
    else
        snprintf(result, cap, run ? "pass" : "not run");
    porta_context_destroy(ctx);
    return st == PORTA_OK;
}

static void print_json(const porta_device_info *d, const porta_device_capabilities *caps,
                       bool opened, const char *result, bool first)
{
    printf("%s\n  {\"api\": \"%s\", \"index\": %u, \"name\": ", first ? "" : ",", d->api, d->index);
    porta_cli_json_string(stdout, d->name);
    printf(", \"vendor\": ");
    porta_cli_json_string(stdout, d->vendor);
    printf(", \"platform\": ");
    porta_cli_json_string(stdout, d->platform);
    printf(", \"type\": \"%s\", \"driver\": ", d->type);
    porta_cli_json_string(stdout, d->driver);
    printf(", \"api_version\": ");
    porta_cli_json_string(stdout, d->api_version);
    printf(", \"global_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"local_mem_bytes\": %llu, "
           "\"max_workgroup_size\": %u, \"subgroup_min\": %u, \"subgroup_max\": %u, "
           "\"selftest\": ",
           (unsigned long long)d->global_mem_bytes, (unsigned long long)d->max_alloc_bytes,
           (unsigned long long)d->local_mem_bytes, d->max_workgroup_size, d->subgroup_min,
           d->subgroup_max);
    porta_cli_json_string(stdout, result);
    if (opened) {
        printf(", \"capabilities\": ");
        porta_cli_json_capabilities(stdout, caps);
    }
    printf("}");
}

/* The object's fields before the devices: "version" (what the program
 * was built against), "library" (what it runs with) and "backends", then
 * the start of the "devices" array. */
static void print_json_head(void)
{
    const porta_version_info v = porta_version();
    printf("{\"version\": ");
    porta_cli_json_string(stdout, PORTA_VERSION_STRING);
    printf(", \"library\": ");
    porta_cli_json_string(stdout, v.text);
    printf(", \"backends\": [");
    /* v.backends is space-separated names ("opencl vulkan"): an array. */
    const char *b = v.backends;
    for (bool first = true; *b;) {
        const size_t n = strcspn(b, " ");
        if (n > 0) {
            printf("%s\"%.*s\"", first ? "" : ", ", (int)n, b);
            first = false;
        }
        b += n + (b[n] == ' ');
    }
    printf("], \"devices\": [");
}

static void print_line(const porta_device_info *d, const char *result)
{
    char mem[32], alloc[32], local[32], sub[32];
    if (d->subgroup_min)
        snprintf(sub, sizeof(sub), "%u-%u", d->subgroup_min, d->subgroup_max);
    else
        snprintf(sub, sizeof(sub), "?");
    printf("%-9s %-34s %-28.28s %-14s %-4s %-26s mem %-9s alloc %-9s local %-9s subgroup %-5s "
           "%s\n",
           d->spec, d->name, d->platform, d->vendor, d->type, d->driver,
           porta_cli_bytes(mem, sizeof(mem), d->global_mem_bytes),
           porta_cli_bytes(alloc, sizeof(alloc), d->max_alloc_bytes),
           porta_cli_bytes(local, sizeof(local), d->local_mem_bytes), sub, result);
}

/* The capabilities line under a device's line. */
static void print_caps_line(const porta_device_capabilities *c)
{
    char range[32];
    printf("          preset %s, execution %s, storage buffers %u, range %s, push %u bytes, "
           "loop limit %u, fast fma %s, hand-over %s, timestamps %s%s%s\n",
           c->preset, c->execution ? c->execution : "?", c->max_storage_buffers,
           porta_cli_bytes(range, sizeof(range), c->max_storage_range), c->max_push_bytes,
           c->loop_limit, c->fast_fma ? "yes" : "no", c->group_handover ? "yes" : "no",
           c->timestamps ? "yes" : "no", c->limits[0] ? ", limits " : "", c->limits);
}

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    options o;
    const int rc = parse(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    if (o.version) {
        print_version();
        return 0;
    }
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    size_t count = 0;
    if (!st)
        st = porta_device_count(ctx, &count);
    if (st) {
        porta_cli_report("porta-info", ctx, "enumerating devices", st);
        porta_context_destroy(ctx);
        return 1;
    }
    if (count == 0)
        fprintf(stderr, "porta-info: no devices found:\n%s", porta_context_message(ctx));
    /* --device takes any spec: resolve it the way the library does. */
    char only[32] = "";
    if (o.device) {
        porta_device_info chosen;
        st = porta_device_find(ctx, o.device, &chosen);
        if (st) {
            porta_cli_report("porta-info", ctx, "choosing a device", st);
            porta_context_destroy(ctx);
            return 1;
        }
        snprintf(only, sizeof(only), "%s", chosen.spec);
    }
    int shown = 0, failed = 0;
    if (o.json)
        print_json_head();
    for (size_t i = 0; i < count; i++) {
        porta_device_info d;
        if (porta_device_get_info(ctx, i, &d) != PORTA_OK)
            continue;
        if (only[0] && strcmp(only, d.spec) != 0)
            continue;
        char result[4096];
        porta_device_capabilities caps;
        const bool ok = probe(&d, o.selftest, &caps, result, sizeof(result));
        failed += !ok;
        if (o.json) {
            print_json(&d, &caps, ok || caps.preset[0], result, shown == 0);
        } else {
            print_line(&d, o.selftest || !ok ? result : "");
            if (caps.preset[0])
                print_caps_line(&caps);
        }
        fflush(stdout);
        shown++;
    }
    if (o.json)
        printf("\n]}\n");
    porta_context_destroy(ctx);
    return (shown > 0 && failed == 0) ? 0 : 1;
}
