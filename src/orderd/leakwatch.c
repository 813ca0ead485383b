/* Placeholder until the leak-watch issue lands: nothing is watched. */
#include "orderd/leakwatch.h"

int leakwatch_start(app_t *app)
{
    (void)app;
    return 0;
}

void leakwatch_stop(void) {}

int leakwatch_suspects(char *out, size_t size)
{
    if (size)
        out[0] = '\0';
    return 0;
}
