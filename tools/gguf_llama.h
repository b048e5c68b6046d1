/*
 * gguf_llama.h - write synthetic llama-architecture GGUF models: given
 * shapes and weight types, seeded random weights (finite, scaled like real
 * ones so activations stay finite), and a synthetic SentencePiece tokenizer.
 * llama.cpp loads the files.  For tests and benchmarks; not part of the
 * library.
 */
#ifndef FW_GGUF_LLAMA_H
#define FW_GGUF_LLAMA_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_llama_spec {
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    uint32_t type;       /* matrices: 0 F32, 1 F16, 30 BF16, 8 Q8_0, 2 Q4_0 */
    int32_t embd_type;   /* token_embd; -1: same as type */
    int32_t output_type; /* output.weight; -1: same as type */
    int tied;            /* no output.weight (tied to token_embd) */
    uint64_t seed;
    float rope_freq_base, rms_eps;
} gw_llama_spec;

/* Defaults: a tiny model (n_embd 128, 2 layers, 4/2 heads, ffn 256,
 * vocab 600, ctx 256), F32, seed 1. */
void gw_llama_spec_init(gw_llama_spec *s);

/* Named shapes: "tiny", "smol" (SmolLM-135M), "tinyllama" (TinyLlama-1.1B).
 * Returns 0, or -1 for an unknown name. */
int gw_llama_preset(gw_llama_spec *s, const char *name);

/* The GGUF image (malloc'd, caller frees) or NULL (bad spec, no memory). */
uint8_t *gw_llama_build(const gw_llama_spec *s, size_t *size);

/* Build and write to a file; 0 on success. */
int gw_llama_write(const gw_llama_spec *s, const char *path);

#endif
