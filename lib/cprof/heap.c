/* Heap snapshots from jemalloc's sampling profiler (see include/cprof/heap.h).
 *
 * Data flow: mallctl("prof.dump") writes jemalloc's heap_v2 text into a
 * memfd named by its /proc/self/fd path (nothing touches the disk); the text
 * is read back, parsed (jeprof.c), and each stack is cut below the last
 * jemalloc frame: jemalloc records the stack from inside its own sampling
 * code (prof_backtrace, imalloc, malloc...), and those frames belong to the
 * profiler, not to the program, as Go drops runtime.mallocgc. jemalloc's
 * frames are recognised by address: its executable PT_LOAD segments, found
 * once with dladdr + dl_iterate_phdr (a range check per frame, no symbol
 * lookup).
 *
 * Un-sampling: jemalloc 5.3 dumps "reverse-unbiased" counts, chosen so that
 * the classic formula count * 1/(1-exp(-avg/rate)) applied per stack yields
 * its unbiased estimate (which handles stacks mixing object sizes better
 * than raw counts would). Applying Go's scaleHeapSample to them therefore
 * gives the right numbers, and the raw values stay valid for the legacy
 * text format whose readers un-sample themselves.
 *
 * The process-wide state is jemalloc's (prof.active, lg_prof_sample); the
 * setters are serialized by a mutex so that a rate change and an activation
 * never interleave. */

#include "cprof/heap.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cprof/heap_int.h"
#include "cprof/heap_je.h"
#include "cprof/jeprof.h"

struct cprof_heap {
    cprof__jeprof_t dump;
    cprof_heap_sample_t *samples; /* their pcs point into dump.frames */
    size_t nsamples;
    int64_t time_ns;
};

#define MAX_SEGS 8
static struct {
    const char *unavailable;
    uintptr_t seg_lo[MAX_SEGS], seg_hi[MAX_SEGS];
    int nsegs;
} st;
static pthread_once_t st_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;

/* Collects the executable segments of the object loaded at data's base. */
static int find_segments(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t base = (uintptr_t)data;
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr - ph->p_offset == base)
            mine = true;
    }
    if (!mine)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && st.nsegs < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            st.seg_lo[st.nsegs] = info->dlpi_addr + ph->p_vaddr;
            st.seg_hi[st.nsegs] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            st.nsegs++;
        }
    }
    return 1;
}

static void st_init(void)
{
    if (!cprof__je_linked()) {
        st.unavailable = "heap profiling needs jemalloc as the allocator (not linked in this "
                         "build, e.g. under a sanitizer)";
        return;
    }
    bool prof = false;
    size_t sz = sizeof(prof);
    if (mallctl("opt.prof", &prof, &sz, NULL, 0) != 0 || !prof) {
        st.unavailable = "jemalloc was started without profiling (malloc_conf/MALLOC_CONF "
                         "needs prof:true)";
        return;
    }
    Dl_info info;
    if (dladdr((void *)mallctl, &info) == 0 || !info.dli_fbase) {
        st.unavailable = "cannot locate jemalloc in memory";
        return;
    }
    Dl_info self;
    /* A jemalloc linked statically into the same object as cprof cannot be
     * told apart by address: keep every frame then. */
    if (dladdr((void *)st_init, &self) != 0 && self.dli_fbase == info.dli_fbase)
        return;
    dl_iterate_phdr(find_segments, info.dli_fbase);
}

const char *cprof_heap_unavailable(void)
{
    pthread_once(&st_once, st_init);
    return st.unavailable;
}

static bool in_jemalloc(uint64_t pc)
{
    for (int i = 0; i < st.nsegs; i++)
        if (pc >= st.seg_lo[i] && pc < st.seg_hi[i])
            return true;
    return false;
}

int cprof_heap_start(size_t rate_bytes)
{
    if (cprof_heap_unavailable())
        return -ENOTSUP;
    int err = 0;
    pthread_mutex_lock(&ctl_mu);
    if (rate_bytes != 0) {
        size_t lg = 0;
        while (lg < 62 && ((size_t)1 << (lg + 1)) <= rate_bytes)
            lg++;
        /* Round to the nearer power of two. */
        if (lg < 62 && rate_bytes - ((size_t)1 << lg) > ((size_t)1 << (lg + 1)) - rate_bytes)
            lg++;
        size_t cur = 0, sz = sizeof(cur);
        if (mallctl("prof.lg_sample", &cur, &sz, NULL, 0) != 0) {
            err = -EIO;
            goto out;
        }
        if (cur != lg && mallctl("prof.reset", NULL, NULL, &lg, sizeof(lg)) != 0) {
            err = -EINVAL;
            goto out;
        }
    }
    bool on = true;
    if (mallctl("prof.active", NULL, NULL, &on, sizeof(on)) != 0)
        err = -EIO;
out:
    pthread_mutex_unlock(&ctl_mu);
    return err;
}

int cprof_heap_set_active(bool on)
{
    if (cprof_heap_unavailable())
        return -ENOTSUP;
    pthread_mutex_lock(&ctl_mu);
    int rc = mallctl("prof.active", NULL, NULL, &on, sizeof(on));
    pthread_mutex_unlock(&ctl_mu);
    return rc == 0 ? 0 : -EIO;
}

bool cprof_heap_active(void)
{
    bool on = false;
    size_t sz = sizeof(on);
    if (cprof_heap_unavailable() || mallctl("prof.active", &on, &sz, NULL, 0) != 0)
        return false;
    return on;
}

uint64_t cprof_heap_rate(void)
{
    size_t lg = 0, sz = sizeof(lg);
    if (cprof_heap_unavailable() || mallctl("prof.lg_sample", &lg, &sz, NULL, 0) != 0)
        return 0;
    return (uint64_t)1 << lg;
}

int cprof_heap_purge(void)
{
    if (!cprof__je_linked())
        return -ENOTSUP;
    mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    return mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0 ? 0 : -EIO;
}

/* Go's scaleHeapSample: the un-sampled estimate of count objects totalling
 * size bytes, recorded with mean sampling interval rate. */
static void unsample(uint64_t count, uint64_t size, uint64_t rate, int64_t *c, int64_t *s)
{
    if (count == 0 || size == 0) {
        *c = 0;
        *s = 0;
        return;
    }
    if (rate <= 1) {
        *c = (int64_t)count;
        *s = (int64_t)size;
        return;
    }
    double avg = (double)size / (double)count;
    double scale = 1.0 / (1.0 - exp(-avg / (double)rate));
    *c = (int64_t)((double)count * scale);
    *s = (int64_t)((double)size * scale);
}

/* Reads the whole memfd. */
static int read_all(int fd, char **text, size_t *len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -errno;
    size_t n = (size_t)sb.st_size, got = 0;
    char *p = malloc(n + 1);
    if (!p)
        return -ENOMEM;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            return r < 0 ? -errno : -EIO;
        }
        got += (size_t)r;
    }
    p[got] = '\0';
    *text = p;
    *len = got;
    return 0;
}

static int dump(char **text, size_t *len)
{
    int fd = memfd_create("cprof-heap", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *p = path;
    int err = 0;
    if (mallctl("prof.dump", NULL, NULL, (void *)&p, sizeof(p)) != 0) {
        err = -EIO;
        goto out;
    }
    err = read_all(fd, text, len);
out:
    close(fd);
    return err;
}

int cprof_heap_snapshot(cprof_heap_t **out)
{
    *out = NULL;
    if (cprof_heap_unavailable())
        return -ENOTSUP;
    char *text = NULL;
    size_t len = 0;
    cprof_heap_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->time_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    int err = dump(&text, &len);
    if (err < 0)
        goto fail;
    if ((err = cprof__jeprof_parse(text, len, &h->dump)) < 0) {
        err = err == -ENOMEM ? err : -EIO;
        goto fail;
    }
    cprof__jeprof_t *d = &h->dump;
    h->samples = calloc(d->nsamples ? d->nsamples : 1, sizeof(*h->samples));
    if (!h->samples) {
        err = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < d->nsamples; i++) {
        const cprof__jeprof_sample_t *js = &d->samples[i];
        const uint64_t *pcs = d->frames + js->first_frame;
        size_t n = js->nframes;
        while (n > 0 && in_jemalloc(pcs[0])) {
            pcs++;
            n--;
        }
        cprof_heap_sample_t *s = &h->samples[h->nsamples];
        s->pcs = pcs;
        s->npcs = n;
        s->raw_alloc_objects = js->counts.acc_objs;
        s->raw_alloc_space = js->counts.acc_bytes;
        s->raw_inuse_objects = js->counts.cur_objs;
        s->raw_inuse_space = js->counts.cur_bytes;
        unsample(js->counts.acc_objs, js->counts.acc_bytes, d->period, &s->alloc_objects,
                 &s->alloc_space);
        unsample(js->counts.cur_objs, js->counts.cur_bytes, d->period, &s->inuse_objects,
                 &s->inuse_space);
        if (s->alloc_objects == 0 && s->alloc_space == 0 && s->inuse_objects == 0 &&
            s->inuse_space == 0)
            continue;
        h->nsamples++;
    }
    free(text);
    *out = h;
    return 0;
fail:
    free(text);
    cprof_heap_free(h);
    return err;
}

void cprof_heap_free(cprof_heap_t *h)
{
    if (!h)
        return;
    cprof__jeprof_destroy(&h->dump);
    free(h->samples);
    free(h);
}

size_t cprof_heap_count(const cprof_heap_t *h) { return h->nsamples; }

const cprof_heap_sample_t *cprof_heap_sample(const cprof_heap_t *h, size_t i)
{
    return i < h->nsamples ? &h->samples[i] : NULL;
}

uint64_t cprof_heap_period(const cprof_heap_t *h) { return h->dump.period; }

int64_t cprof_heap_time_ns(const cprof_heap_t *h) { return h->time_ns; }

void cprof_heap_totals(const cprof_heap_t *h, int64_t totals[4])
{
    memset(totals, 0, 4 * sizeof(int64_t));
    for (size_t i = 0; i < h->nsamples; i++) {
        totals[0] += h->samples[i].alloc_objects;
        totals[1] += h->samples[i].alloc_space;
        totals[2] += h->samples[i].inuse_objects;
        totals[3] += h->samples[i].inuse_space;
    }
}
