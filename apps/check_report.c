/* check_report.c: porta-check's records and the JSON report (see
 * check_report.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_report.h"
#include "cli.h"

static char *copy_text(const char *s)
{
    const size_t n = strlen(s ? s : "");
    char *c = malloc(n + 1);
    if (c)
        memcpy(c, s ? s : "", n + 1);
    return c;
}

static float *copy_series(const float *s, size_t n)
{
    if (!s || n == 0)
        return NULL;
    float *c = malloc(n * sizeof(float));
    if (c)
        memcpy(c, s, n * sizeof(float));
    return c;
}

bool report_add_check(device_report *d, const porta_check_result *r)
{
    if (d->n_checks == d->cap_checks) {
        const size_t cap = d->cap_checks ? 2 * d->cap_checks : 64;
        check_record *more = realloc(d->checks, cap * sizeof(*more));
        if (!more)
            return false;
        d->checks = more;
        d->cap_checks = cap;
    }
    check_record *c = &d->checks[d->n_checks];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", r->name);
    c->description = copy_text(r->description);
    c->tolerance = copy_text(r->tolerance);
    c->first_failure = copy_text(r->first_failure);
    c->driver_message = copy_text(r->driver_message);
    c->outcome = r->outcome;
    c->cases = r->cases;
    c->failures = r->failures;
    c->status = r->status;
    c->worst = r->worst;
    c->seconds = r->seconds;
    c->series = copy_series(r->series, r->series_count);
    c->reference_series = copy_series(r->reference_series, r->series_count);
    c->series_count = c->series ? r->series_count : 0;
    d->n_checks++;
    return c->description && c->tolerance && c->first_failure && c->driver_message;
}

const check_record *report_find(const device_report *d, const char *name)
{
    for (size_t i = 0; i < d->n_checks; i++)
        if (strcmp(d->checks[i].name, name) == 0)
            return &d->checks[i];
    return NULL;
}

bool report_failed(const check_report *r)
{
    for (size_t i = 0; i < r->n_devices; i++) {
        const device_report *d = &r->devices[i];
        if (!d->opened || d->error[0])
            return true;
        for (size_t k = 0; k < d->n_checks; k++)
            if (d->checks[k].outcome == PORTA_CHECK_FAILED)
                return true;
    }
    for (size_t i = 0; i < r->n_agreements; i++)
        if (!r->agreements[i].passed && !r->agreements[i].skipped)
            return true;
    return false;
}

void report_free(check_report *r)
{
    for (size_t i = 0; i < r->n_devices; i++) {
        device_report *d = &r->devices[i];
        for (size_t k = 0; k < d->n_checks; k++) {
            check_record *c = &d->checks[k];
            free(c->description);
            free(c->tolerance);
            free(c->first_failure);
            free(c->driver_message);
            free(c->series);
            free(c->reference_series);
        }
        free(d->checks);
    }
    free(r->devices);
    r->devices = NULL;
    r->n_devices = 0;
}

/* ---- JSON ----------------------------------------------------------------- */

/* A number JSON can hold: NaN and infinities become null. */
static void json_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.9g", v);
    else
        fputs("null", out);
}

static const char *outcome_name(porta_check_outcome o)
{
    return o == PORTA_CHECK_PASSED ? "passed" : o == PORTA_CHECK_SKIPPED ? "skipped" : "failed";
}

static void json_series(FILE *out, const char *key, const float *s, size_t n)
{
    fprintf(out, ", \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        json_number(out, s[i]);
    }
    fputc(']', out);
}

static void json_device_info(FILE *out, const porta_device_info *d)
{
    fprintf(out, "\"spec\": ");
    porta_cli_json_string(out, d->spec);
    fprintf(out, ", \"api\": \"%s\", \"name\": ", d->api);
    porta_cli_json_string(out, d->name);
    fprintf(out, ", \"vendor\": ");
    porta_cli_json_string(out, d->vendor);
    fprintf(out, ", \"platform\": ");
    porta_cli_json_string(out, d->platform);
    fprintf(out, ", \"type\": \"%s\", \"driver\": ", d->type);
    porta_cli_json_string(out, d->driver);
    fprintf(out, ", \"api_version\": ");
    porta_cli_json_string(out, d->api_version);
    fprintf(out,
            ", \"global_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"local_mem_bytes\": %llu, "
            "\"max_workgroup_size\": %u, \"subgroup_min\": %u, \"subgroup_max\": %u, "
            "\"timestamps\": %s",
            (unsigned long long)d->global_mem_bytes, (unsigned long long)d->max_alloc_bytes,
            (unsigned long long)d->local_mem_bytes, d->max_workgroup_size, d->subgroup_min,
            d->subgroup_max, d->timestamps ? "true" : "false");
}

static void json_capabilities(FILE *out, const device_report *d)
{
    if (!d->caps_known) {
        fputs("null", out);
        return;
    }
    porta_cli_json_capabilities(out, &d->caps);
}

static void json_check(FILE *out, const check_record *c)
{
    fprintf(out, "{\"name\": ");
    porta_cli_json_string(out, c->name);
    fprintf(out, ", \"result\": \"%s\", \"cases\": %zu, \"failures\": %zu, \"seconds\": ",
            outcome_name(c->outcome), c->cases, c->failures);
    json_number(out, c->seconds);
    fprintf(out, ", \"worst_error_over_tolerance\": ");
    json_number(out, c->worst);
    fprintf(out, ", \"description\": ");
    porta_cli_json_string(out, c->description);
    fprintf(out, ", \"tolerance\": ");
    porta_cli_json_string(out, c->tolerance);
    fprintf(out, ", \"first_failure\": ");
    porta_cli_json_string(out, c->first_failure);
    fprintf(out, ", \"status\": ");
    porta_cli_json_string(out, c->status ? porta_strerror(c->status) : "");
    fprintf(out, ", \"driver_message\": ");
    porta_cli_json_string(out, c->driver_message);
    if (c->series) {
        json_series(out, "losses", c->series, c->series_count);
        if (c->reference_series)
            json_series(out, "reference_losses", c->reference_series, c->series_count);
    }
    fputc('}', out);
}

static void json_device(FILE *out, const device_report *d)
{
    fprintf(out, "    {");
    json_device_info(out, &d->info);
    fprintf(out, ", \"opened\": %s, \"error\": ", d->opened ? "true" : "false");
    porta_cli_json_string(out, d->error);
    fprintf(out, ", \"training_only\": %s,\n     \"capabilities\": ",
            d->training_only ? "true" : "false");
    json_capabilities(out, d);
    fprintf(out,
            ",\n     \"summary\": {\"checks\": %zu, \"passed\": %zu, \"failed\": %zu, "
            "\"skipped\": %zu, \"seconds\": ",
            d->summary.checks, d->summary.passed, d->summary.failed, d->summary.skipped);
    json_number(out, d->seconds);
    fprintf(out, "},\n     \"checks\": [");
    for (size_t i = 0; i < d->n_checks; i++) {
        fprintf(out, "%s\n       ", i ? "," : "");
        json_check(out, &d->checks[i]);
    }
    fprintf(out, "],\n     \"probes\": [");
    for (size_t i = 0; i < d->n_probes; i++) {
        const probe_record *p = &d->probes[i];
        fprintf(out, "%s\n       {\"name\": ", i ? "," : "");
        porta_cli_json_string(out, p->name);
        fprintf(out, ", \"value\": ");
        if (p->value < 0)
            fputs("null", out);
        else
            json_number(out, p->value);
        fprintf(out, ", \"unit\": ");
        porta_cli_json_string(out, p->unit);
        fprintf(out, ", \"result\": \"%s\", \"note\": ", p->value < 0 ? "failed" : "measured");
        porta_cli_json_string(out, p->note);
        fputc('}', out);
    }
    fprintf(out, "]}");
}

void report_write_json(FILE *out, const check_report *r)
{
    const porta_version_info v = porta_version();
    fprintf(out, "{\"program\": \"porta-check\", \"version\": ");
    porta_cli_json_string(out, PORTA_VERSION_STRING);
    fprintf(out, ", \"library\": ");
    porta_cli_json_string(out, v.text);
    fprintf(out, ", \"backends\": ");
    porta_cli_json_string(out, v.backends);
    fprintf(out, ", \"quick\": %s, \"passed\": %s, \"seconds\": ", r->quick ? "true" : "false",
            report_failed(r) ? "false" : "true");
    json_number(out, r->seconds);
    fprintf(out, ",\n  \"devices\": [\n");
    for (size_t i = 0; i < r->n_devices; i++) {
        json_device(out, &r->devices[i]);
        fprintf(out, "%s\n", i + 1 < r->n_devices ? "," : "");
    }
    fprintf(out, "  ],\n  \"agreement\": {\"same_hardware\": ");
    porta_cli_json_string(out, r->same_hardware_rule);
    fprintf(out, ", \"comparisons\": [");
    for (size_t i = 0; i < r->n_agreements; i++) {
        const agreement_record *a = &r->agreements[i];
        fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
        porta_cli_json_string(out, a->name);
        fprintf(out, ", \"opencl\": ");
        porta_cli_json_string(out, a->a);
        fprintf(out, ", \"vulkan\": ");
        porta_cli_json_string(out, a->b);
        fprintf(out, ", \"run\": ");
        porta_cli_json_string(out, a->run);
        fprintf(out, ", \"result\": \"%s\", \"worst_relative_difference\": ",
                a->skipped  ? "skipped"
                : a->passed ? "passed"
                            : "failed");
        json_number(out, a->worst_rel);
        fprintf(out, ", \"at_step\": %d, \"tolerance\": ", a->worst_step);
        json_number(out, a->tolerance);
        fprintf(out, ", \"message\": ");
        porta_cli_json_string(out, a->message);
        fputc('}', out);
    }
    fprintf(out, "]}}\n");
}
