/* version.c - run-time version of the library. */
#include "core/core.h"

#define STR2(x) #x
#define STR(x) STR2(x)

FW_API uint32_t fw_version_number(void) { return FW_VERSION_NUMBER; }

FW_API const char *fw_version_string(void)
{
    return STR(FW_VERSION_MAJOR) "." STR(FW_VERSION_MINOR) "." STR(
        FW_VERSION_PATCH);
}
