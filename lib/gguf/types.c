/* types.c - every ggml tensor type id: name, block size, bytes per block. */
#include "core/core.h"
#include "gguf.h"

/* Ids 4, 5 (Q4_2, Q4_3), 31-33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) and 36-38
 * (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) were removed from ggml: named, but
 * with block_elems 0. */
static const fwi_type_info type_table[] = {
    [0] = {"F32", 1, 4},
    [1] = {"F16", 1, 2},
    [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},
    [4] = {"Q4_2", 0, 0},
    [5] = {"Q4_3", 0, 0},
    [6] = {"Q5_0", 32, 22},
    [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},
    [9] = {"Q8_1", 32, 36},
    [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},
    [12] = {"Q4_K", 256, 144},
    [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},
    [15] = {"Q8_K", 256, 292},
    [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98},
    [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},
    [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136},
    [24] = {"I8", 1, 1},
    [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},
    [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},
    [31] = {"Q4_0_4_4", 0, 0},
    [32] = {"Q4_0_4_8", 0, 0},
    [33] = {"Q4_0_8_8", 0, 0},
    [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},
    [36] = {"IQ4_NL_4_4", 0, 0},
    [37] = {"IQ4_NL_4_8", 0, 0},
    [38] = {"IQ4_NL_8_8", 0, 0},
    [39] = {"MXFP4", 32, 17},
};

const fwi_type_info *fwi_type_info_get(int32_t type)
{
    if (type < 0 || (size_t)type >= sizeof type_table / sizeof type_table[0])
        return NULL;
    return type_table[type].name ? &type_table[type] : NULL;
}

FW_API const char *fw_type_name(int32_t type)
{
    const fwi_type_info *ti = fwi_type_info_get(type);
    return ti ? ti->name : NULL;
}

FW_API fw_status fw_type_block_info(int32_t type, int64_t *block_elems,
                                    int64_t *block_bytes)
{
    const fwi_type_info *ti = fwi_type_info_get(type);
    if (!ti)
        return fwi_fail(NULL, FW_E_NOT_FOUND, "unknown tensor type id %d",
                        (int)type);
    if (!ti->block_elems)
        return fwi_fail(NULL, FW_E_UNSUPPORTED,
                        "tensor type %d (%s) was removed from ggml", (int)type,
                        ti->name);
    if (block_elems)
        *block_elems = ti->block_elems;
    if (block_bytes)
        *block_bytes = ti->block_bytes;
    return FW_OK;
}

static const char *const meta_type_names[] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

FW_API const char *fw_meta_type_name(int32_t type)
{
    if (type < 0 || type > FW_META_FLOAT64)
        return NULL;
    return meta_type_names[type];
}
