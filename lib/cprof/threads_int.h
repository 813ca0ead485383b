#ifndef CPROF_THREADS_INT_H
#define CPROF_THREADS_INT_H

/* Internal helpers shared by the threads, lock and trace modules: text
 * output of symbolized stacks, as Go prints them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Go's debug=1 frame lines for one address: "#\t0x...\tfunction\tfile:line",
 * one per (inlined) frame. exact: pc is the instruction itself, else a
 * return address (looked up at pc-1). */
void cprof__print_pc_lines(FILE *out, uint64_t pc, bool exact);
/* Go's debug=2 frames for one address: "function\n\tfile:line\n" each. */
void cprof__print_pc_frames(FILE *out, uint64_t pc, bool exact);
/* The same for a cprof_lock_name_fn callback (arg unused). */
void cprof__lock_name_pc(uint64_t pc, FILE *out, void *arg);

#endif
