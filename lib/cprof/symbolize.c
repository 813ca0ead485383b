/* In-process symbolization with elfutils libdwfl/libdw.
 *
 * One Dwfl session describes the process's modules (dwfl_linux_proc_report
 * on our own pid); debug files are found by the standard callbacks, which
 * look next to each module and under /usr/lib/debug/.build-id. A lookup
 * takes the DWARF scopes at the address (dwarf_getscopes): the chain of
 * DW_TAG_inlined_subroutine scopes up to the enclosing DW_TAG_subprogram
 * gives the inline frames, innermost first. The innermost frame's file and
 * line come from the line table at the address; each outer frame's from
 * the DW_AT_call_file/DW_AT_call_line of the inlined scope inside it.
 * Without DWARF the ELF symbol names the frame, and without a symbol
 * "module+0xoffset" (the offset in the file's address space).
 *
 * Entries and their strings live in an arena and are cached per
 * (address, exact) for as long as the module list is unchanged: the
 * dynamic loader's dlpi_adds/dlpi_subs counters tell when a library came or
 * went, and the next batch then rebuilds the session, the mapping list and
 * the cache (an address may now belong to another library).
 *
 * One mutex guards everything; libdw is not thread-safe on one session. */

#include "cprof/symbolize.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cprof/pb.h"
#include "cprof/sym_int.h"

#define MAX_INLINE 16
#define MAX_MAPPINGS 512

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

static struct {
    pthread_mutex_t mu;
    Dwfl *dwfl;
    bool loaded;
    unsigned long long gen; /* dlpi_adds + dlpi_subs when loaded */
    cprof__sym_mapping_t maps[MAX_MAPPINGS];
    size_t nmaps;
    cprof__map_t cache[2]; /* [exact] pc -> entry pointer */
    chunk_t *arena;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char *debuginfo_path = NULL;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static void *arena_alloc(size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!S.arena || S.arena->cap - S.arena->used < n) {
        size_t cap = n > 60000 ? n : 65536 - sizeof(chunk_t);
        chunk_t *c = malloc(sizeof(chunk_t) + cap);
        if (!c)
            return NULL;
        c->next = S.arena;
        c->used = 0;
        c->cap = cap;
        S.arena = c;
    }
    void *p = S.arena->data + S.arena->used;
    S.arena->used += n;
    return p;
}

static const char *arena_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void arena_free(void)
{
    while (S.arena) {
        chunk_t *n = S.arena->next;
        free(S.arena);
        S.arena = n;
    }
}

static int phdr_gen(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *gen = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
        *gen = info->dlpi_adds + info->dlpi_subs;
    return 1; /* the counters are the same in every entry */
}

static void unload(void)
{
    if (S.dwfl)
        dwfl_end(S.dwfl);
    S.dwfl = NULL;
    cprof__map_destroy(&S.cache[0]);
    cprof__map_destroy(&S.cache[1]);
    arena_free();
    S.nmaps = 0;
    S.loaded = false;
}

static void hex(char *out, const unsigned char *p, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Reads the executable mappings of /proc/self/maps, main program first. */
static void read_maps(void)
{
    char exe[512];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[el > 0 ? el : 0] = '\0';
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f) && S.nmaps < MAX_MAPPINGS) {
        unsigned long long lo, hi, off;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &lo, &hi, perms, &off, &pos) < 4)
            continue;
        if (perms[2] != 'x')
            continue;
        char *path = line + pos;
        while (*path == ' ')
            path++;
        path[strcspn(path, "\n")] = '\0';
        if (!*path || strcmp(path, "[vsyscall]") == 0)
            continue;
        cprof__sym_mapping_t *m = &S.maps[S.nmaps];
        *m = (cprof__sym_mapping_t){.start = lo, .limit = hi, .offset = off, .build_id = ""};
        m->path = arena_strdup(path);
        if (!m->path)
            break;
        Dwfl_Module *mod = S.dwfl ? dwfl_addrmodule(S.dwfl, lo) : NULL;
        if (mod) {
            /* The build ID is known once the module's ELF is loaded. */
            GElf_Addr ebias;
            dwfl_module_getelf(mod, &ebias);
            const unsigned char *bits;
            GElf_Addr vaddr;
            int n = dwfl_module_build_id(mod, &bits, &vaddr);
            if (n > 0 && n <= 32) {
                char *id = arena_alloc(2 * (size_t)n + 1);
                if (id) {
                    hex(id, bits, n);
                    m->build_id = id;
                }
            }
            Dwarf_Addr bias;
            m->has_debug = dwfl_module_getdwarf(mod, &bias) != NULL;
        }
        if (exe[0] && strcmp(path, exe) == 0 && S.nmaps > 0 && strcmp(S.maps[0].path, exe) != 0) {
            cprof__sym_mapping_t t = S.maps[0];
            S.maps[0] = *m;
            *m = t;
        }
        S.nmaps++;
    }
    fclose(f);
}

static int load(void)
{
    unsigned long long gen = 0;
    dl_iterate_phdr(phdr_gen, &gen);
    if (S.loaded && gen == S.gen)
        return 0;
    unload();
    S.dwfl = dwfl_begin(&callbacks);
    if (!S.dwfl)
        return -ENOMEM;
    dwfl_report_begin(S.dwfl);
    int rc = dwfl_linux_proc_report(S.dwfl, getpid());
    dwfl_report_end(S.dwfl, NULL, NULL);
    if (rc != 0) {
        /* Without modules every address still gets a module+offset name. */
        dwfl_end(S.dwfl);
        S.dwfl = NULL;
    }
    read_maps();
    S.gen = gen;
    S.loaded = true;
    return 0;
}

int cprof__sym_begin(void)
{
    pthread_mutex_lock(&S.mu);
    int rc = load();
    if (rc != 0)
        pthread_mutex_unlock(&S.mu);
    return rc;
}

void cprof__sym_end(void) { pthread_mutex_unlock(&S.mu); }

size_t cprof__sym_mappings(const cprof__sym_mapping_t **out)
{
    *out = S.maps;
    return S.nmaps;
}

static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    if (!n)
        n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    return n;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Fills frames from DWARF; returns how many (0 when there is no DWARF). */
static int dwarf_frames(Dwfl_Module *mod, uint64_t a, cprof__sym_frame_t *fr)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, a, &bias);
    if (!cu)
        return 0;
    /* dwarf_getscopes continues an inlined scope with its abstract
     * definition's parents; dwarf_getscopes_die on the innermost DIE gives
     * the concrete chain of callers instead (as eu-addr2line -i does). */
    Dwarf_Die *scopes = NULL;
    int ns = dwarf_getscopes(cu, a - bias, &scopes);
    if (ns > 0) {
        Dwarf_Die inner;
        Dwarf_Addr dbias;
        Dwarf *dw = dwfl_module_getdwarf(mod, &dbias);
        if (dw && dwarf_offdie(dw, dwarf_dieoffset(&scopes[0]), &inner)) {
            free(scopes);
            scopes = NULL;
            ns = dwarf_getscopes_die(&inner, &scopes);
        }
    }
    Dwarf_Die *fn[MAX_INLINE];
    int k = 0;
    for (int i = 0; i < ns && k < MAX_INLINE; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram ||
            tag == DW_TAG_entry_point)
            fn[k++] = &scopes[i];
        if (tag == DW_TAG_subprogram)
            break;
    }
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (k > 1)
        dwarf_getsrcfiles(cu, &files, &nfiles);
    int n = 0;
    for (int j = 0; j < k; j++) {
        const char *name = die_name(fn[j]);
        cprof__sym_frame_t *f = &fr[n];
        f->function = name ? name : "??";
        f->file = NULL;
        f->line = 0;
        f->start_line = 0;
        dwarf_decl_line(fn[j], &f->start_line);
        if (j == 0) {
            Dwfl_Line *l = dwfl_module_getsrc(mod, a);
            int lineno = 0;
            const char *file = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
            f->file = file;
            f->line = lineno;
        } else {
            /* The call site of the inlined scope fn[j-1] is in fn[j]. */
            Dwarf_Attribute attr;
            Dwarf_Word v;
            if (files && dwarf_formudata(dwarf_attr(fn[j - 1], DW_AT_call_file, &attr), &v) == 0)
                f->file = dwarf_filesrc(files, v, NULL, NULL);
            if (dwarf_formudata(dwarf_attr(fn[j - 1], DW_AT_call_line, &attr), &v) == 0)
                f->line = (int)v;
        }
        n++;
    }
    free(scopes);
    return n;
}

static cprof__sym_entry_t *resolve(uint64_t pc, bool exact)
{
    uint64_t a = exact || pc == 0 ? pc : pc - 1;
    cprof__sym_frame_t fr[MAX_INLINE];
    int n = 0;
    cprof__sym_entry_t tmp = {.mapping = -1};
    for (size_t i = 0; i < S.nmaps; i++)
        if (a >= S.maps[i].start && a < S.maps[i].limit)
            tmp.mapping = (int)i;
    Dwfl_Module *mod = S.dwfl ? dwfl_addrmodule(S.dwfl, a) : NULL;
    char fallback[320];
    if (mod) {
        n = dwarf_frames(mod, a, fr);
        tmp.has_line = n > 0;
        if (n == 0) {
            GElf_Off off;
            GElf_Sym sym;
            const char *name = dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL);
            if (name) {
                fr[0] = (cprof__sym_frame_t){.function = name};
                n = 1;
            }
        }
    }
    if (n == 0) {
        if (tmp.mapping >= 0) {
            const cprof__sym_mapping_t *m = &S.maps[tmp.mapping];
            snprintf(fallback, sizeof(fallback), "%s+0x%" PRIx64, base_name(m->path),
                     a - m->start + m->offset);
        } else {
            snprintf(fallback, sizeof(fallback), "0x%" PRIx64, a);
        }
        fr[0] = (cprof__sym_frame_t){.function = fallback};
        n = 1;
    }
    cprof__sym_entry_t *e = arena_alloc(sizeof(*e));
    cprof__sym_frame_t *frames = arena_alloc(sizeof(*frames) * (size_t)n);
    if (!e || !frames)
        return NULL;
    *e = tmp;
    e->nframes = n;
    e->frames = frames;
    for (int i = 0; i < n; i++) {
        frames[i] = fr[i];
        frames[i].function = arena_strdup(fr[i].function);
        frames[i].file = arena_strdup(fr[i].file);
        if (!frames[i].function || (fr[i].file && !frames[i].file))
            return NULL;
    }
    return e;
}

const cprof__sym_entry_t *cprof__sym_lookup(uint64_t pc, bool exact)
{
    cprof__map_t *cache = &S.cache[exact ? 1 : 0];
    uint64_t *v = cprof__map_get(cache, pc);
    if (v)
        return (const cprof__sym_entry_t *)(uintptr_t)*v;
    cprof__sym_entry_t *e = resolve(pc, exact);
    if (!e)
        return NULL;
    bool ins;
    v = cprof__map_put(cache, pc, &ins);
    if (v)
        *v = (uint64_t)(uintptr_t)e;
    return e;
}

static const char *copy_str(const char *s, char **p, char *end)
{
    if (!s)
        return NULL;
    char *dst = *p;
    if (dst >= end)
        return "";
    size_t n = strlen(s), room = (size_t)(end - dst) - 1;
    if (n > room)
        n = room;
    memcpy(dst, s, n);
    dst[n] = '\0';
    *p = dst + n + 1;
    return dst;
}

int cprof_symbolize(uint64_t pc, unsigned flags, cprof_frame_t *frames, size_t max, char *strbuf,
                    size_t strbuf_len)
{
    if (max == 0 || (!strbuf && strbuf_len))
        return -EINVAL;
    int rc = cprof__sym_begin();
    if (rc)
        return rc;
    const cprof__sym_entry_t *e = cprof__sym_lookup(pc, flags & CPROF_SYM_EXACT);
    if (!e) {
        rc = -ENOMEM;
        goto out;
    }
    char *p = strbuf, *end = strbuf + strbuf_len;
    size_t n = (size_t)e->nframes < max ? (size_t)e->nframes : max;
    for (size_t i = 0; i < n; i++) {
        frames[i].function = copy_str(e->frames[i].function, &p, end);
        frames[i].file = copy_str(e->frames[i].file, &p, end);
        frames[i].line = e->frames[i].line;
    }
    rc = (int)n;
out:
    cprof__sym_end();
    return rc;
}

int cprof_mappings(cprof_mapping_t *out, size_t max)
{
    int rc = cprof__sym_begin();
    if (rc)
        return rc;
    for (size_t i = 0; i < S.nmaps && i < max; i++) {
        const cprof__sym_mapping_t *m = &S.maps[i];
        out[i] = (cprof_mapping_t){.start = m->start, .limit = m->limit, .offset = m->offset};
        snprintf(out[i].path, sizeof(out[i].path), "%s", m->path);
        snprintf(out[i].build_id, sizeof(out[i].build_id), "%s", m->build_id);
    }
    rc = (int)S.nmaps;
    cprof__sym_end();
    return rc;
}
