#include "sb_jpeg.h"
int sb_jpeg_placeholder(void) { return 0; }
