/* check_report.h: what porta-check found, kept per device, and the three
 * ways it is written: a line per check, the JSON report, the Markdown
 * summary for a bug report (check_report.c, check_markdown.c).
 */
#ifndef PORTA_CHECK_REPORT_H
#define PORTA_CHECK_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "porta/check.h"

/* One check's result, copied out of the library's callback. */
typedef struct check_record {
    char name[64];
    char *description, *tolerance, *first_failure, *driver_message; /* owned copies */
    porta_check_outcome outcome;
    size_t cases, failures;
    porta_status status;
    double worst, seconds;
    float *series, *reference_series; /* owned; NULL when none */
    size_t series_count;
} check_record;

/* One performance figure. */
typedef struct probe_record {
    char name[64];  /* "copy_bandwidth", "gemm_512x512x512_nn", ... */
    char unit[16];  /* "GB/s", "us", "GFLOP/s", "ratio" */
    double value;   /* < 0 when the measurement failed */
    char note[256]; /* what was measured, or why it failed */
} probe_record;

#define REPORT_MAX_PROBES 24

typedef struct device_report {
    porta_device_info info;
    porta_device_capabilities caps;
    bool opened;        /* the device opened (else `error` says why) */
    bool caps_known;    /* porta_device_capabilities_get succeeded */
    bool training_only; /* only run for the OpenCL / Vulkan comparison */
    char error[1024];
    check_record *checks;
    size_t n_checks, cap_checks;
    probe_record probes[REPORT_MAX_PROBES];
    size_t n_probes;
    porta_check_summary summary;
    double seconds;
} device_report;

/* The comparison of one training run on an OpenCL and a Vulkan device of
 * the same hardware. */
typedef struct agreement_record {
    char name[64];     /* "agreement.cnn opencl:1 vulkan:0" */
    char a[32], b[32]; /* the two specs */
    char run[32];      /* "training.cnn" */
    bool passed, skipped;
    double worst_rel; /* the largest relative loss difference */
    int worst_step;
    double tolerance;  /* relative */
    char message[512]; /* the first difference, or why skipped */
} agreement_record;

#define REPORT_MAX_AGREEMENTS 16

typedef struct check_report {
    bool quick;
    device_report *devices;
    size_t n_devices;
    agreement_record agreements[REPORT_MAX_AGREEMENTS];
    size_t n_agreements;
    char same_hardware_rule[256];
    double seconds;
} check_report;

/* Append a copy of a library result to d (false when out of memory). */
bool report_add_check(device_report *d, const porta_check_result *r);

/* The check named `name` of d, or NULL. */
const check_record *report_find(const device_report *d, const char *name);

/* Whether anything failed: a check, an agreement, a device that did not
 * open. */
bool report_failed(const check_report *r);

void report_free(check_report *r);

/* The whole report as one JSON object (check_report.c). */
void report_write_json(FILE *out, const check_report *r);

/* A Markdown summary for a bug report (check_markdown.c). */
void report_write_markdown(FILE *out, const check_report *r);

#endif
