/*
 * The browser SDK and demo page, embedded in the binary at build time
 * (cmake/embed.cmake turns clients/js/ into a generated C file), so one
 * hearthd serves them with nothing installed beside it.
 * clients/js/<file> is served at /sdk/<file>, clients/js/demo/<file> at
 * /demo/<file>, and /demo/ is /demo/index.html.
 */
#ifndef HX_API_ASSETS_H
#define HX_API_ASSETS_H

#include <stddef.h>

typedef struct hx_asset {
    const char *path; /* URL path */
    const unsigned char *data;
    size_t len;
} hx_asset;

/** The generated table, ended by an entry with a NULL path. */
extern const hx_asset hx__assets[];

#endif
