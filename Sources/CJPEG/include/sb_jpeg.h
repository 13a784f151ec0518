#pragma once
// Placeholder: the libjpeg-turbo decode shim lives here (see Imaging).
int sb_jpeg_placeholder(void);
