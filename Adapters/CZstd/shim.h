#ifndef OUTPOST_CZSTD_SHIM_H
#define OUTPOST_CZSTD_SHIM_H
#include <zstd.h>
#endif
