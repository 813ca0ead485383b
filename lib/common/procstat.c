/* Process readings from /proc/self and the allocator.
 *
 * /proc/self/stat gives CPU time, threads, start time (in clock ticks since
 * boot: the boot time comes from /proc/stat's btime, read once), virtual
 * size and RSS in one read; the comm field may hold spaces and parentheses,
 * so fields are counted from the last ')'. Open fds are the entries of
 * /proc/self/fd minus the directory's own descriptor. The fd limit is
 * getrlimit(RLIMIT_NOFILE), the same soft limit /proc/self/limits shows,
 * without parsing text.
 *
 * procstat_register adds the process_* families with one scrape hook that
 * reads everything once per scrape into a snapshot the value callbacks
 * read; the registry's mutex serializes hook and callbacks. */

#include "common/procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROCSTAT_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PROCSTAT_SANITIZER 1
#endif
#endif

#if defined(PROCSTAT_SANITIZER)
/* From <sanitizer/allocator_interface.h>, which GCC does not install; the
 * ASan and TSan runtimes both export it. */
size_t __sanitizer_get_current_allocated_bytes(void);
#elif defined(ORDERD_JEMALLOC)
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

/* Reads a small /proc file into buf (NUL-terminated); returns its length or
 * a negative errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static double boot_time;
static pthread_once_t boot_once = PTHREAD_ONCE_INIT;

static void read_boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            boot_time = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
}

/* Parses /proc/self/stat. Fields are numbered as in proc(5): 3 is the
 * state, right after the comm's closing parenthesis. */
static int read_stat(procstat_t *out)
{
    char buf[1024];
    ssize_t n = read_small("/proc/self/stat", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    p++;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0, threads = 0;
    char *save = NULL;
    int field = 3;
    for (char *tok = strtok_r(p, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
        unsigned long long v = strtoull(tok, NULL, 10);
        switch (field) {
        case 14: utime = v; break;
        case 15: stime = v; break;
        case 20: threads = v; break;
        case 22: start = v; break;
        case 23: vsize = v; break;
        case 24: rss = v; break;
        }
        if (field == 24)
            break;
    }
    if (field != 24)
        return -EIO;
    pthread_once(&boot_once, read_boot_time);
    out->cpu_seconds = (double)(utime + stime) / (double)tck;
    out->threads = (int64_t)threads;
    out->start_time_seconds = boot_time + (double)start / (double)tck;
    out->vsize_bytes = vsize;
    out->rss_bytes = rss * (uint64_t)page;
    return 0;
}

int64_t procstat_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* minus the directory's own fd */
}

int procstat_read(procstat_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = read_stat(out);
    /* CLOCK_PROCESS_CPUTIME_ID is exact where /proc counts whole ticks. */
    out->cpu_seconds = (double)clock_process_cpu_ns() / 1e9;
    int64_t fds = procstat_open_fds();
    if (fds >= 0)
        out->open_fds = fds;
    else if (!rc)
        rc = (int)fds;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
    return rc;
}

int procstat_rss_threads(uint64_t *rss_bytes, int64_t *threads)
{
    procstat_t st = {0};
    int rc = read_stat(&st);
    *rss_bytes = st.rss_bytes;
    *threads = st.threads;
    return rc;
}

int procstat_heap(procstat_heap_t *out)
{
    memset(out, 0, sizeof(*out));
#if defined(PROCSTAT_SANITIZER)
    out->inuse_bytes = __sanitizer_get_current_allocated_bytes();
    out->source = "sanitizer";
    return 0;
#elif defined(ORDERD_JEMALLOC)
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0)
        return -ENOTSUP;
    size_t allocated = 0, mapped = 0, resident = 0;
    sz = sizeof(size_t);
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
        return -ENOTSUP;
    mallctl("stats.mapped", &mapped, &sz, NULL, 0);
    mallctl("stats.resident", &resident, &sz, NULL, 0);
    out->inuse_bytes = allocated;
    out->mapped_bytes = mapped;
    out->resident_bytes = resident;
    /* Requests served from thread caches are merged into these on each
     * epoch refresh and cache flush, so the count may trail slightly. */
    uint64_t small = 0, large = 0;
    sz = sizeof(uint64_t);
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%d.small.nrequests", MALLCTL_ARENAS_ALL);
    int rs = mallctl(name, &small, &sz, NULL, 0);
    snprintf(name, sizeof(name), "stats.arenas.%d.large.nrequests", MALLCTL_ARENAS_ALL);
    int rl = mallctl(name, &large, &sz, NULL, 0);
    out->allocations = small + large;
    out->has_allocations = rs == 0 && rl == 0;
    out->source = "jemalloc";
    return 0;
#else
    struct mallinfo2 mi = mallinfo2();
    out->inuse_bytes = mi.uordblks + mi.hblkhd;
    out->mapped_bytes = mi.arena + mi.hblkhd;
    out->source = "glibc";
    return 0;
#endif
}

/* ---- process_* metrics --------------------------------------------------- */

typedef struct snap {
    procstat_t st;
} snap_t;

static void scrape(void *arg) { procstat_read(&((snap_t *)arg)->st); }

#define FIELD_FN(name, expr)                                                                       \
    static double name(void *arg)                                                                  \
    {                                                                                              \
        const procstat_t *st = &((snap_t *)arg)->st;                                               \
        return (double)(expr);                                                                     \
    }
FIELD_FN(cpu_fn, st->cpu_seconds)
FIELD_FN(rss_fn, st->rss_bytes)
FIELD_FN(vsize_fn, st->vsize_bytes)
FIELD_FN(fds_fn, st->open_fds)
FIELD_FN(max_fds_fn, st->max_fds)
FIELD_FN(start_fn, st->start_time_seconds)
FIELD_FN(threads_fn, st->threads)

int procstat_register(metrics_t *m)
{
    static const struct {
        metrics_type_t type;
        const char *name, *help;
        metrics_value_fn fn;
    } defs[] = {
        {METRICS_COUNTER, "process_cpu_seconds_total",
         "Total user and system CPU time spent in seconds.", cpu_fn},
        {METRICS_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.", rss_fn},
        {METRICS_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize_fn},
        {METRICS_GAUGE, "process_open_fds", "Number of open file descriptors.", fds_fn},
        {METRICS_GAUGE, "process_max_fds", "Maximum number of open file descriptors.", max_fds_fn},
        {METRICS_GAUGE, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", start_fn},
        {METRICS_GAUGE, "process_threads", "Number of OS threads in the process.", threads_fn},
    };
    snap_t *snap = NULL;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        metrics_family_t *f = defs[i].type == METRICS_COUNTER
                                  ? metrics_add_counter(m, defs[i].name, defs[i].help, NULL)
                                  : metrics_add_gauge(m, defs[i].name, defs[i].help, NULL);
        if (!f)
            return -EEXIST; /* registered twice: the first registration stays */
        if (!snap) {
            snap = xcalloc(1, sizeof(*snap)); /* owned by the registry */
            metrics_on_scrape(m, scrape, snap, free);
        }
        metrics_add_fn(f, NULL, defs[i].fn, snap);
    }
    return 0;
}
