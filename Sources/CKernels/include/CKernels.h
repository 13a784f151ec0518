// Umbrella header of the CKernels module: every public kernel header.
#pragma once
#include "sb_kernels.h"
#include "sb_parallel.h"
#include "sb_int8.h"
#include "sb_q8_conv.h"
#include "sb_calib.h"
#include "sb_winograd.h"
#include "sb_peak.h"
#include "sb_sgemm.h"
#include "sb_u8_pair.h"
#include "sb_s16_conv.h"
