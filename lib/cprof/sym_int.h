#ifndef CPROF_SYM_INT_H
#define CPROF_SYM_INT_H

/* Internal interface of the symbolizer for the profile builder: a batch of
 * lookups under the symbolizer's lock, with entries that stay valid until
 * cprof__sym_end. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cprof__sym_frame {
    const char *function; /* never NULL */
    const char *file;     /* NULL if unknown */
    int line;
    int start_line; /* of the function, 0 if unknown */
} cprof__sym_frame_t;

typedef struct cprof__sym_entry {
    int mapping; /* index into cprof__sym_mappings, -1 if none */
    int nframes; /* >= 1, innermost first */
    cprof__sym_frame_t *frames;
    bool has_line; /* frames came from DWARF */
} cprof__sym_entry_t;

typedef struct cprof__sym_mapping {
    uint64_t start, limit, offset;
    const char *path;
    const char *build_id; /* hex, "" if none */
    bool has_debug;       /* DWARF found: functions, files, lines, inlines */
} cprof__sym_mapping_t;

/* Takes the lock and refreshes the module list if libraries were loaded or
 * unloaded since the last batch. Returns 0 or a negative errno (lock not
 * taken then). */
int cprof__sym_begin(void);
/* Looks pc up (cached). NULL only on ENOMEM. */
const cprof__sym_entry_t *cprof__sym_lookup(uint64_t pc, bool exact);
size_t cprof__sym_mappings(const cprof__sym_mapping_t **out);
void cprof__sym_end(void);

#endif
