#pragma once
// V4L2 for Swift: the VIDIOC_* request codes are function-like macros and v4l2_open/v4l2_ioctl are
// variadic, so Swift can import neither. This shim re-exports the codes as `static const` values and
// wraps the libv4l2 calls in fixed-argument functions. Imported only by Sources/Hardware/Camera/V4L2Device.swift.
#ifdef __linux__
#include <stddef.h>
#include <sys/types.h>
#include <linux/videodev2.h>

static const unsigned long SB_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long SB_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long SB_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long SB_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long SB_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long SB_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long SB_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long SB_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long SB_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long SB_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long SB_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;

static const unsigned int SB_V4L2_BUF_TYPE_VIDEO_CAPTURE = V4L2_BUF_TYPE_VIDEO_CAPTURE;
static const unsigned int SB_V4L2_MEMORY_MMAP = V4L2_MEMORY_MMAP;
static const unsigned int SB_V4L2_FIELD_ANY = V4L2_FIELD_ANY;
static const unsigned int SB_V4L2_BUF_FLAG_ERROR = V4L2_BUF_FLAG_ERROR;

static const unsigned int SB_V4L2_CAP_VIDEO_CAPTURE = V4L2_CAP_VIDEO_CAPTURE;
static const unsigned int SB_V4L2_CAP_STREAMING = V4L2_CAP_STREAMING;
static const unsigned int SB_V4L2_CAP_DEVICE_CAPS = V4L2_CAP_DEVICE_CAPS;

static const unsigned int SB_V4L2_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
static const unsigned int SB_V4L2_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;

// Layouts the Swift side relies on (all fixed-width fields, so identical on arm64, armhf and x86-64).
_Static_assert(sizeof(struct v4l2_capability) == 104, "v4l2_capability layout changed");
_Static_assert(sizeof(struct v4l2_pix_format) == 48, "v4l2_pix_format layout changed");
_Static_assert(sizeof(struct v4l2_requestbuffers) == 20, "v4l2_requestbuffers layout changed");
_Static_assert(sizeof(struct v4l2_fmtdesc) == 64, "v4l2_fmtdesc layout changed");
_Static_assert(sizeof(((struct v4l2_format *)0)->fmt) == 200, "v4l2_format union size changed");
// The camera's freshness rule (Sources/Hardware/Camera/FrameFreshness.swift) repeats these two.
_Static_assert(V4L2_BUF_FLAG_TIMESTAMP_MASK == 0xe000, "V4L2_BUF_FLAG_TIMESTAMP_MASK changed");
_Static_assert(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC == 0x2000, "V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC changed");
#if __SIZEOF_POINTER__ == 8
_Static_assert(sizeof(struct v4l2_buffer) == 88, "v4l2_buffer layout changed (64-bit)");
#endif

/// `v4l2_open(path, flags)`; returns a file descriptor or -1 with errno set.
int sb_v4l2_open(const char *path, int flags);
/// `v4l2_close(fd)`.
int sb_v4l2_close(int fd);
/// `v4l2_ioctl(fd, request, arg)`; returns -1 with errno set on failure.
int sb_v4l2_ioctl(int fd, unsigned long request, void *arg);
/// `v4l2_mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, offset)`; MAP_FAILED → NULL.
void *sb_v4l2_mmap_buffer(int fd, size_t length, long long offset);
/// `v4l2_munmap(start, length)`.
int sb_v4l2_munmap(void *start, size_t length);
#endif
