/** @file porta/status.h
 * @brief The status codes every fallible porta function returns.
 *
 * Included by porta/porta.h; porta's backends include it directly so that
 * they never see the rest of the public API. PORTA_OK is zero.
 * porta_strerror() names a code, and the context's message
 * (porta_context_message()) gives the detail: the driver's own error name,
 * the build log, the offending value.
 */
#ifndef PORTA_STATUS_H
#define PORTA_STATUS_H

/** What a porta call did: PORTA_OK, or why it failed. */
typedef enum porta_status {
    /** Success. */
    PORTA_OK = 0,
    /** A caller passed something impossible: a NULL handle, an offset past
     * the end of a buffer, a malformed option value. */
    PORTA_ERROR_INVALID_ARGUMENT = 1,
    /** malloc failed on the host. */
    PORTA_ERROR_OUT_OF_HOST_MEMORY = 2,
    /** The device ran out of memory (CL_MEM_OBJECT_ALLOCATION_FAILURE,
     * CL_OUT_OF_RESOURCES, VK_ERROR_OUT_OF_DEVICE_MEMORY). */
    PORTA_ERROR_OUT_OF_DEVICE_MEMORY = 3,
    /** A single allocation is larger than the device allows
     * (CL_DEVICE_MAX_MEM_ALLOC_SIZE, maxStorageBufferRange, heap size). */
    PORTA_ERROR_ALLOCATION_TOO_LARGE = 4,
    /** No OpenCL or Vulkan device was found at all. */
    PORTA_ERROR_NO_DEVICE = 5,
    /** A device specification (--device, PORTA_DEVICE) matched nothing. */
    PORTA_ERROR_DEVICE_NOT_FOUND = 6,
    /** The API is not compiled in, or its loader or driver cannot be used. */
    PORTA_ERROR_BACKEND_UNAVAILABLE = 7,
    /** The driver refused to compile a kernel (OpenCL build log, pipeline
     * creation failure). */
    PORTA_ERROR_KERNEL_BUILD = 8,
    /** The device was lost (VK_ERROR_DEVICE_LOST, CL_DEVICE_NOT_AVAILABLE
     * mid-run). The context must be destroyed. */
    PORTA_ERROR_DEVICE_LOST = 9,
    /** Any other driver error; the message names it. */
    PORTA_ERROR_DRIVER = 10,
    /** The device lacks a feature porta needs for this call. */
    PORTA_ERROR_UNSUPPORTED = 11,
    /** A file could not be opened, read or written. */
    PORTA_ERROR_IO = 12,
    /** A file or buffer holds data that cannot be right (bad magic,
     * truncated, inconsistent sizes). */
    PORTA_ERROR_CORRUPT_DATA = 13,
    /** The Vulkan validation layer reported a problem. */
    PORTA_ERROR_VALIDATION = 14,
    /** A device computed a result that disagrees with the reference
     * (porta_self_test()). */
    PORTA_ERROR_MISMATCH = 15,
    /** The call is valid only after porta_device_open(). */
    PORTA_ERROR_NO_DEVICE_OPEN = 16,
    /** A name looked up (a tensor in a checkpoint) is not there. */
    PORTA_ERROR_NOT_FOUND = 17,
} porta_status;

#endif
