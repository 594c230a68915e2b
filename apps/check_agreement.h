/* check_agreement.h: porta-check's OpenCL-against-Vulkan comparison: which
 * devices are the same hardware, and whether the same training runs on
 * both agree (check_agreement.c says how it decides). */
#ifndef PORTA_CHECK_AGREEMENT_H
#define PORTA_CHECK_AGREEMENT_H

#include <stdbool.h>

#include "check_report.h"

/* The rule agreement_same_hardware applies, in words (for the report). */
extern const char agreement_rule[];

/* Whether a and b are the same hardware by that rule. */
bool agreement_same_hardware(const porta_device_info *a, const porta_device_info *b);

/* The loss difference allowed between the two devices at a step, relative
 * to max(|loss|, 0.1). */
double agreement_tolerance(int step);

/* Compare the losses of check `run` ("training.cnn") on a (OpenCL) and b
 * (Vulkan) into a new agreement record of r (skipped when either lacks
 * them). */
void agreement_compare(check_report *r, const device_report *a, const device_report *b,
                       const char *run);

#endif
