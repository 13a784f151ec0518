#include "sb_kernels.h"
