/* fuzz_sampler.c - libFuzzer target: the sampler's by-name setters and
 * chains on arbitrary input. The input is a list of operations
 * (set a field by name with a float, an integer or a uint64, possibly
 * out of range, NaN or infinite), then logits (NaN, infinities and huge
 * values included); a valid parameter set builds both preset chains and
 * samples a few steps. Setters return FW_OK or a documented error with a
 * message; a sampled token is a valid id; never a crash, leak or hang. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_sampler: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #c);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

static const char *const names[] = {
    "temperature", "top_k", "top_p", "min_p", "typical_p", "frequency_penalty",
    "presence_penalty", "repetition_penalty", "mirostat_target", "mirostat_lr", "seed",
    "no_such_field", "",
};
#define N_NAMES (sizeof names / sizeof *names)
#define N_VOCAB 64

static int take(const uint8_t **p, size_t *n, void *out, size_t k)
{
    if (*n < k)
        return 0;
    memcpy(out, *p, k);
    *p += k;
    *n -= k;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    uint8_t nops = 0;
    take(&data, &size, &nops, 1);
    for (int i = 0; i < nops % 16; i++) {
        uint8_t op;
        uint64_t bits;
        if (!take(&data, &size, &op, 1) || !take(&data, &size, &bits, 8))
            break;
        const char *name = names[(op >> 2) % N_NAMES];
        fw_status st;
        if ((op & 3) == 0) {
            double v;
            memcpy(&v, &bits, sizeof v);
            st = fw_sampler_params_set_f(&sp, name, v);
        } else if ((op & 3) == 1) {
            st = fw_sampler_params_set_i(&sp, name, (int64_t)bits);
        } else if ((op & 3) == 2) {
            st = fw_sampler_params_set_u64(&sp, name, bits);
        } else { /* a small value, to reach the valid ranges often */
            st = fw_sampler_params_set_f(&sp, name, (double)(int8_t)(bits & 0xff) / 32.0);
        }
        CHECK(st == FW_OK || st == FW_E_RANGE || st == FW_E_NOT_FOUND || st == FW_E_TYPE ||
              st == FW_E_INVALID_ARG);
        if (st != FW_OK)
            CHECK(fw_last_error()[0] != '\0');
    }
    fw_logit_bias bias[4];
    uint8_t nb = 0;
    take(&data, &size, &nb, 1);
    sp.n_logit_bias = 0;
    for (int i = 0; i < nb % 5; i++) {
        int16_t id;
        float b;
        if (!take(&data, &size, &id, 2) || !take(&data, &size, &b, 4))
            break;
        bias[i].token = id % (N_VOCAB + 8);
        bias[i].bias = b;
        sp.n_logit_bias = (uint32_t)i + 1;
    }
    sp.logit_bias = sp.n_logit_bias ? bias : NULL;
    float logits[N_VOCAB];
    for (int i = 0; i < N_VOCAB; i++) {
        float v = (float)(i % 7) - 3.0f;
        if (size >= 4)
            take(&data, &size, &v, 4);
        logits[i] = v;
    }
    if (fw_sampler_params_validate(&sp, N_VOCAB) != FW_OK) {
        CHECK(fw_last_error()[0] != '\0');
        return 0;
    }
    static const char *const presets[] = {"fireworks", "llama.cpp"};
    for (int k = 0; k < 2; k++) {
        fw_sampler *s = NULL;
        fw_status st = fw_sampler_chain_preset(presets[k], NULL, &sp, &s);
        if (st != FW_OK) {
            CHECK(s == NULL && fw_last_error()[0] != '\0');
            continue;
        }
        for (int step = 0; step < 4; step++) {
            fw_token t = -1;
            float lp = 0;
            st = fw_sampler_sample(s, logits, N_VOCAB, &t, &lp);
            if (st == FW_OK)
                CHECK(t >= 0 && t < N_VOCAB && !(lp > 0));
            else
                CHECK(st == FW_E_NUMERIC || st == FW_E_RANGE || st == FW_E_INVALID_ARG);
        }
        fw_sampler_free(s);
    }
    return 0;
}
