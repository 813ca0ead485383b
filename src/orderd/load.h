#ifndef ORDERD_LOAD_H
#define ORDERD_LOAD_H

/* The built-in load generator (--load SCENARIO, the seed's generateLoad):
 * a thread that sends a scenario's orders over real HTTP to orderd's own
 * API listener, bounded in time by the scenario. */

/* Starts the scenario against base_url ("http://127.0.0.1:PORT"). Returns 0
 * or a negative errno (-EINVAL for an unknown scenario). */
int load_start(const char *scenario, const char *base_url);
/* Stops the generator early if it is still running and joins its thread. */
void load_stop(void);
/* True for a scenario name load_start accepts. */
int load_valid_scenario(const char *scenario);

#endif
