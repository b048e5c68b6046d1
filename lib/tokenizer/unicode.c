/* UTF-8 coding, category classes and the GPT-2 byte mapping.
 * The property tables themselves live in the generated unicode_tables.c. */
#include "unicode.h"

unsigned fwi_unicode_gc_class(enum fwi_unicode_gc gc)
{
    switch (gc) {
    case FWI_GC_LU: case FWI_GC_LL: case FWI_GC_LT: case FWI_GC_LM: case FWI_GC_LO:
        return FWI_UCLASS_L;
    case FWI_GC_MN: case FWI_GC_MC: case FWI_GC_ME:
        return FWI_UCLASS_M;
    case FWI_GC_ND: case FWI_GC_NL: case FWI_GC_NO:
        return FWI_UCLASS_N;
    case FWI_GC_PC: case FWI_GC_PD: case FWI_GC_PS: case FWI_GC_PE:
    case FWI_GC_PI: case FWI_GC_PF: case FWI_GC_PO:
        return FWI_UCLASS_P;
    case FWI_GC_SM: case FWI_GC_SC: case FWI_GC_SK: case FWI_GC_SO:
        return FWI_UCLASS_S;
    case FWI_GC_ZS: case FWI_GC_ZL: case FWI_GC_ZP:
        return FWI_UCLASS_Z;
    case FWI_GC_CN: case FWI_GC_CC: case FWI_GC_CF: case FWI_GC_CS: case FWI_GC_CO:
    case FWI_GC_COUNT:
    default:
        return FWI_UCLASS_C;
    }
}

static bool is_cont(uint8_t b)
{
    return (b & 0xC0u) == 0x80u;
}

uint32_t fwi_utf8_decode_one(const uint8_t *s, size_t n, size_t *len)
{
    uint8_t b0 = s[0];
    *len = 1;
    if (b0 < 0x80u) {
        return b0;
    }
    if ((b0 & 0xE0u) == 0xC0u) {
        if (n >= 2 && is_cont(s[1])) {
            *len = 2;
            return ((uint32_t)(b0 & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        }
    } else if ((b0 & 0xF0u) == 0xE0u) {
        if (n >= 3 && is_cont(s[1]) && is_cont(s[2])) {
            *len = 3;
            return ((uint32_t)(b0 & 0x0Fu) << 12) | ((uint32_t)(s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        }
    } else if ((b0 & 0xF8u) == 0xF0u) {
        if (n >= 4 && is_cont(s[1]) && is_cont(s[2]) && is_cont(s[3])) {
            uint32_t cp = ((uint32_t)(b0 & 0x07u) << 18) | ((uint32_t)(s[1] & 0x3Fu) << 12) |
                          ((uint32_t)(s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
            if (cp <= FWI_UNICODE_MAX_CP) {
                *len = 4;
                return cp;
            }
        }
    }
    return FWI_UNICODE_REPLACEMENT;
}

size_t fwi_utf8_decode(const char *s, size_t n, uint32_t *out, size_t *byte_offsets)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    size_t count = 0;
    while (i < n) {
        size_t len;
        uint32_t cp = fwi_utf8_decode_one(p + i, n - i, &len);
        if (byte_offsets != NULL) {
            byte_offsets[count] = i;
        }
        out[count++] = cp;
        i += len;
    }
    if (byte_offsets != NULL) {
        byte_offsets[count] = n;
    }
    return count;
}

size_t fwi_utf8_encoded_len(uint32_t cp)
{
    if (cp < 0x80u) {
        return 1;
    }
    if (cp < 0x800u) {
        return 2;
    }
    if (cp < 0x10000u) {
        return 3;
    }
    return cp <= FWI_UNICODE_MAX_CP ? 4 : 0;
}

size_t fwi_utf8_encode(uint32_t cp, char out[4])
{
    size_t len = fwi_utf8_encoded_len(cp);
    switch (len) {
    case 1:
        out[0] = (char)cp;
        break;
    case 2:
        out[0] = (char)(0xC0u | (cp >> 6));
        out[1] = (char)(0x80u | (cp & 0x3Fu));
        break;
    case 3:
        out[0] = (char)(0xE0u | (cp >> 12));
        out[1] = (char)(0x80u | ((cp >> 6) & 0x3Fu));
        out[2] = (char)(0x80u | (cp & 0x3Fu));
        break;
    case 4:
        out[0] = (char)(0xF0u | (cp >> 18));
        out[1] = (char)(0x80u | ((cp >> 12) & 0x3Fu));
        out[2] = (char)(0x80u | ((cp >> 6) & 0x3Fu));
        out[3] = (char)(0x80u | (cp & 0x3Fu));
        break;
    default:
        break;
    }
    return len;
}

/* The bytes that do not map to themselves are 0x00..0x20 (33 bytes),
 * 0x7F..0xA0 (34 bytes) and 0xAD; they map to U+0100.. in that order. */
uint32_t fwi_unicode_byte_to_cp(uint8_t byte)
{
    if (byte <= 0x20u) {
        return 0x100u + byte;
    }
    if (byte >= 0x7Fu && byte <= 0xA0u) {
        return 0x100u + 33u + (uint32_t)(byte - 0x7Fu);
    }
    if (byte == 0xADu) {
        return 0x100u + 67u;
    }
    return byte;
}

int fwi_unicode_cp_to_byte(uint32_t cp)
{
    if ((cp >= 0x21u && cp <= 0x7Eu) || (cp >= 0xA1u && cp <= 0xACu) || (cp >= 0xAEu && cp <= 0xFFu)) {
        return (int)cp;
    }
    if (cp >= 0x100u && cp < 0x100u + 33u) {
        return (int)(cp - 0x100u);
    }
    if (cp >= 0x100u + 33u && cp < 0x100u + 67u) {
        return (int)(cp - 0x100u - 33u + 0x7Fu);
    }
    if (cp == 0x100u + 67u) {
        return 0xAD;
    }
    return -1;
}
