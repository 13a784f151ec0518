// V4L2 shim: fixed-argument wrappers over libv4l2's variadic calls (see include/sb_v4l2.h).
#ifdef __linux__
#include "sb_v4l2.h"
#include <libv4l2.h>
#include <stdint.h>
#include <sys/mman.h>

int sb_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }

int sb_v4l2_close(int fd) { return v4l2_close(fd); }

int sb_v4l2_ioctl(int fd, unsigned long request, void *arg) { return v4l2_ioctl(fd, request, arg); }

void *sb_v4l2_mmap_buffer(int fd, size_t length, long long offset) {
    void *p = v4l2_mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (int64_t)offset);
    return p == MAP_FAILED ? NULL : p;
}

int sb_v4l2_munmap(void *start, size_t length) { return v4l2_munmap(start, length); }
#endif
