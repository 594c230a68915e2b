/* version.c: porta_version(), the version of the library a program runs
 * with, from the same generated header the program compiled against. */
#include "porta/porta.h"

porta_version_info porta_version(void)
{
    porta_version_info v;
    v.major = PORTA_VERSION_MAJOR;
    v.minor = PORTA_VERSION_MINOR;
    v.patch = PORTA_VERSION_PATCH;
    v.text = PORTA_VERSION_STRING;
#if defined(PORTA_HAVE_OPENCL) && defined(PORTA_HAVE_VULKAN)
    v.backends = "opencl vulkan";
#elif defined(PORTA_HAVE_OPENCL)
    v.backends = "opencl";
#elif defined(PORTA_HAVE_VULKAN)
    v.backends = "vulkan";
#else
    v.backends = "";
#endif
    return v;
}
