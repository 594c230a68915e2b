/* porta-check: is porta right, and how fast, on this machine's devices?
 *
 *   porta-check [--quick] [--device SPEC] [--only LIST] [--no-probes]
 *               [--json | --markdown]
 *   porta-check --list | --version | --help
 *
 * For each device (or the one --device names), in a context of its own:
 * every check of porta_check_device() (porta/check.h: every kernel against
 * the C reference at awkward shapes, every backward pass against finite
 * differences, the GreedyLR scenarios against the host scheduler, a CNN
 * and a GPT trained against a host reference), then the performance
 * probes (check_probes.c). Then, for every OpenCL and Vulkan device of
 * the same hardware (check_agreement.c), their training losses against
 * each other; with --device, the other API's twin runs the training checks
 * too, for the comparison.
 *
 * Output: a line per check ("ok   SPEC NAME ..." or "FAIL SPEC NAME: the
 * first mismatching case"), with a progress bar on stderr when it is a
 * terminal; --json writes the full report to stdout instead (the lines go
 * to stderr), --markdown a summary to paste into a bug report. Exit status
 * 0 when everything passed, 1 when anything failed (or no device was
 * found), 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_agreement.h"
#include "check_probes.h"
#include "check_report.h"
#include "cli.h"
#include "porta/check.h"
#include "progress.h"

static const char usage[] =
    "usage: porta-check [--quick] [--device SPEC] [--only LIST] [--no-probes]\n"
    "                   [--json | --markdown]\n"
    "       porta-check --list | --version | --help\n"
    "  --quick          fewer shapes, 50 training steps instead of 200, shorter probes\n"
    "  --device SPEC    only this device (opencl:0, vulkan, pocl, ...; default: every device)\n"
    "  --only LIST      comma-separated checks or groups (kernels, gradients, greedylr,\n"
    "                   training, kernels.gemm, ...; probes for the probes); --list names them\n"
    "  --no-probes      skip the performance probes\n"
    "  --json           the full report as JSON on stdout (the lines go to stderr)\n"
    "  --markdown       a summary for a bug report on stdout (the lines go to stderr)\n"
    "  --list           the checks, one a line, and exit\n"
    "  --version        the program's and the library's versions\n"
    "Every kernel against the C reference, every backward pass against finite differences,\n"
    "the GreedyLR scenarios, a CNN and a GPT trained against a host reference, OpenCL\n"
    "against Vulkan on the same hardware, and performance probes.\n"
    "exit status: 0 when every check passed, 1 when one failed or no device was found,\n"
    "2 for a usage error\n";

typedef struct options {
    bool quick, probes, json, markdown, list, version;
    const char *device;
    char checks[512]; /* --only without "probes": what the library runs ("": all) */
    bool any_checks;  /* run library checks at all */
    bool training;    /* the training checks are among them (for the comparison) */
} options;

/* Split --only into the library's list and the probes. */
static int parse_only(options *o, const char *list)
{
    o->checks[0] = '\0';
    bool probes = false;
    size_t len = 0;
    for (const char *p = list; *p;) {
        const size_t n = strcspn(p, ",");
        if (n == 6 && strncmp(p, "probes", 6) == 0) {
            probes = true;
        } else if (n > 0) {
            if (len + n + 2 > sizeof(o->checks))
                return porta_cli_usage_error("porta-check", usage, NULL, "--only: too long");
            len += (size_t)snprintf(o->checks + len, sizeof(o->checks) - len, "%s%.*s",
                                    len ? "," : "", (int)n, p);
        }
        p += n + (p[n] == ',');
    }
    o->probes = o->probes && probes;
    o->any_checks = len > 0;
    o->training = strstr(o->checks, "training") != NULL;
    if (!probes && len == 0)
        return porta_cli_usage_error("porta-check", usage, NULL, "--only: an empty list");
    return PORTA_CLI_RUN;
}

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->probes = true;
    o->any_checks = true;
    o->training = true;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (porta_cli_is_help(a))
            return porta_cli_help(usage, NULL);
        if (strcmp(a, "--quick") == 0)
            o->quick = true;
        else if (strcmp(a, "--no-probes") == 0)
            o->probes = false;
        else if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--markdown") == 0)
            o->markdown = true;
        else if (strcmp(a, "--list") == 0)
            o->list = true;
        else if (strcmp(a, "--version") == 0)
            o->version = true;
        else if ((strcmp(a, "--device") == 0 || strcmp(a, "--only") == 0) && i + 1 < argc)
            *(a[2] == 'd' ? &o->device : &only) = argv[++i];
        else if (strcmp(a, "--device") == 0 || strcmp(a, "--only") == 0)
            return porta_cli_usage_error("porta-check", usage, NULL, "%s: missing value", a);
        else
            return porta_cli_usage_error("porta-check", usage, NULL, "unknown option %s", a);
    }
    if (o->json && o->markdown)
        return porta_cli_usage_error("porta-check", usage, NULL,
                                     "--json and --markdown both write to stdout: choose one");
    return only ? parse_only(o, only) : PORTA_CLI_RUN;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- running one device ---------------------------------------------------- */

/* What the library's callbacks need. */
typedef struct device_run {
    device_report *d;
    FILE *lines; /* where the per-check lines go */
    progress bar;
    bool tty;    /* the bar is drawn on stderr */
    bool probes; /* a step for the probes after the checks */
    bool out_of_memory;
} device_run;

/* Clear the bar's line before a result line shares the terminal with it. */
static void clear_bar(device_run *r)
{
    if (r->tty && r->bar.drawn) {
        fputs("\r\033[K", stderr);
        r->bar.drawn = false;
    }
}

static void on_start(void *user, size_t index, size_t count, const char *name)
{
    device_run *r = user;
    if (r->tty && index == 0)
        progress_start(&r->bar, stderr, r->d->info.spec, count + (r->probes ? 1 : 0));
    if (r->tty)
        progress_tick(&r->bar, stderr, index, name);
}

static void on_result(void *user, const porta_check_result *res)
{
    device_run *r = user;
    if (!report_add_check(r->d, res))
        r->out_of_memory = true;
    clear_bar(r);
    const char *spec = r->d->info.spec;
    if (res->outcome == PORTA_CHECK_PASSED)
        fprintf(r->lines, "ok   %s %s (%zu cases, %.1f s)\n", spec, res->name, res->cases,
                res->seconds);
    else if (res->outcome == PORTA_CHECK_SKIPPED)
        fprintf(r->lines, "skip %s %s: %s\n", spec, res->name, res->first_failure);
    else if (res->status && res->driver_message[0])
        fprintf(r->lines, "FAIL %s %s: %s [%s]\n", spec, res->name, res->first_failure,
                res->driver_message);
    else
        fprintf(r->lines, "FAIL %s %s: %s\n", spec, res->name, res->first_failure);
    fflush(r->lines);
}

/* Open `spec` in a context of its own and run what the options ask into
 * d (training_only: the training checks alone). */
static void run_device(const options *o, const char *spec, bool training_only, FILE *lines,
                       device_report *d)
{
    const double t0 = now_s();
    d->training_only = training_only;
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_open(ctx, spec, &d->info);
    if (st) {
        snprintf(d->error, sizeof(d->error), "%s: %s", porta_strerror(st),
                 ctx ? porta_context_message(ctx) : "");
        snprintf(d->info.spec, sizeof(d->info.spec), "%s", spec);
        fprintf(lines, "FAIL %s open: %s\n", spec, d->error);
        porta_context_destroy(ctx);
        return;
    }
    d->opened = true;
    d->caps_known = porta_device_capabilities_get(ctx, &d->caps) == PORTA_OK;
    fprintf(lines, "porta-check: %s: %s (%s, %s %s, %s)%s\n", d->info.spec, d->info.name,
            d->info.type, d->info.platform, d->info.driver, d->info.api_version,
            training_only ? ": the training runs, for the OpenCL / Vulkan comparison" : "");
    fflush(lines);
    const bool checks = training_only || o->any_checks;
    const bool probes = !training_only && o->probes;
    device_run r = {.d = d, .lines = lines, .tty = isatty(fileno(stderr)) != 0, .probes = probes};
    porta_check_options co = {.quick = o->quick,
                              .only = training_only ? "training" : o->checks,
                              .on_start = on_start,
                              .on_result = on_result,
                              .user = &r};
    if (r.tty && !checks)
        progress_start(&r.bar, stderr, d->info.spec, 1);
    if (checks) {
        st = porta_check_device(ctx, &co, &d->summary);
        if (st && st != PORTA_ERROR_MISMATCH) {
            snprintf(d->error, sizeof(d->error), "the checks stopped: %s: %s", porta_strerror(st),
                     porta_context_message(ctx));
            clear_bar(&r);
            fprintf(lines, "FAIL %s: %s\n", d->info.spec, d->error);
        }
    }
    if (probes && d->opened) {
        if (r.tty)
            progress_tick(&r.bar, stderr, d->summary.checks, "performance probes");
        check_probes_run(ctx, o->quick, d);
        clear_bar(&r);
        for (size_t i = 0; i < d->n_probes; i++) {
            const probe_record *p = &d->probes[i];
            if (p->value < 0)
                fprintf(lines, "probe %s %s: %s\n", d->info.spec, p->name, p->note);
            else
                fprintf(lines, "probe %s %s %.4g %s\n", d->info.spec, p->name, p->value, p->unit);
        }
    }
    clear_bar(&r);
    if (r.out_of_memory)
        snprintf(d->error, sizeof(d->error), "out of host memory keeping the results");
    d->seconds = now_s() - t0;
    fprintf(lines,
            "porta-check: %s: %zu checks, %zu passed, %zu failed, %zu skipped; %zu probes; "
            "%.1f s\n",
            d->info.spec, d->summary.checks, d->summary.passed, d->summary.failed,
            d->summary.skipped, d->n_probes, d->seconds);
    fflush(lines);
    porta_context_destroy(ctx);
}

/* ---- the devices and the comparison --------------------------------------- */

typedef struct device_list {
    porta_device_info *info;
    size_t count;
} device_list;

static device_report *add_device(check_report *r)
{
    device_report *more = realloc(r->devices, (r->n_devices + 1) * sizeof(*more));
    if (!more)
        return NULL;
    r->devices = more;
    device_report *d = &r->devices[r->n_devices++];
    memset(d, 0, sizeof(*d));
    return d;
}

static device_report *find_checked(check_report *r, const char *spec)
{
    for (size_t i = 0; i < r->n_devices; i++)
        if (strcmp(r->devices[i].info.spec, spec) == 0)
            return &r->devices[i];
    return NULL;
}

/* Every OpenCL device checked against every Vulkan device of the same
 * hardware; a twin not checked yet runs the training checks first. */
static void compare_apis(const options *o, const device_list *all, check_report *r, FILE *lines)
{
    snprintf(r->same_hardware_rule, sizeof(r->same_hardware_rule), "%s", agreement_rule);
    if (!o->training)
        return;
    const size_t checked = r->n_devices;
    for (size_t i = 0; i < checked; i++) {
        const porta_device_info first = r->devices[i].info;
        if (!r->devices[i].opened)
            continue;
        for (size_t j = 0; j < all->count; j++) {
            const porta_device_info *other = &all->info[j];
            if (strcmp(other->api, first.api) == 0 || !agreement_same_hardware(&first, other))
                continue;
            const bool first_is_cl = strcmp(first.api, "opencl") == 0;
            if (!first_is_cl && find_checked(r, other->spec))
                continue; /* that pair is compared from the OpenCL side */
            device_report *twin = find_checked(r, other->spec);
            if (!twin) {
                twin = add_device(r);
                if (!twin)
                    return;
                run_device(o, other->spec, true, lines, twin);
            }
            const device_report *cl = first_is_cl ? find_checked(r, first.spec) : twin;
            const device_report *vk = first_is_cl ? twin : find_checked(r, first.spec);
            static const char *const runs[] = {"training.cnn", "training.gpt"};
            for (size_t k = 0; k < 2; k++) {
                agreement_compare(r, cl, vk, runs[k]);
                const agreement_record *g = &r->agreements[r->n_agreements - 1];
                if (g->skipped)
                    fprintf(lines, "skip %s %s %s: %s\n", g->name, g->a, g->b, g->message);
                else if (g->passed)
                    fprintf(lines,
                            "ok   %s %s %s (largest relative loss difference %.3g at step %d)\n",
                            g->name, g->a, g->b, g->worst_rel, g->worst_step);
                else
                    fprintf(lines, "FAIL %s %s %s: %s\n", g->name, g->a, g->b, g->message);
            }
        }
    }
}

/* Whether every name of the library's list names a check or a group of
 * them (as porta_check_device() selects). */
static bool known_checks(porta_context *ctx, const char *list, char *bad, size_t cap)
{
    size_t count = 0;
    porta_check_count(ctx, &count);
    for (const char *p = list; *p;) {
        const size_t n = strcspn(p, ",");
        bool found = n == 0;
        for (size_t i = 0; i < count && !found; i++) {
            const char *name = "";
            porta_check_describe(ctx, i, &name, NULL);
            found = strncmp(p, name, n) == 0 && (name[n] == '\0' || name[n] == '.');
        }
        if (!found) {
            snprintf(bad, cap, "%.*s", (int)n, p);
            return false;
        }
        p += n + (p[n] == ',');
    }
    return true;
}

static int list_checks(void)
{
    porta_context *ctx = NULL;
    if (porta_context_create(NULL, &ctx))
        return 1;
    size_t count = 0;
    porta_check_count(ctx, &count);
    for (size_t i = 0; i < count; i++) {
        const char *name = "", *what = "";
        porta_check_describe(ctx, i, &name, &what);
        printf("%-32s %s\n", name, what);
    }
    printf("%-32s %s\n", "probes",
           "copy bandwidth, dispatch latency, GEMM GFLOP/s, optimizer step vs streaming roofline");
    printf("%-32s %s\n", "agreement.cnn, agreement.gpt",
           "the training losses on an OpenCL and a Vulkan device of the same hardware");
    porta_context_destroy(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    options o;
    const int rc = parse(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    if (o.version) {
        const porta_version_info v = porta_version();
        printf("porta-check %s (library %s, backends: %s)\n", PORTA_VERSION_STRING, v.text,
               v.backends);
        return 0;
    }
    if (o.list)
        return list_checks();
    FILE *lines = o.json || o.markdown ? stderr : stdout;
    porta_context *ctx = NULL;
    device_list all = {NULL, 0};
    porta_status st = porta_context_create(NULL, &ctx);
    char bad[128];
    if (!st && !known_checks(ctx, o.checks, bad, sizeof(bad))) {
        porta_context_destroy(ctx);
        return porta_cli_usage_error("porta-check", usage, NULL,
                                     "--only: no check is named %s (--list names them)", bad);
    }
    if (!st)
        st = porta_device_count(ctx, &all.count);
    all.info = calloc(all.count ? all.count : 1, sizeof(*all.info));
    for (size_t i = 0; !st && i < all.count; i++)
        st =
            all.info ? porta_device_get_info(ctx, i, &all.info[i]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    char only[32] = "";
    if (!st && o.device) {
        porta_device_info chosen;
        st = porta_device_find(ctx, o.device, &chosen);
        snprintf(only, sizeof(only), "%s", chosen.spec);
    }
    if (st || all.count == 0) {
        if (st)
            porta_cli_report("porta-check", ctx, o.device ? "choosing a device" : "the devices",
                             st);
        else
            fprintf(stderr, "porta-check: no devices found:\n%s\n", porta_context_message(ctx));
        porta_context_destroy(ctx);
        free(all.info);
        return 1;
    }
    porta_context_destroy(ctx);
    check_report report;
    memset(&report, 0, sizeof(report));
    report.quick = o.quick;
    const double t0 = now_s();
    for (size_t i = 0; i < all.count; i++) {
        if (only[0] && strcmp(only, all.info[i].spec) != 0)
            continue;
        device_report *d = add_device(&report);
        if (!d)
            break;
        run_device(&o, all.info[i].spec, false, lines, d);
    }
    compare_apis(&o, &all, &report, lines);
    report.seconds = now_s() - t0;
    if (o.json)
        report_write_json(stdout, &report);
    else if (o.markdown)
        report_write_markdown(stdout, &report);
    const bool failed = report_failed(&report);
    fprintf(lines, "porta-check: %s (%.1f s)\n", failed ? "FAILED" : "every check passed",
            report.seconds);
    report_free(&report);
    free(all.info);
    return failed ? 1 : 0;
}
