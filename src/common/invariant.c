/* Where a broken invariant ends (invariant.h). */
#include "common/invariant.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void hx_invariant_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "hearth: invariant broken: %s at %s:%d\n", expr, file, line);
    abort();
}
