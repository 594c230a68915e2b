/* check_markdown.c: porta-check --markdown, a summary a user can paste
 * into a bug report: the program and library, then per device its driver,
 * API version, limits and preset, the totals, every failure with its first
 * mismatching case and the driver's words, and the probes; then the
 * OpenCL / Vulkan comparisons. */
#include <string.h>

#include "check_report.h"

/* Text inside a Markdown table cell or code span: no pipes, no newlines,
 * no backticks. */
static void cell(FILE *out, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '|' ? '/' : *s == '\n' || *s == '\r' ? ' ' : *s == '`' ? '\'' : *s, out);
}

static void device_section(FILE *out, const device_report *d)
{
    const porta_device_info *i = &d->info;
    fprintf(out, "\n### %s: %s\n\n", i->spec, i->name);
    fprintf(out, "| | |\n|---|---|\n");
    fprintf(out, "| vendor | ");
    cell(out, i->vendor);
    fprintf(out, " |\n| type | %s |\n| platform / driver | ", i->type);
    cell(out, i->platform);
    fprintf(out, " ");
    cell(out, i->driver);
    fprintf(out, " |\n| API version | ");
    cell(out, i->api_version);
    fprintf(out, " |\n| memory | %llu MiB, largest buffer %llu MiB |\n",
            (unsigned long long)(i->global_mem_bytes >> 20),
            (unsigned long long)(i->max_alloc_bytes >> 20));
    if (d->caps_known) {
        const porta_device_capabilities *c = &d->caps;
        fprintf(out, "| preset / execution | %s / %s |\n", c->preset,
                c->execution ? c->execution : "?");
        fprintf(out,
                "| limits | workgroup %u, shared memory %llu KiB, storage buffers %u, storage "
                "range %llu MiB, push %u B, loop limit %u, hand-over %s, fast FMA %s%s%s |\n",
                c->max_workgroup_size, (unsigned long long)(c->local_mem_bytes >> 10),
                c->max_storage_buffers, (unsigned long long)(c->max_storage_range >> 20),
                c->max_push_bytes, c->loop_limit, c->group_handover ? "yes" : "no",
                c->fast_fma ? "yes" : "no", c->limits[0] ? ", emulated: " : "", c->limits);
    }
    if (!d->opened) {
        fprintf(out, "\n**Could not open the device:** `");
        cell(out, d->error);
        fprintf(out, "`\n");
        return;
    }
    fprintf(out, "\n%zu checks: %zu passed, %zu failed, %zu skipped, in %.1f s%s.\n",
            d->summary.checks, d->summary.passed, d->summary.failed, d->summary.skipped, d->seconds,
            d->training_only ? " (training runs only, for the comparison)" : "");
    bool any = false;
    for (size_t k = 0; k < d->n_checks; k++) {
        const check_record *c = &d->checks[k];
        if (c->outcome == PORTA_CHECK_PASSED)
            continue;
        if (!any)
            fprintf(out, "\n| check | result | first mismatching case | driver's words |\n"
                         "|---|---|---|---|\n");
        any = true;
        fprintf(out, "| %s | %s | ", c->name,
                c->outcome == PORTA_CHECK_SKIPPED ? "skipped" : "**FAIL**");
        cell(out, c->first_failure);
        fprintf(out, " | ");
        if (c->status) {
            fprintf(out, "%s: ", porta_strerror(c->status));
            cell(out, c->driver_message);
        }
        fprintf(out, " |\n");
    }
    if (d->n_probes) {
        fprintf(out, "\nProbes: ");
        for (size_t p = 0; p < d->n_probes; p++) {
            const probe_record *r = &d->probes[p];
            if (r->value < 0)
                fprintf(out, "%s%s failed", p ? ", " : "", r->name);
            else
                fprintf(out, "%s%s %.3g %s", p ? ", " : "", r->name, r->value, r->unit);
        }
        fprintf(out, ".\n");
    }
}

void report_write_markdown(FILE *out, const check_report *r)
{
    const porta_version_info v = porta_version();
    fprintf(out, "## porta-check %s: %s\n\n", PORTA_VERSION_STRING,
            report_failed(r) ? "FAILED" : "passed");
    fprintf(out, "porta library %s (backends: %s), %s run, %.1f s in all.\n", v.text, v.backends,
            r->quick ? "quick" : "full", r->seconds);
    for (size_t i = 0; i < r->n_devices; i++)
        device_section(out, &r->devices[i]);
    fprintf(out, "\n### OpenCL against Vulkan\n\n");
    if (r->n_agreements == 0)
        fprintf(out, "No OpenCL and Vulkan device of the same hardware here (%s).\n",
                r->same_hardware_rule);
    for (size_t i = 0; i < r->n_agreements; i++) {
        const agreement_record *a = &r->agreements[i];
        fprintf(out, "- %s, %s vs %s: %s", a->run, a->a, a->b,
                a->skipped  ? "skipped"
                : a->passed ? "agree"
                            : "**DISAGREE**");
        if (!a->skipped)
            fprintf(out, " (largest relative loss difference %.3g at step %d, tolerance %.3g)",
                    a->worst_rel, a->worst_step, a->tolerance);
        if (a->message[0]) {
            fprintf(out, ": ");
            cell(out, a->message);
        }
        fprintf(out, "\n");
    }
}
