/* Placeholder until the load generator lands. */
#include "orderd/load.h"

#include <errno.h>
#include <string.h>

int load_valid_scenario(const char *s)
{
    return !strcmp(s, "normal") || !strcmp(s, "high") || !strcmp(s, "burst") ||
           !strcmp(s, "mixed") || !strcmp(s, "all");
}

int load_start(const char *scenario, const char *base_url)
{
    (void)base_url;
    return load_valid_scenario(scenario) ? -ENOSYS : -EINVAL;
}

void load_stop(void) {}
