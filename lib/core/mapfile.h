/* mapfile.h - a read-only view of a whole file: memory-mapped, or read into
 * memory when mapping is not wanted or fails. */
#ifndef FWI_MAPFILE_H
#define FWI_MAPFILE_H

#include <stdint.h>

#include "fwinfer.h"

typedef struct fwi_mapfile {
    const uint8_t *data;
    uint64_t size;
    int mapped; /* 1: munmap on close; 0: fwi_free on close */
} fwi_mapfile;

/* Open `path`.  `use_mmap` 0 forces reading.  Errors are filed under
 * `handle` with the path and the OS's reason. */
fw_status fwi_mapfile_open(fwi_mapfile *m, const char *path, int use_mmap,
                           const void *handle);
void fwi_mapfile_close(fwi_mapfile *m);

#endif
