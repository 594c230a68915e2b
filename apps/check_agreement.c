/* check_agreement.c: OpenCL against Vulkan on the same hardware
 * (check_agreement.h).
 *
 * Same hardware is decided from what porta_device_info gives: the same
 * device name (case and runs of spaces aside), the same device type, and
 * vendors that name the same company once normalised (OpenCL says "NVIDIA
 * Corporation" where Vulkan's vendor ID gives "NVIDIA", Rusticl "Mesa/X.org"
 * where lavapipe gives "Mesa"). porta exposes no device UUID or PCI address
 * yet, which would settle it for two cards of one model in one machine;
 * until then two such cards pair up, which compares like with like anyway.
 *
 * The comparison: both devices trained the same CNN and GPT from the same
 * seed on the same batches (the library's training checks); every step's
 * loss must agree within the tolerance each has against the host
 * reference (training.cnn's: 1e-4 (1 + step / 200) relative to max(|loss|,
 * 0.1)), porta's OpenCL / Vulkan agreement bound of tests/test_graph.c.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check_agreement.h"

const char agreement_rule[] =
    "same device name (ignoring case and spacing), same type, same vendor after normalising "
    "(NVIDIA, AMD, Intel, Apple, ARM, Qualcomm, Mesa)";

/* Lower-case s with runs of white space as one space, trimmed. */
static void normalise(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (; *s && n + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            out[n++] = ' ';
        space = false;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
}

static const char *vendor_key(const char *vendor, char *buf, size_t cap)
{
    static const struct {
        const char *needle, *key;
    } known[] = {{"nvidia", "nvidia"}, {"advanced micro", "amd"}, {"amd", "amd"},
                 {"intel", "intel"},   {"apple", "apple"},        {"qualcomm", "qualcomm"},
                 {"arm", "arm"},       {"mesa", "mesa"},          {"x.org", "mesa"}};
    normalise(vendor, buf, cap);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(buf, known[i].needle, strlen(known[i].needle)) == 0)
            return known[i].key;
    buf[strcspn(buf, " /,")] = '\0'; /* an unknown vendor: its first word */
    return buf;
}

bool agreement_same_hardware(const porta_device_info *a, const porta_device_info *b)
{
    char na[256], nb[256], va[128], vb[128];
    normalise(a->name, na, sizeof(na));
    normalise(b->name, nb, sizeof(nb));
    return strcmp(na, nb) == 0 && strcmp(a->type, b->type) == 0 &&
           strcmp(vendor_key(a->vendor, va, sizeof(va)), vendor_key(b->vendor, vb, sizeof(vb))) ==
               0;
}

double agreement_tolerance(int step)
{
    return 1e-4 * (1.0 + (double)step / 200.0);
}

void agreement_compare(check_report *r, const device_report *a, const device_report *b,
                       const char *run)
{
    if (r->n_agreements >= REPORT_MAX_AGREEMENTS)
        return;
    agreement_record *g = &r->agreements[r->n_agreements++];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "agreement.%s", run + strlen("training."));
    snprintf(g->a, sizeof(g->a), "%s", a->info.spec);
    snprintf(g->b, sizeof(g->b), "%s", b->info.spec);
    snprintf(g->run, sizeof(g->run), "%s", run);
    const check_record *x = report_find(a, run), *y = report_find(b, run);
    if (!x || !y || !x->series || !y->series || x->series_count != y->series_count) {
        g->skipped = true;
        snprintf(g->message, sizeof(g->message), "%s has no %s losses to compare",
                 !x || !x->series ? a->info.spec : b->info.spec, run);
        return;
    }
    double worst = 0.0, worst_ratio = 0.0;
    int at = 0;
    for (size_t s = 0; s < x->series_count; s++) {
        const double d =
            fabs((double)x->series[s] - y->series[s]) / fmax(fabs((double)y->series[s]), 0.1);
        const double ratio = d / agreement_tolerance((int)s);
        if (!(ratio <= worst_ratio)) {
            worst_ratio = ratio;
            worst = d;
            at = (int)s;
        }
    }
    g->worst_rel = worst;
    g->worst_step = at;
    g->tolerance = agreement_tolerance(at);
    g->passed = worst_ratio <= 1.0;
    if (!g->passed)
        snprintf(g->message, sizeof(g->message),
                 "step %d: loss %.9g on %s, %.9g on %s (%.3g relative, tolerance %.3g)", at,
                 (double)x->series[at], a->info.spec, (double)y->series[at], b->info.spec, worst,
                 g->tolerance);
}
