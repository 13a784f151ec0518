#pragma once
// libjpeg(-turbo) as the system provides it (pkg-config `libjpeg`). Only the CJPEG shim depends
// on this module; Swift code imports CJPEG.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
