/* graph_plan.c: place tensors in one arena so that tensors alive at the
 * same time never share bytes, and tensors that are not may.
 *
 * Greedy by size (largest first, ties by index so the plan is the same on
 * every run): each item goes to the lowest aligned offset that clears every
 * already placed item whose lifetime [first, last] overlaps its own. */
#include <stdlib.h>

#include "graph/graph_internal.h"

static int overlaps(const graph_plan_item *a, const graph_plan_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static size_t align_up(size_t x, size_t align)
{
    return (x + align - 1) / align * align;
}

size_t graph_plan(graph_plan_item *items, size_t n, size_t align)
{
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *placed = malloc((n ? n : 1) * sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* insertion sort: n is a few hundred at most */
    for (size_t i = 1; i < n; i++) {
        size_t v = order[i], j = i;
        while (j > 0 && (items[order[j - 1]].bytes < items[v].bytes ||
                         (items[order[j - 1]].bytes == items[v].bytes && order[j - 1] > v))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    size_t total = 0, n_placed = 0;
    for (size_t i = 0; i < n; i++) {
        graph_plan_item *it = &items[order[i]];
        size_t offset = 0;
        /* move past every conflicting item until none conflicts: each pass
         * either settles or moves the offset up, so this ends */
        for (int moved = 1; moved;) {
            moved = 0;
            for (size_t j = 0; j < n_placed; j++) {
                const graph_plan_item *p = &items[placed[j]];
                if (!overlaps(it, p))
                    continue;
                if (offset < p->offset + p->bytes && p->offset < offset + it->bytes) {
                    offset = align_up(p->offset + p->bytes, align);
                    moved = 1;
                }
            }
        }
        it->offset = offset;
        placed[n_placed++] = order[i];
        if (offset + it->bytes > total)
            total = offset + it->bytes;
    }
    free(order);
    free(placed);
    return align_up(total, align);
}
