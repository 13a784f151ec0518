#pragma once
// libv4l2 as the system provides it (pkg-config `libv4l2`). Only the CV4L2 shim depends on this
// module; Swift code imports CV4L2.
#ifdef __linux__
#include <libv4l2.h>
#endif
