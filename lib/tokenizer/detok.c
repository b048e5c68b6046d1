/*
 * detok.c - tokens back to text, as llama.cpp's token_to_piece and
 * detokenize render it.
 */
#include <stdio.h>
#include <string.h>

#include "core/sbuf.h"
#include "detok.h"
#include "unicode.h"

/* Byte-level decoding of a BPE token text: each code point maps back to a
 * byte; one outside GPT-2's map is shown as llama.cpp shows it. */
static void decode_byte_level(const char *text, size_t len, fwi_sbuf *sb)
{
    size_t i = 0;
    while (i < len) {
        size_t n;
        uint32_t cp = fwi_utf8_decode_one((const uint8_t *)text + i, len - i, &n);
        int b = fwi_unicode_cp_to_byte(cp);
        if (b >= 0) {
            fwi_sbuf_putc(sb, (char)b);
        } else {
            char u[4];
            size_t ul = fwi_utf8_encode(cp, u);
            fwi_sbuf_puts(sb, "[UNK_BYTE_0x");
            for (size_t k = 0; k < ul; k++)
                fwi_sbuf_printf(sb, "%02x", (uint8_t)u[k]);
            fwi_sbuf_put(sb, text, len);
            fwi_sbuf_putc(sb, ']');
        }
        i += n;
    }
}

void fwi_token_piece(const fwi_vocab *v, int32_t id, int lstrip, int special,
                     fwi_sbuf *sb)
{
    if (id < 0 || id >= v->n_tokens)
        return;
    const fwi_token_info *t = &v->tokens[id];
    const uint32_t attr_special = FW_TOKEN_ATTR_UNKNOWN | FW_TOKEN_ATTR_CONTROL;
    if (!special && (t->attr & attr_special))
        return;
    size_t start = sb->len;
    if (t->attr & (attr_special | FW_TOKEN_ATTR_USER_DEFINED)) {
        fwi_sbuf_put(sb, t->text, t->len);
    } else if (v->type == FWI_VOCAB_SPM && (t->attr & FW_TOKEN_ATTR_NORMAL)) {
        for (uint32_t i = 0; i < t->len; i++) {
            if (i + 3 <= t->len && !memcmp(t->text + i, "\xe2\x96\x81", 3)) {
                fwi_sbuf_putc(sb, ' ');
                i += 2;
            } else {
                fwi_sbuf_putc(sb, t->text[i]);
            }
        }
    } else if (v->type == FWI_VOCAB_SPM && (t->attr & FW_TOKEN_ATTR_BYTE)) {
        unsigned b;
        if (t->len == 6 && sscanf(t->text, "<0x%2x>", &b) == 1)
            fwi_sbuf_putc(sb, (char)b);
    } else if (v->type == FWI_VOCAB_BPE && (t->attr & FW_TOKEN_ATTR_NORMAL)) {
        decode_byte_level(t->text, t->len, sb);
    }
    if (lstrip && !sb->failed && sb->len > start && sb->data[start] == ' ') {
        memmove(sb->data + start, sb->data + start + 1, sb->len - start - 1);
        sb->len--;
        sb->data[sb->len] = '\0';
    }
}

/* llama.cpp's clean-up of tokenization spaces, applied in place. */
static size_t clean_spaces(char *text, size_t total)
{
    /* " ?", " !", " .", " ," lose the space */
    size_t n = total, t = total ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            t--;
        text[t++] = x;
    }
    /* " ' " -> "'" */
    n = t, t = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < n && text[i - 1] == ' ' && text[i + 1] == ' ') {
            t--;
            text[++i] = '\0';
        }
        text[t++] = x;
    }
    /* " 's", " 'm", " 're", " 've" lose the space */
    n = t, t = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm')
                t--;
            else if (i + 2 < n && ((x1 == 'r' && text[i + 2] == 'e') ||
                                   (x1 == 'v' && text[i + 2] == 'e')))
                t--;
        }
        text[t++] = x;
    }
    return t;
}

void fwi_detokenize(const fwi_vocab *v, const int32_t *tokens, size_t n,
                    uint32_t flags, fwi_sbuf *sb)
{
    int remove_space = v->add_space_prefix;
    if ((flags & FW_DETOK_REMOVE_SPECIAL) && v->add_bos && n > 0 &&
        tokens[0] == v->bos) {
        remove_space = 0;
        tokens++;
        n--;
    }
    if ((flags & FW_DETOK_REMOVE_SPECIAL) && v->add_eos && n > 0 &&
        tokens[n - 1] == v->eos)
        n--;
    size_t start = sb->len;
    for (size_t i = 0; i < n; i++) {
        fwi_token_piece(v, tokens[i], remove_space,
                        (flags & FW_DETOK_UNPARSE_SPECIAL) != 0, sb);
        remove_space = 0;
    }
    if (v->clean_spaces && !(flags & FW_DETOK_NO_CLEANUP) && !sb->failed &&
        sb->len > start) {
        size_t len = clean_spaces(sb->data + start, sb->len - start);
        sb->len = start + len;
        sb->data[sb->len] = '\0';
    }
}

/* ---- streaming ---- */

size_t fwi_utf8_complete_prefix(const char *s, size_t n)
{
    /* Find where a trailing incomplete sequence starts, if any. */
    size_t back = n < 3 ? n : 3;
    for (size_t k = 1; k <= back; k++) {
        uint8_t c = (uint8_t)s[n - k];
        if ((c & 0xC0) == 0x80)
            continue; /* continuation byte: look further back */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > k && c >= 0xC0 && c < 0xF8 ? n - k : n;
    }
    return n;
}
