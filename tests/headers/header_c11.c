/* The public header compiles alone as strict C11 (this file includes
 * nothing else) and links. */
#include "fwinfer.h"

int main(void)
{
    return fw_version_number() == FW_VERSION_NUMBER ? 0 : 1;
}
