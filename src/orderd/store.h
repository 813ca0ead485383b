#ifndef ORDERD_STORE_H
#define ORDERD_STORE_H

/* Every order still known, by id: queued, processing, or done. Done orders
 * are kept up to `results_capacity`, oldest evicted first (then freed);
 * queued and processing orders are never evicted. The index is split into
 * shards, each with its own mutex; the FIFO of done orders has its own.
 * Lock order: done FIFO, then shard. */

#include <stddef.h>

#include "common/buf.h"
#include "orderd/order.h"

typedef struct store store_t;

store_t *store_new(size_t results_capacity);
/* Frees the store and every order it still holds. */
void store_free(store_t *s);
/* Adds a new order; -EEXIST if an order with that id is known. */
int store_insert(store_t *s, order_t *o);
/* Removes an order that was inserted but not accepted (queue full). The
 * caller then frees it. */
void store_remove(store_t *s, order_t *o);
/* Called by the results stage once o is ORDER_DONE: it joins the FIFO of done
 * orders, and the oldest beyond capacity are evicted and freed. */
void store_done(store_t *s, order_t *o);
/* Writes the status JSON of an order into out; -ENOENT if unknown. */
int store_render(store_t *s, const char *id, buf_t *out);
size_t store_count(store_t *s);
size_t store_done_count(store_t *s);

#endif
