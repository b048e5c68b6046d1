/* fuzz_gguf.c - libFuzzer target: the GGUF reader and every metadata and
 * tensor getter on whatever it accepts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fwinfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* as a model (weights bound and checked), and metadata-only */
    fw_model *m;
    if (fw_model_load_from_memory(data, size, NULL, &m) == FW_OK)
        fw_model_free(m);
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1;
    if (fw_model_load_from_memory(data, size, &mp, &m) != FW_OK)
        return 0;
    char buf[256];
    size_t need;
    for (int64_t i = 0; i < fw_model_meta_count(m); i++) {
        const char *key = fw_model_meta_key(m, i);
        int32_t type, et;
        uint64_t n;
        int64_t iv;
        double dv;
        int32_t bv;
        fw_model_meta_type(m, key, &type, &et, &n);
        fw_model_meta_get_i64(m, key, &iv);
        fw_model_meta_get_f64(m, key, &dv);
        fw_model_meta_get_bool(m, key, &bv);
        fw_model_meta_get_str(m, key, buf, sizeof buf, &need);
        fw_model_meta_to_json(m, key, 4, buf, sizeof buf, &need);
        fw_model_meta_to_json(m, key, -1, buf, sizeof buf, &need);
        if (type == FW_META_ARRAY && n > 0) {
            fw_model_meta_arr_i64(m, key, n - 1, &iv);
            fw_model_meta_arr_f64(m, key, 0, &dv);
            fw_model_meta_arr_str(m, key, n / 2, buf, sizeof buf, &need);
        }
    }
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < fw_model_tensor_count(m); i++) {
        int32_t type, nd;
        int64_t dims[FW_MAX_DIMS];
        uint64_t off, nb;
        fw_model_tensor_info(m, i, &type, &nd, dims, &off, &nb);
        /* touch the first and last byte of the data: must be in bounds */
        if (nb) {
            const uint8_t *base = data + fw_model_data_offset(m) + off;
            sink ^= base[0];
            sink ^= base[nb - 1];
        }
    }
    (void)sink;
    fw_model_free(m);
    return 0;
}
