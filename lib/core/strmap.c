/* strmap.c - a string -> int64 hash map (open addressing, linear probing). */
#include <string.h>

#include "core.h"
#include "strmap.h"

uint64_t fwi_hash_bytes(const void *data, size_t len)
{
    /* FNV-1a, 64-bit. */
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int grow(fwi_strmap *m, size_t cap)
{
    fwi_strmap_slot *slots = fwi_calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        const fwi_strmap_slot *s = &m->slots[i];
        if (!s->key)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    fwi_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int fwi_strmap_init(fwi_strmap *m, size_t n)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n && cap < ((size_t)1 << 40))
        cap <<= 1;
    return grow(m, cap);
}

void fwi_strmap_free(fwi_strmap *m)
{
    fwi_free(m->slots);
    memset(m, 0, sizeof *m);
}

int fwi_strmap_put(fwi_strmap *m, const char *key, size_t len, int64_t value,
                   int64_t *existing)
{
    if (2 * (m->count + 1) > m->cap && grow(m, m->cap ? 2 * m->cap : 16))
        return -1;
    uint64_t h = fwi_hash_bytes(key, len);
    size_t j = (size_t)h & (m->cap - 1);
    while (m->slots[j].key) {
        const fwi_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            if (existing)
                *existing = s->value;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = (fwi_strmap_slot){key, len, value, h};
    m->count++;
    return 1;
}

int fwi_strmap_set(fwi_strmap *m, const char *key, size_t len, int64_t value)
{
    int r = fwi_strmap_put(m, key, len, value, NULL);
    if (r != 0)
        return r;
    uint64_t h = fwi_hash_bytes(key, len);
    size_t j = (size_t)h & (m->cap - 1);
    while (m->slots[j].hash != h || m->slots[j].len != len ||
           memcmp(m->slots[j].key, key, len) != 0)
        j = (j + 1) & (m->cap - 1);
    m->slots[j].value = value;
    return 0;
}

int64_t fwi_strmap_get(const fwi_strmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return -1;
    uint64_t h = fwi_hash_bytes(key, len);
    size_t j = (size_t)h & (m->cap - 1);
    while (m->slots[j].key) {
        const fwi_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s->value;
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}
