/* status.c: names for porta_status. */
#include "porta/porta.h"

const char *porta_strerror(porta_status status)
{
    switch (status) {
    case PORTA_OK:
        return "success";
    case PORTA_ERROR_INVALID_ARGUMENT:
        return "invalid argument";
    case PORTA_ERROR_OUT_OF_HOST_MEMORY:
        return "out of host memory";
    case PORTA_ERROR_OUT_OF_DEVICE_MEMORY:
        return "out of device memory";
    case PORTA_ERROR_ALLOCATION_TOO_LARGE:
        return "allocation larger than the device allows";
    case PORTA_ERROR_NO_DEVICE:
        return "no OpenCL or Vulkan device found";
    case PORTA_ERROR_DEVICE_NOT_FOUND:
        return "no device matches the device specification";
    case PORTA_ERROR_BACKEND_UNAVAILABLE:
        return "backend unavailable";
    case PORTA_ERROR_KERNEL_BUILD:
        return "kernel build failed";
    case PORTA_ERROR_DEVICE_LOST:
        return "device lost";
    case PORTA_ERROR_DRIVER:
        return "driver error";
    case PORTA_ERROR_UNSUPPORTED:
        return "unsupported by this device";
    case PORTA_ERROR_IO:
        return "input/output error";
    case PORTA_ERROR_CORRUPT_DATA:
        return "corrupt data";
    case PORTA_ERROR_VALIDATION:
        return "Vulkan validation error";
    case PORTA_ERROR_MISMATCH:
        return "device result differs from the reference";
    case PORTA_ERROR_NO_DEVICE_OPEN:
        return "no device open in this context";
    case PORTA_ERROR_NOT_FOUND:
        return "not found";
    }
    return "unknown status";
}
