#include "sb_v4l2.h"
int sb_v4l2_placeholder(void) { return 0; }
