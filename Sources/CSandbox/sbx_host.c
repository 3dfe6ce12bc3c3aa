// Small wrappers Swift cannot reach (GNU extensions, pthread-based helpers) and
// the supervisor's own host-side system calls. Nothing here runs in a sandbox.
#include "sbx.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int sbx_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int sbx_make_temporary_file(char *template_path) {
    return mkostemp(template_path, O_CLOEXEC);
}

int sbx_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int sbx_receive_descriptor(int socket_fd) {
    char byte;
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {
        .msg_iov = &vector,
        .msg_iovlen = 1,
        .msg_control = control.buffer,
        .msg_controllen = sizeof control.buffer,
    };
    ssize_t received;
    do {
        received = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        return -errno;
    }
    if (received == 0) {
        return 0;
    }
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS ||
        header->cmsg_len != CMSG_LEN(sizeof(int))) {
        return -EPROTO;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return fd;
}

int sbx_signal_relay_open(void *previous, size_t size) {
    if (size < sizeof(sigset_t)) {
        return -EINVAL;
    }
    sigset_t relayed;
    sigemptyset(&relayed);
    sigaddset(&relayed, SIGINT);
    sigaddset(&relayed, SIGTERM);
    sigaddset(&relayed, SIGHUP);
    sigaddset(&relayed, SIGQUIT);
    int result = pthread_sigmask(SIG_BLOCK, &relayed, (sigset_t *)previous);
    if (result != 0) {
        return -result;
    }
    int fd = signalfd(-1, &relayed, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        int saved = errno;
        pthread_sigmask(SIG_SETMASK, (const sigset_t *)previous, NULL);
        return -saved;
    }
    return fd;
}

void sbx_signal_relay_close(int fd, const void *previous) {
    close(fd);
    pthread_sigmask(SIG_SETMASK, (const sigset_t *)previous, NULL);
}

int sbx_signal_relay_next(int fd) {
    struct signalfd_siginfo info;
    ssize_t got = read(fd, &info, sizeof info);
    return got == (ssize_t)sizeof info ? (int)info.ssi_signo : 0;
}

static void *sbx_cgroup_warm_thread(void *argument) {
    char *path = argument;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        char digits[24];
        int length = snprintf(digits, sizeof digits, "%ld", (long)syscall(SYS_gettid));
        (void)!write(fd, digits, (size_t)length);
        close(fd);
    }
    free(path);
    return NULL;
}

int sbx_cgroup_warm_attach(const char *tasks_path) {
    char *path = strdup(tasks_path);
    if (path == NULL) {
        return -ENOMEM;
    }
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int result = pthread_create(&thread, &attributes, sbx_cgroup_warm_thread, path);
    pthread_attr_destroy(&attributes);
    if (result != 0) {
        free(path);
        return -result;
    }
    return 0;
}

struct sbx_watchdog {
    pthread_t thread;
    int pidfd;
    int stop;
    uint64_t deadline_ns;
    atomic_int fired;
};

static uint64_t sbx_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void *sbx_watchdog_main(void *argument) {
    struct sbx_watchdog *watchdog = argument;
    for (;;) {
        uint64_t now = sbx_monotonic_ns();
        if (now >= watchdog->deadline_ns) {
            atomic_store(&watchdog->fired, 1);
            syscall(SYS_pidfd_send_signal, watchdog->pidfd, SIGKILL, NULL, 0);
            return NULL;
        }
        uint64_t wait_ms = (watchdog->deadline_ns - now + 999999) / 1000000;
        struct pollfd stop = {.fd = watchdog->stop, .events = POLLIN};
        if (poll(&stop, 1, wait_ms > 60000 ? 60000 : (int)wait_ms) > 0) {
            return NULL;
        }
    }
}

struct sbx_watchdog *sbx_watchdog_start(int pidfd, uint64_t deadline_ns) {
    struct sbx_watchdog *watchdog = calloc(1, sizeof *watchdog);
    if (watchdog == NULL) {
        return NULL;
    }
    watchdog->pidfd = pidfd;
    watchdog->deadline_ns = deadline_ns;
    watchdog->stop = eventfd(0, EFD_CLOEXEC);
    if (watchdog->stop < 0 || pthread_create(&watchdog->thread, NULL, sbx_watchdog_main, watchdog) != 0) {
        if (watchdog->stop >= 0) {
            close(watchdog->stop);
        }
        free(watchdog);
        return NULL;
    }
    return watchdog;
}

int sbx_watchdog_stop(struct sbx_watchdog *watchdog) {
    uint64_t one = 1;
    (void)!write(watchdog->stop, &one, sizeof one);
    pthread_join(watchdog->thread, NULL);
    int fired = atomic_load(&watchdog->fired);
    close(watchdog->stop);
    free(watchdog);
    return fired;
}

int sbx_open_no_symlinks(const char *path, int flags, unsigned mode) {
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_NO_SYMLINKS,
    };
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}

int sbx_open_beneath(int directory, const char *path, int flags, unsigned mode) {
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    return (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
}

int sbx_open_path_no_symlinks(const char *path, int directory) {
    return sbx_open_no_symlinks(path, O_PATH | (directory ? O_DIRECTORY : 0), 0);
}

int sbx_exists_in_root(const char *root, const char *path) {
    int root_fd = sbx_open_no_symlinks(root, O_PATH | O_DIRECTORY, 0);
    if (root_fd < 0) {
        return -1;
    }
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    int saved = errno;
    close(root_fd);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    errno = saved;
    return saved == ENOENT || saved == ENOTDIR || saved == ELOOP || saved == EXDEV ? 0 : -1;
}

int sbx_private_mount_namespace(int *failed_mount) {
    *failed_mount = 0;
    if (unshare(CLONE_NEWNS) != 0) {
        return -errno;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        *failed_mount = 1;
        return -errno;
    }
    return 0;
}
