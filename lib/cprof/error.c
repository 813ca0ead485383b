/* cprof_strerror: static descriptions, so it is async-signal-safe (strerror
 * is not: it may format into a shared buffer for unknown values). */

#include "cprof.h"

#include <errno.h>

const char *cprof_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ENOMEM: return "out of memory";
    case EBUSY: return "a profile of this kind is already running";
    case EBADMSG: return "malformed profile data";
    case EIO: return "input/output error";
    case ENOTSUP: return "not supported in this process";
    case ENOENT: return "not found";
    case ECANCELED: return "canceled";
    case EAGAIN: return "resource temporarily unavailable";
    case EPERM: return "operation not permitted";
    case ESRCH: return "no such thread";
    case ERANGE: return "value out of range";
    case EEXIST: return "already exists";
    case ETIMEDOUT: return "timed out";
    case EMFILE: return "too many open files";
    default: return "unknown error";
    }
}
