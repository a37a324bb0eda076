#ifndef OUTPOST_CZLIB_SHIM_H
#define OUTPOST_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2/inflateInit2 are macros; these wrap them for a gzip wrapper (window 15 + 16). */
static inline int cz_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int cz_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
