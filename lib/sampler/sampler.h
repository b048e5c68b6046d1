/* sampler.h - stages and chains (internal). */
#ifndef FWI_SAMPLER_H
#define FWI_SAMPLER_H

#include <stdint.h>

#include "core/core.h"

/* xoshiro256** seeded from (seed, stream) through splitmix64. */
typedef struct fwi_rng {
    uint64_t s[4];
} fwi_rng;

void fwi_rng_seed(fwi_rng *r, uint64_t seed, uint64_t stream);
uint64_t fwi_rng_next(fwi_rng *r);
double fwi_rng_uniform(fwi_rng *r); /* [0, 1) with 53 bits */

#define FWI_STAGE_MAGIC 0x53574621u

struct fw_stage {
    uint32_t magic;
    fw_stage_iface iface;
    void *state;
    int builtin_random; /* state starts with an fwi_rng (reseedable) */
    int custom;         /* made by fw_stage_custom: may read p on entry */
};

/* Survivor helpers shared by the stages. */
/* Softmax over the live candidates into .p (exact 0 for -inf logits):
 * FW_E_NUMERIC for a NaN logit, FW_E_RANGE when all are -inf. */
fw_status fwi_cands_softmax(fw_candidates *c);
/* Only the checks of fwi_cands_softmax: NaN, all -inf. */
fw_status fwi_cands_check(const fw_candidates *c);
/* Sort live candidates by logit descending, ties by lower id. */
void fwi_cands_sort_desc(fw_candidates *c);
/* Put the first k candidates of that order at the front, sorted (the rest
 * in any order): a selection, not a sort of all of them. */
void fwi_cands_top(fw_candidates *c, size_t k);
/* Keep only the first k live candidates. */
void fwi_cands_keep(fw_candidates *c, size_t k);
/* Inverse CDF over the survivors in token-id order: returns the index (in
 * c->data) of the chosen candidate.  Probabilities must be set. */
int32_t fwi_cands_pick(fw_candidates *c, double u);

fw_status fwi_stage_make(const fw_stage_iface *iface, void *state,
                         int builtin_random, fw_stage **out);

/* The effective parameters of a preset-built sampler as JSON. */
struct fwi_sbuf;
void fwi_sampler_effective(const fw_sampler *s, struct fwi_sbuf *b);

#endif
