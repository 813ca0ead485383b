#ifndef CPROF_MERGE_H
#define CPROF_MERGE_H

/* Merging and scaling decoded profiles (cprof_profile_t, see pprof.h), the
 * operations of github.com/google/pprof/profile that Go's net/http/pprof
 * builds its delta profiles (?seconds=N) from: subtracting a profile is
 * merging it scaled by -1.
 *
 * Samples are matched by content, not by id: two samples are the same when
 * their stacks resolve to the same locations (mapping file, build ID and
 * offsets, address, and every line's function name, file, start line and
 * line) and they carry the same labels (in any order). Values of matched
 * samples are added; samples whose values are all zero are dropped, as
 * pprof does.
 *
 * Thread-safe as long as no two threads use the same profile at once. Not
 * async-signal-safe. */

#include <stddef.h>

#include "cprof/pprof.h"

/* Multiplies every value of every sample by ratio (rounded to the nearest
 * integer) and drops the samples whose values all become zero. In place.
 * Returns 0, or -EINVAL for a non-finite ratio. */
int cprof_profile_scale(cprof_profile_t *p, double ratio);

/* Merges n >= 1 profiles into a new one, *out (cprof_profile_free); the
 * inputs are not changed. They must have the same sample types (type and
 * unit, in order) and period type, else -EINVAL. The result has the
 * earliest non-zero time, the sum of the durations, the largest period, the
 * first non-empty default sample type and drop/keep frames, and every
 * distinct comment. Returns 0, -EINVAL or -ENOMEM. */
int cprof_profile_merge(const cprof_profile_t *const *srcs, size_t n, cprof_profile_t **out);

/* now - base, Go's serveDeltaProfile: base scaled by -1 merged with now,
 * zero samples dropped; time_nanos is base's and duration_nanos the time
 * between the two. Returns 0, -EINVAL (incompatible) or -ENOMEM. */
int cprof_profile_delta(const cprof_profile_t *base, const cprof_profile_t *now,
                        cprof_profile_t **out);

#endif
