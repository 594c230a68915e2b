/* ref_loss.c: naive C references of the loss and evaluation kernels. */
#include <math.h>

#include "ref.h"

/* One row: the loss in double, and dlogits (if not NULL). */
static double cross_entropy_row(const float *x, uint32_t label, size_t classes, float grad_scale,
                                float *dlogits)
{
    double m = (double)x[0];
    for (size_t c = 1; c < classes; c++)
        m = fmax(m, (double)x[c]);
    double sum = 0.0;
    for (size_t c = 0; c < classes; c++)
        sum += exp((double)x[c] - m);
    const int valid = label < classes;
    for (size_t c = 0; dlogits && c < classes; c++) {
        double p = exp((double)x[c] - m) / sum - (c == label ? 1.0 : 0.0);
        dlogits[c] = valid ? (float)(p * (double)grad_scale) : NAN;
    }
    return valid ? log(sum) - ((double)x[label] - m) : NAN;
}

double porta_ref_cross_entropy(const float *logits, const uint32_t *labels, size_t rows,
                               size_t classes, float grad_scale, float *dlogits, double *row_loss)
{
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double l = cross_entropy_row(logits + r * classes, labels[r], classes, grad_scale,
                                     dlogits ? dlogits + r * classes : NULL);
        if (row_loss)
            row_loss[r] = l;
        total += l;
    }
    return total;
}

/* Whether b beats a in torch.argmax's order (a at a lower index). */
static int argmax_beats(float b, float a)
{
    if (isnan(a))
        return 0;
    return isnan(b) || b > a;
}

size_t porta_ref_accuracy_count(const float *logits, const uint32_t *labels, size_t rows,
                                size_t classes)
{
    size_t correct = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *x = logits + r * classes;
        size_t best = 0;
        for (size_t c = 1; c < classes; c++)
            if (argmax_beats(x[c], x[best]))
                best = c;
        correct += best == labels[r];
    }
    return correct;
}
