/* mapfile.c - map or read a whole file (POSIX). */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "mapfile.h"

static fw_status read_all(fwi_mapfile *m, int fd, uint64_t size,
                          const char *path, const void *handle)
{
    if (size > SIZE_MAX - 64)
        return fwi_fail(handle, FW_E_NOMEM, "%s: file too large to read", path);
    uint8_t *buf = fwi_malloc((size_t)size);
    if (!buf)
        return fwi_fail(handle, FW_E_NOMEM,
                        "%s: out of memory reading %llu bytes", path,
                        (unsigned long long)size);
    uint64_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, (size_t)(size - got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            fwi_free(buf);
            return fwi_fail(handle, FW_E_IO, "%s: read failed at byte %llu: %s",
                            path, (unsigned long long)got,
                            r < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (uint64_t)r;
    }
    m->data = buf;
    m->size = size;
    m->mapped = 0;
    return FW_OK;
}

fw_status fwi_mapfile_open(fwi_mapfile *m, const char *path, int use_mmap,
                           const void *handle)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fwi_fail(handle, FW_E_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return fwi_fail(handle, FW_E_IO, "%s: cannot stat: %s", path,
                        strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return fwi_fail(handle, FW_E_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    fw_status st = FW_OK;
    if (size == 0) {
        st = fwi_fail(handle, FW_E_FORMAT, "%s: file is empty", path);
    } else {
        void *p = MAP_FAILED;
        if (use_mmap && size <= SIZE_MAX)
            p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            m->data = p;
            m->size = size;
            m->mapped = 1;
        } else {
            st = read_all(m, fd, size, path, handle);
        }
    }
    close(fd);
    return st;
}

void fwi_mapfile_close(fwi_mapfile *m)
{
    if (m->data) {
        if (m->mapped)
            munmap((void *)m->data, (size_t)m->size);
        else
            fwi_free((void *)m->data);
    }
    memset(m, 0, sizeof *m);
}
