#ifndef CPROF_PPROF_H
#define CPROF_PPROF_H

/* profile.proto (github.com/google/pprof/proto/profile.proto): a streaming
 * builder that symbolizes the addresses of this process when it finishes,
 * an encoder for decoded profiles, and a decoder.
 *
 * Builder: cprof_pprof_new, then any number of cprof_pprof_add_sample*, then
 * cprof_pprof_finish once (which symbolizes every distinct address with
 * cprof_symbolize's cache, adds this process's executable mappings with
 * their build IDs, and gzips), then cprof_pprof_free. A builder is used by
 * one thread at a time; different builders are independent. Nothing here is
 * async-signal-safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cprof_value_type {
    const char *type; /* e.g. "samples", "cpu", "alloc_space" */
    const char *unit; /* e.g. "count", "nanoseconds", "bytes" */
} cprof_value_type_t;

/* A sample label: string (str != NULL) or numeric (str == NULL: num, with
 * an optional num_unit such as "bytes"). */
typedef struct cprof_label {
    const char *key;
    const char *str;
    int64_t num;
    const char *num_unit;
} cprof_label_t;

/* One frame given by name rather than by address (synthetic frames such as
 * "[lost samples]", or frames of an already symbolized profile). */
typedef struct cprof_frame {
    const char *function;
    const char *file; /* may be NULL */
    int64_t line;     /* 0 if unknown */
} cprof_frame_t;

typedef struct cprof_pprof_opts {
    const cprof_value_type_t *sample_types; /* required, nsample_types >= 1 */
    size_t nsample_types;
    cprof_value_type_t period_type; /* may be {NULL, NULL} */
    int64_t period;
    const char *default_sample_type; /* NULL: the last one, as pprof assumes */
    int64_t time_nanos;              /* wall-clock start, ns since the epoch; 0: now */
    int64_t duration_nanos;
} cprof_pprof_opts_t;

typedef struct cprof_pprof cprof_pprof_t;

/* Creates a builder; strings of opts are copied. Returns 0, -EINVAL or -ENOMEM. */
int cprof_pprof_new(const cprof_pprof_opts_t *opts, cprof_pprof_t **out);
void cprof_pprof_free(cprof_pprof_t *p);
void cprof_pprof_set_duration(cprof_pprof_t *p, int64_t duration_nanos);
int cprof_pprof_add_comment(cprof_pprof_t *p, const char *comment);

/* pcs[0] is the interrupted instruction itself (a CPU sample from a signal
 * context), not a return address: symbolize it as is. Without the flag
 * every pc is a return address and is symbolized at pc-1, the call. */
#define CPROF_PCS_LEAF_EXACT 1u

/* Adds one sample: pcs leaf first (npcs may be 0), values[nsample_types],
 * optional labels (copied). Identical stacks are not merged: callers
 * aggregate. Returns 0 or -ENOMEM (the builder then fails at finish). */
int cprof_pprof_add_sample(cprof_pprof_t *p, const uint64_t *pcs, size_t npcs, unsigned flags,
                           const int64_t *values, const cprof_label_t *labels, size_t nlabels);
/* Adds one sample whose frames are given by name (leaf first). */
int cprof_pprof_add_sample_frames(cprof_pprof_t *p, const cprof_frame_t *frames, size_t nframes,
                                  const int64_t *values, const cprof_label_t *labels,
                                  size_t nlabels);

/* Number of samples added so far. */
size_t cprof_pprof_count(const cprof_pprof_t *p);

/* Symbolizes, encodes, and (gzip) compresses the profile into *out
 * (malloc'ed, caller frees). Call once. Returns 0, -ENOMEM or -EIO. */
int cprof_pprof_finish(cprof_pprof_t *p, bool gzip, uint8_t **out, size_t *out_len);

/* ---- decoded profiles ------------------------------------------------- */

typedef struct cprof_pp_line {
    uint64_t function_id;
    int64_t line;
} cprof_pp_line_t;

typedef struct cprof_pp_function {
    uint64_t id;
    const char *name, *system_name, *filename; /* never NULL ("" if absent) */
    int64_t start_line;
} cprof_pp_function_t;

typedef struct cprof_pp_location {
    uint64_t id, mapping_id, address;
    cprof_pp_line_t *lines; /* innermost (inlined) first, the caller last */
    size_t nlines;
    bool is_folded;
} cprof_pp_location_t;

typedef struct cprof_pp_mapping {
    uint64_t id, memory_start, memory_limit, file_offset;
    const char *filename, *build_id;
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} cprof_pp_mapping_t;

typedef struct cprof_pp_sample {
    uint64_t *location_ids; /* leaf first */
    size_t nlocations;
    int64_t *values;
    size_t nvalues;
    cprof_label_t *labels; /* str == NULL for numeric labels */
    size_t nlabels;
} cprof_pp_sample_t;

/* A decoded profile: plain data, strings resolved through the string table.
 * Owned by whoever got it from cprof_profile_decode (cprof_profile_free);
 * every pointer inside lives as long as the profile. Ids are the file's. */
typedef struct cprof_profile {
    cprof_value_type_t *sample_types;
    size_t nsample_types;
    cprof_pp_sample_t *samples;
    size_t nsamples;
    cprof_pp_mapping_t *mappings;
    size_t nmappings;
    cprof_pp_location_t *locations; /* sorted by id */
    size_t nlocations;
    cprof_pp_function_t *functions; /* sorted by id */
    size_t nfunctions;
    const char **strings; /* the string table; strings[0] == "" */
    size_t nstrings;
    const char *drop_frames, *keep_frames;
    int64_t time_nanos, duration_nanos;
    cprof_value_type_t period_type;
    int64_t period;
    const char **comments;
    size_t ncomments;
    const char *default_sample_type; /* "" if absent */
    void *_arena;
} cprof_profile_t;

/* Decodes a profile, gzipped or not. Returns 0, -ENOMEM or -EBADMSG
 * (malformed input; never reads past len). */
int cprof_profile_decode(const void *data, size_t len, cprof_profile_t **out);
void cprof_profile_free(cprof_profile_t *p);
/* The location / function with that id, or NULL. */
const cprof_pp_location_t *cprof_profile_location(const cprof_profile_t *p, uint64_t id);
const cprof_pp_function_t *cprof_profile_function(const cprof_profile_t *p, uint64_t id);
/* Index of the sample type named type, or -1. */
int cprof_profile_sample_type(const cprof_profile_t *p, const char *type);

/* Encodes a profile (e.g. a decoded one after merging or subtracting
 * samples) as profile.proto, string table rebuilt. *out malloc'ed.
 * Returns 0, -ENOMEM or -EIO. */
int cprof_profile_encode(const cprof_profile_t *p, bool gzip, uint8_t **out, size_t *out_len);

#endif
