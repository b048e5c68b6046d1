/* strmap.h - a string -> int64 hash map (open addressing).  Keys are not
 * copied: they must outlive the map. */
#ifndef FWI_STRMAP_H
#define FWI_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fwi_strmap_slot {
    const char *key; /* NULL = empty */
    size_t len;
    int64_t value;
    uint64_t hash;
} fwi_strmap_slot;

typedef struct fwi_strmap {
    fwi_strmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
} fwi_strmap;

uint64_t fwi_hash_bytes(const void *data, size_t len);

/* Prepare for up to `n` keys.  Returns 0, or -1 if out of memory. */
int fwi_strmap_init(fwi_strmap *m, size_t n);
void fwi_strmap_free(fwi_strmap *m);

/* Insert `key`.  Returns 1 if inserted, 0 if the key was already present
 * (*existing then receives its value), -1 if out of memory. */
int fwi_strmap_put(fwi_strmap *m, const char *key, size_t len, int64_t value,
                   int64_t *existing);

/* Set the value of a present key (returns 0), or insert it (1); -1 if out
 * of memory. */
int fwi_strmap_set(fwi_strmap *m, const char *key, size_t len, int64_t value);

/* The value of `key`, or -1 if absent. */
int64_t fwi_strmap_get(const fwi_strmap *m, const char *key, size_t len);

#endif
