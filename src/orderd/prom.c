/* Placeholder until the metrics issue lands. */
#include "orderd/prom.h"

void prom_render(app_t *app, buf_t *out)
{
    (void)app;
    buf_puts(out, "# metrics are not available in this build\n");
}
