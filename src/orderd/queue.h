#ifndef ORDERD_QUEUE_H
#define ORDERD_QUEUE_H

/* The bounded three-level priority queue between the HTTP threads and the
 * workers. A pop takes the head of the highest non-empty level, except that a
 * head that has waited longer than max_wait (aging) is served first, oldest
 * first, so low priorities never starve. Within a level: FIFO. Capacity
 * counts all levels together; a push to a full queue fails at once (the API
 * answers 503): producers never block. One mutex, one condition variable for
 * the workers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orderd/order.h"

typedef struct queue queue_t;

queue_t *queue_new(size_t capacity, int64_t max_wait_ns);
void queue_free(queue_t *q);
/* 0, -EAGAIN when full, -EPIPE after queue_close. Thread-safe. */
int queue_push(queue_t *q, order_t *o);
/* Blocks until an order can be taken; NULL once closed and empty. Paused
 * queues hand out nothing until resumed (closing also resumes). */
order_t *queue_pop(queue_t *q);
/* Non-blocking pop for tests: NULL if nothing can be taken now. */
order_t *queue_try_pop(queue_t *q);
void queue_close(queue_t *q);
void queue_set_paused(queue_t *q, bool paused);
bool queue_paused(queue_t *q);
/* Length of one level (priority 1..3) or of all (priority 0). */
size_t queue_length(queue_t *q, int priority);
size_t queue_capacity(const queue_t *q);
/* Orders served because of aging. */
uint64_t queue_aged(queue_t *q);
/* Monotonic ns at which the oldest queued order was accepted, 0 if empty. */
int64_t queue_oldest_ns(queue_t *q);

#endif
