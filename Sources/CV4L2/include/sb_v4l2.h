#pragma once
// Placeholder: the V4L2 ioctl shim lives here (see Hardware).
int sb_v4l2_placeholder(void);
