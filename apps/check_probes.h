/* check_probes.h: porta-check's performance probes: copy bandwidth
 * (device copy, host to device, device to host), dispatch latency (back to
 * back, and with a wait), GEMM GFLOP/s at a few shapes, and the fused
 * optimizer step against the streaming roofline, as porta-bench measures
 * it (check_probes.c). */
#ifndef PORTA_CHECK_PROBES_H
#define PORTA_CHECK_PROBES_H

#include <stdbool.h>

#include "check_report.h"

/* Measure every probe on ctx's open device into d->probes; quick: smaller
 * buffers and shorter timings. */
void check_probes_run(porta_context *ctx, bool quick, device_report *d);

#endif
