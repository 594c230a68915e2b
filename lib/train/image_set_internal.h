/* image_set_internal.h: what the image-set readers share (idx.c). */
#ifndef PORTA_IMAGE_SET_INTERNAL_H
#define PORTA_IMAGE_SET_INTERNAL_H

#include "train_internal.h"
#include "porta/porta.h"

/* Allocate pixels and labels for count images of c x h x w into *set and
 * fill in its shape. `what` names the file in an error. */
porta_status porta__image_set_alloc(porta_image_set *set, size_t count, unsigned c, unsigned h,
                                    unsigned w, unsigned classes, const char *what,
                                    porta_context *ctx);

/* Fail naming `path` if one of labels[first_index, first_index + n) is
 * >= set->classes; the record number in the message counts from the start
 * of that file. */
porta_status porta__image_set_check_labels(const porta_image_set *set, const char *path,
                                           size_t first_index, size_t n, porta_context *ctx);

#endif
