// The public header compiles alone as C++ and links.
#include "fwinfer.h"

int main()
{
    fw_model_params p;
    fw_model_params_init(&p);
    return (fw_version_number() == FW_VERSION_NUMBER && p.struct_size == sizeof p) ? 0 : 1;
}
