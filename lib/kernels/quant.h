/*
 * libfwinfer - tensor element types and ggml block layouts.
 *
 * The enum values are the GGML type ids used in GGUF tensor infos, so a
 * reader can convert with a range check and a table lookup
 * (fwi_type_traits_get() returns NULL for ids we do not support).
 *
 * Block layouts are byte-exact copies of ggml's (little endian, fp16 scales,
 * no padding): they are read straight out of the memory-mapped file.
 * Blocks are only 2-byte aligned inside a row (34 / 18 bytes each), so every
 * kernel uses unaligned loads.
 */
#ifndef FWI_KERNELS_QUANT_H
#define FWI_KERNELS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "fp16.h"

enum fwi_type {
    FWI_TYPE_F32  = 0,
    FWI_TYPE_F16  = 1,
    FWI_TYPE_Q4_0 = 2,
    FWI_TYPE_Q8_0 = 8,
    /* K-quants (Q2_K..Q6_K = 10..14, Q8_K = 15) go here later */
    FWI_TYPE_BF16 = 30,
    FWI_TYPE_COUNT = 40 /* size of per-type tables (GGML_TYPE_COUNT) */
};

#define FWI_QK4_0 32
#define FWI_QK8_0 32

typedef struct fwi_block_q4_0 {
    fwi_f16 d;                   /* scale */
    uint8_t qs[FWI_QK4_0 / 2];   /* element j in low nibble of qs[j],
                                    element j+16 in high nibble; value (q-8)*d */
} fwi_block_q4_0;

typedef struct fwi_block_q8_0 {
    fwi_f16 d;                   /* scale */
    int8_t qs[FWI_QK8_0];        /* value qs[j]*d */
} fwi_block_q8_0;

_Static_assert(sizeof(fwi_block_q4_0) == 18, "block_q4_0 must be 18 bytes");
_Static_assert(sizeof(fwi_block_q8_0) == 34, "block_q8_0 must be 34 bytes");

typedef void (*fwi_to_float_fn)(const void *src, float *dst, int n);
typedef void (*fwi_from_float_fn)(const float *src, void *dst, int n);

typedef struct fwi_type_traits {
    const char *name;            /* ggml spelling: "f32", "q4_0", ... */
    int blck_size;               /* elements per block (1 for float types) */
    size_t type_size;            /* bytes per block */
    /* Format of the activation row that matvec/matmul expect for weights of
     * this type (ggml's vec_dot_type): FWI_TYPE_Q8_0 for Q4_0/Q8_0; for the
     * float weight types we use plain f32 activations (see kernels.h). */
    enum fwi_type vec_dot_type;
    fwi_to_float_fn to_float;    /* scalar reference dequantisation */
    fwi_from_float_fn from_float;/* scalar reference quantisation (ggml *_ref) */
} fwi_type_traits;

/* NULL for unsupported / out-of-range ids. */
const fwi_type_traits *fwi_type_traits_get(int type);

/* Bytes of a row of n elements (n must be a multiple of the block size),
 * 0 for an unsupported type or an invalid n. */
size_t fwi_row_size(int type, int64_t n);

/* Scalar references, bit-exact with ggml's *_ref / dequantize_row_* (n must
 * be a multiple of 32 for the block types). */
void fwi_quantize_row_q8_0_ref(const float *x, void *y, int n);
void fwi_quantize_row_q4_0_ref(const float *x, void *y, int n);
void fwi_dequantize_row_q8_0(const void *x, float *y, int n);
void fwi_dequantize_row_q4_0(const void *x, float *y, int n);
void fwi_convert_row_f16_to_f32(const void *x, float *y, int n);
void fwi_convert_row_f32_to_f16(const float *x, void *y, int n);
void fwi_convert_row_bf16_to_f32(const void *x, float *y, int n);
void fwi_convert_row_f32_to_bf16(const float *x, void *y, int n);

#endif /* FWI_KERNELS_QUANT_H */
