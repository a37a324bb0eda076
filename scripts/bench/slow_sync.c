/* A slow disk's syncs, for benchmarks: preloaded into a process (LD_PRELOAD), it makes every
 * fsync and fdatasync wait SLOW_SYNC_US microseconds (default 5000) before the real call, as
 * a network or cloud volume's flush does, while the data still goes to this machine's disk.
 *
 *   cc -O2 -shared -fPIC -o slow_sync.so scripts/bench/slow_sync.c -ldl
 *   SLOW_SYNC_US=5000 LD_PRELOAD=$PWD/slow_sync.so outpost run --config ...
 *
 * Only calls through the C library are delayed (SQLite's and the agent's own are). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

static void wait_like_a_slow_disk(void) {
    const char *setting = getenv("SLOW_SYNC_US");
    long micros = setting ? atol(setting) : 5000;
    struct timespec left = {micros / 1000000, (micros % 1000000) * 1000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    wait_like_a_slow_disk();
    return real(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    wait_like_a_slow_disk();
    return real(fd);
}
