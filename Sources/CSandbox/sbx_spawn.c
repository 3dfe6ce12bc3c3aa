// The sandbox's init and the command's last steps before exec.
//
// Everything below sbx_spawn runs in a child of a multithreaded Swift process,
// so it makes raw system calls only: no malloc, no stdio, no locks. Every
// string it uses was prepared by the parent.
#include "sbx.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// MARK: - Raw helpers (child side only)

static size_t sbx_length(const char *text) {
    size_t n = 0;
    while (text[n] != '\0') {
        n++;
    }
    return n;
}

static int sbx_write_all(int fd, const void *bytes, size_t length) {
    const char *cursor = bytes;
    while (length > 0) {
        ssize_t written = write(fd, cursor, length);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        cursor += written;
        length -= (size_t)written;
    }
    return 0;
}

/// Reports a failed stage to the parent and ends this child.
static void sbx_fail(const struct sbx_spawn_config *config, int stage, int error, int detail) {
    struct sbx_failure failure = {.stage = stage, .error = error, .detail = detail};
    (void)sbx_write_all(config->failure_fd, &failure, sizeof failure);
    _exit(125);
}

static int sbx_write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int result = sbx_write_all(fd, text, sbx_length(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

// MARK: - Building the root

static int sbx_remount_bind(const char *target, uint32_t bind_flags);

/// `source` is a detached copy of the source mount (open_tree, made by a root
/// supervisor) to move onto the target, or else an O_PATH descriptor of the source
/// in this mount namespace, to bind from.
static int sbx_bind(const struct sbx_operation *op, int source, int detached) {
    if (detached) {
        if (syscall(SYS_move_mount, source, "", AT_FDCWD, op->target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
            return -1;
        }
        return sbx_remount_bind(op->target, op->flags);
    }
    char proc_path[64] = "/proc/self/fd/";
    char digits[16];
    int n = 0;
    for (int value = source; value > 0 || n == 0; value /= 10) {
        digits[n++] = (char)('0' + value % 10);
    }
    size_t at = sbx_length(proc_path);
    while (n > 0) {
        proc_path[at++] = digits[--n];
    }
    proc_path[at] = '\0';
    if (mount(proc_path, op->target, NULL, MS_BIND, NULL) != 0) {
        return -1;
    }
    return sbx_remount_bind(op->target, op->flags);
}

/// Remounts the bind at `target` nosuid, and read-only and nodev as `bind_flags`
/// say, keeping the flags the kernel locked on its source mount; a read-only
/// bind that did not become read-only is a failure.
static int sbx_remount_bind(const char *target, uint32_t bind_flags) {
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID;
    if (!(bind_flags & SBX_BIND_DEVICES)) {
        flags |= MS_NODEV;
    }
    if (bind_flags & SBX_BIND_READ_ONLY) {
        flags |= MS_RDONLY;
    }
    // A remount must keep the flags the kernel locked on the source mount.
    struct statfs current;
    if (statfs(target, &current) != 0) {
        return -1;
    }
    if (current.f_flags & ST_NOEXEC) {
        flags |= MS_NOEXEC;
    }
    if (current.f_flags & ST_NODEV) {
        flags |= MS_NODEV;
    }
    // A source read-only on the host stays so, even where the bind may write: a
    // detached copy (open_tree) carries no locked flags to refuse the remount.
    if (current.f_flags & ST_RDONLY) {
        flags |= MS_RDONLY;
    }
    if (current.f_flags & ST_NOATIME) {
        flags |= MS_NOATIME;
    }
    if (current.f_flags & ST_RELATIME) {
        flags |= MS_RELATIME;
    }
    if (mount(NULL, target, NULL, flags, NULL) != 0) {
        return -1;
    }
    // Verify: a read-only bind that is not read-only is a failure, not a warning.
    if ((bind_flags & SBX_BIND_READ_ONLY) &&
        (statfs(target, &current) != 0 || !(current.f_flags & ST_RDONLY))) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static int sbx_tmpfs(const struct sbx_operation *op) {
    // "size=<bytes>,mode=<octal>" without snprintf.
    char options[96] = "size=";
    size_t at = sbx_length(options);
    char digits[24];
    int n = 0;
    uint64_t size = op->size;
    do {
        digits[n++] = (char)('0' + size % 10);
        size /= 10;
    } while (size > 0);
    while (n > 0) {
        options[at++] = digits[--n];
    }
    const char *mode_key = ",mode=";
    for (size_t i = 0; mode_key[i] != '\0'; i++) {
        options[at++] = mode_key[i];
    }
    uint32_t mode = op->mode & 07777;
    for (int shift = 9; shift >= 0; shift -= 3) {
        options[at++] = (char)('0' + ((mode >> shift) & 7));
    }
    options[at] = '\0';
    return mount("tmpfs", op->target, "tmpfs", MS_NOSUID | MS_NODEV, options);
}

static int sbx_file(const struct sbx_operation *op) {
    int fd = open(op->target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op->mode);
    if (fd < 0) {
        return -1;
    }
    int result = op->size > 0 ? sbx_write_all(fd, op->source, op->size) : 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

static int sbx_read_only(const struct sbx_operation *op) {
    if (mount(op->target, op->target, NULL, MS_BIND | MS_REC, NULL) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return mount(NULL, op->target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static int sbx_mask(const struct sbx_operation *op) {
    struct stat info;
    if (lstat(op->target, &info) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    if (S_ISDIR(info.st_mode)) {
        return mount("tmpfs", op->target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4096,mode=0555");
    }
    if (mount(op->source, op->target, NULL, MS_BIND, NULL) != 0) {
        return -1;
    }
    return sbx_remount_bind(op->target, SBX_BIND_READ_ONLY | SBX_BIND_DEVICES);
}

static int sbx_run_operation(const struct sbx_operation *op, int source, int detached) {
    switch (op->kind) {
    case SBX_OP_MKDIR:
        return mkdir(op->target, op->mode);
    case SBX_OP_BIND:
        return sbx_bind(op, source, detached);
    case SBX_OP_TMPFS:
        return sbx_tmpfs(op);
    case SBX_OP_PROC:
        return mount("proc", op->target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    case SBX_OP_SYMLINK:
        return symlink(op->source, op->target);
    case SBX_OP_FILE:
        return sbx_file(op);
    case SBX_OP_READ_ONLY:
        return sbx_read_only(op);
    case SBX_OP_MASK:
        return sbx_mask(op);
    default:
        errno = EINVAL;
        return -1;
    }
}

static int sbx_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_name[0] = 'l';
    request.ifr_name[1] = 'o';
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    if (result == 0) {
        request.ifr_flags |= IFF_UP;
        result = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

// MARK: - The command

static void sbx_exec_search(const struct sbx_spawn_config *config) {
    const char *command = config->argv[0];
    for (const char *c = command; *c != '\0'; c++) {
        if (*c == '/') {
            execve(command, config->argv, config->envp);
            return;
        }
    }
    char candidate[4096];
    size_t command_length = sbx_length(command);
    int first_error = ENOENT;
    const char *entry = config->search_path;
    while (entry != NULL && *entry != '\0') {
        const char *end = entry;
        while (*end != '\0' && *end != ':') {
            end++;
        }
        size_t directory_length = (size_t)(end - entry);
        if (directory_length > 0 && directory_length + command_length + 2 <= sizeof candidate) {
            memcpy(candidate, entry, directory_length);
            candidate[directory_length] = '/';
            memcpy(candidate + directory_length + 1, command, command_length + 1);
            execve(candidate, config->argv, config->envp);
            if (errno != ENOENT && errno != ENOTDIR) {
                first_error = first_error == ENOENT ? errno : first_error;
            }
        }
        entry = *end == ':' ? end + 1 : end;
    }
    errno = first_error;
}

static int sbx_send_listener(int socket_fd, int listener) {
    char byte = 'L';
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {
        .msg_iov = &vector,
        .msg_iovlen = 1,
        .msg_control = control.buffer,
        .msg_controllen = sizeof control.buffer,
    };
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &listener, sizeof(int));
    return sendmsg(socket_fd, &message, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int sbx_drop_capabilities(void) {
    for (int capability = 0; capability <= 63; capability++) {
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) {
            return -1;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        return -1;
    }
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return (int)syscall(SYS_capset, &header, data);
}

/// Runs in the command's process, forked by init: the last steps before exec.
static void sbx_command(const struct sbx_spawn_config *config) {
    // A clean slate of signals: nothing the supervisor blocked or ignored carries over.
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        if (signal_number != SIGKILL && signal_number != SIGSTOP) {
            signal(signal_number, SIG_DFL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) {
        sbx_fail(config, SBX_STAGE_SIGNALS, errno, 0);
    }
    // A new session and no terminal: nothing can push keystrokes anywhere.
    if (setsid() < 0) {
        sbx_fail(config, SBX_STAGE_SESSION, errno, 0);
    }
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
        sbx_fail(config, SBX_STAGE_OPEN_NULL, errno, 0);
    }
    int stdio[] = {null_fd, config->stdout_fd, config->stderr_fd};
    for (int target = 0; target < 3; target++) {
        if (dup2(stdio[target], target) < 0) {
            sbx_fail(config, SBX_STAGE_DUP_STDIO, errno, target);
        }
    }
    if (chdir(config->working_directory) != 0) {
        sbx_fail(config, SBX_STAGE_CHDIR, errno, 0);
    }
    for (size_t i = 0; i < config->limit_count; i++) {
        const struct sbx_resource_limit *limit = &config->limits[i];
        struct rlimit value = {.rlim_cur = limit->soft, .rlim_max = limit->hard};
        if (setrlimit(limit->resource, &value) != 0) {
            sbx_fail(config, SBX_STAGE_RLIMIT, errno, limit->resource);
        }
    }
    // A user namespace of its own, in which it is an ordinary user: it holds no
    // capability over the mounts, and cannot regain any by exec.
    // Init's memory map, and so this process's, belongs to the host's user namespace:
    // while not dumpable, /proc/self is the host root's and a rootless supervisor's
    // uid could not write the maps. Nothing untrusted runs yet; dumpable goes off again
    // right after.
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DUMPABLE, errno, 0);
    }
    if (unshare(CLONE_NEWUSER) != 0) {
        sbx_fail(config, SBX_STAGE_UNSHARE_USER, errno, 0);
    }
    if (sbx_write_file("/proc/self/uid_map", config->inner_uid_map) != 0) {
        sbx_fail(config, SBX_STAGE_UID_MAP, errno, 0);
    }
    if (sbx_write_file("/proc/self/setgroups", "deny") != 0) {
        sbx_fail(config, SBX_STAGE_SETGROUPS_DENY, errno, 0);
    }
    if (sbx_write_file("/proc/self/gid_map", config->inner_gid_map) != 0) {
        sbx_fail(config, SBX_STAGE_GID_MAP, errno, 0);
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DUMPABLE, errno, 0);
    }
    if (sbx_drop_capabilities() != 0) {
        sbx_fail(config, SBX_STAGE_CAPABILITIES, errno, 0);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_NO_NEW_PRIVS, errno, 0);
    }
    // Everything above 2 is closed, but for the failure pipe (close-on-exec), which
    // is moved to 3 first so a failed exec can still be reported.
    // Both are lifted above 9 first, so neither move overwrites the other.
    int failure_high = fcntl(config->failure_fd, F_DUPFD_CLOEXEC, 10);
    int listener_high = fcntl(config->listener_socket, F_DUPFD_CLOEXEC, 10);
    if (failure_high < 0 || listener_high < 0 || dup3(failure_high, 3, O_CLOEXEC) < 0) {
        sbx_fail(config, SBX_STAGE_MOVE_DESCRIPTORS, errno, 0);
    }
    struct sbx_spawn_config moved = *config;
    moved.failure_fd = 3;
    if (dup3(listener_high, 4, O_CLOEXEC) < 0) {
        sbx_fail(&moved, SBX_STAGE_MOVE_DESCRIPTORS, errno, 0);
    }
    if (syscall(SYS_close_range, 5, ~0U, 0) != 0) {
        sbx_fail(&moved, SBX_STAGE_CLOSE_RANGE, errno, 0);
    }
    // The filter goes on last. Its listener goes to the supervisor, which answers
    // every refused call and counts it by name.
    struct sock_fprog program = {
        .len = (unsigned short)(config->filter_length / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)config->filter,
    };
    int listener =
        (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
    if (listener < 0) {
        sbx_fail(&moved, SBX_STAGE_SECCOMP, errno, 0);
    }
    if (sbx_send_listener(4, listener) != 0) {
        sbx_fail(&moved, SBX_STAGE_LISTENER, errno, 0);
    }
    close(listener);
    close(4);
    sbx_exec_search(config);
    sbx_fail(&moved, SBX_STAGE_EXEC, errno, 0);
}

// MARK: - Init

/// A device node of this sandbox's own, for the host's character device `host`
/// (an O_PATH descriptor): made with the same device number in `*devices`, a
/// detached tmpfs of this spawn's own (made at the first device), and returned as
/// a detached copy to move in. A watch or a lock on it then sees this sandbox alone,
/// not the host's writes to its /dev/null. -1 where the kernel cannot (mknod needs
/// CAP_MKNOD, so root; a detached tmpfs, Linux 5.2), and the host's node is bound.
static int sbx_private_device(int host, const char *source, int *devices) {
    struct stat info;
    if (syscall(SYS_fstat, host, &info) != 0 || !S_ISCHR(info.st_mode)) {
        return -1;
    }
    const char *name = source;
    for (const char *c = source; *c != '\0'; c++) {
        if (*c == '/') {
            name = c + 1;
        }
    }
    if (*devices < 0) {
        int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0) {
            return -1;
        }
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "16k", 0) == 0 &&
            syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0) == 0 &&
            syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
            *devices = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        }
        close(fs);
        if (*devices < 0) {
            return -1;
        }
    }
    // 0666 whatever the supervisor's umask.
    if ((mknodat(*devices, name, S_IFCHR | 0666, info.st_rdev) != 0 && errno != EEXIST) ||
        fchmodat(*devices, name, 0666, 0) != 0) {
        return -1;
    }
    return (int)syscall(SYS_open_tree, *devices, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
}

/// Opens every bind source, refusing symbolic links on the way, with the
/// supervisor's credentials (the sandbox's own may not reach them), and before the
/// root's tmpfs could hide them (a workspace under /tmp). `detach`: in the supervisor
/// before the clone, as a detached copy of each source's mount (open_tree), since a
/// root supervisor's child is made with the sandbox's effective uid; else in init,
/// whose credentials are still the (unprivileged) supervisor's. A source that cannot
/// be opened is -1, its errno in `errors`, for init to report as its setup failure.
static void sbx_open_sources(const struct sbx_spawn_config *config, int *sources, int *errors, int detach) {
    int devices = -1;
    for (size_t i = 0; i < config->operation_count; i++) {
        sources[i] = -1;
        errors[i] = 0;
        if (config->operations[i].kind != SBX_OP_BIND) {
            continue;
        }
        struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
        int path = (int)syscall(SYS_openat2, AT_FDCWD, config->operations[i].source, &how, sizeof how);
        int device = -1;
        if (path >= 0 && detach && (config->operations[i].flags & SBX_BIND_DEVICES)) {
            device = sbx_private_device(path, config->operations[i].source, &devices);
        }
        if (device >= 0) {
            sources[i] = device;
            close(path);
        } else if (path >= 0 && detach) {
            sources[i] = (int)syscall(SYS_open_tree, path, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
            int error = errno;
            close(path);
            errno = error;
        } else {
            sources[i] = path;
        }
        if (sources[i] < 0) {
            errors[i] = errno;
        }
    }
    // The nodes' copies keep their tmpfs.
    if (devices >= 0) {
        close(devices);
    }
}

static void sbx_close_sources(const struct sbx_spawn_config *config, const int *sources) {
    for (size_t i = 0; i < config->operation_count; i++) {
        if (sources[i] >= 0) {
            close(sources[i]);
        }
    }
}

/// Covers the read-only directory bound at `target` with an overlay of it and an
/// empty layer: the sandbox then sees inodes of its own, so that a lock it takes
/// (flock, fcntl) or a watch it sets (inotify) on the host's files reaches neither
/// the host nor another sandbox. A path overlayfs would read as several layers or
/// options (',', ':' or '\\') is refused, as EINVAL.
static int sbx_private_inodes(const char *target, const char *empty, uint32_t bind_flags) {
    static const char prefix[] = "lowerdir=";
    size_t target_length = sbx_length(target);
    size_t empty_length = sbx_length(empty);
    char options[sizeof prefix + target_length + 1 + empty_length + 1];
    size_t at = 0;
    for (size_t i = 0; prefix[i] != '\0'; i++) {
        options[at++] = prefix[i];
    }
    const char *layers[] = {target, empty};
    for (size_t layer = 0; layer < 2; layer++) {
        for (const char *c = layers[layer]; *c != '\0'; c++) {
            if (*c == ',' || *c == ':' || *c == '\\') {
                errno = EINVAL;
                return -1;
            }
            options[at++] = *c;
        }
        options[at++] = layer == 0 ? ':' : '\0';
    }
    unsigned long flags = MS_RDONLY | MS_NOSUID | (bind_flags & SBX_BIND_DEVICES ? 0 : MS_NODEV);
    // What the bind below keeps (noexec, from its host mount) the overlay keeps too.
    struct statfs below;
    if (statfs(target, &below) != 0) {
        return -1;
    }
    if (below.f_flags & ST_NOEXEC) {
        flags |= MS_NOEXEC;
    }
    return mount("overlay", target, "overlay", flags, options);
}

static int sbx_is_directory(int fd) {
    struct stat info;
    return fd >= 0 && syscall(SYS_fstat, fd, &info) == 0 && S_ISDIR(info.st_mode);
}

static void sbx_build_root(const struct sbx_spawn_config *config, const int *sources) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        sbx_fail(config, SBX_STAGE_MOUNT_PRIVATE, errno, 0);
    }
    int made_empty_layer = 0;
    for (size_t i = 0; i < config->operation_count; i++) {
        const struct sbx_operation *op = &config->operations[i];
        if (sbx_run_operation(op, sources[i], config->namespace_owner != 0) != 0) {
            sbx_fail(config, SBX_STAGE_OPERATION, errno, (int)i);
        }
        if (op->kind == SBX_OP_BIND && (op->flags & SBX_BIND_READ_ONLY) && sbx_is_directory(sources[i])) {
            // The empty layer is a tmpfs of its own, detached once the root is built:
            // the overlays keep it, and it never shows. (A removed directory would
            // not do: overlayfs cannot list a merged directory with a dead layer.)
            if (!made_empty_layer && (mkdir(config->empty_layer, 0755) != 0 ||
                                      mount("tmpfs", config->empty_layer, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                            "size=4096,mode=0555") != 0)) {
                sbx_fail(config, SBX_STAGE_PRIVATE_INODES, errno, (int)i);
            }
            made_empty_layer = 1;
            if (sbx_private_inodes(op->target, config->empty_layer, op->flags) != 0) {
                sbx_fail(config, SBX_STAGE_PRIVATE_INODES, errno, (int)i);
            }
        }
        if (sources[i] >= 0) {
            close(sources[i]);
        }
    }
    if (made_empty_layer && (umount2(config->empty_layer, MNT_DETACH) != 0 || rmdir(config->empty_layer) != 0)) {
        sbx_fail(config, SBX_STAGE_PRIVATE_INODES, errno, 0);
    }
    if (chdir(config->root) != 0) {
        sbx_fail(config, SBX_STAGE_ENTER_ROOT, errno, 0);
    }
    if (syscall(SYS_pivot_root, ".", ".") != 0) {
        sbx_fail(config, SBX_STAGE_PIVOT_ROOT, errno, 0);
    }
    if (umount2(".", MNT_DETACH) != 0) {
        sbx_fail(config, SBX_STAGE_DETACH_OLD_ROOT, errno, 0);
    }
    if (chdir("/") != 0) {
        sbx_fail(config, SBX_STAGE_CHDIR_ROOT, errno, 0);
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) {
        sbx_fail(config, SBX_STAGE_ROOT_READ_ONLY, errno, 0);
    }
}

/// Waits for the supervisor's next go-ahead byte. End of file means the
/// supervisor gave up (or died before the death signal was armed).
static int sbx_await_start(const struct sbx_spawn_config *config) {
    char go = 0;
    ssize_t got;
    do {
        got = read(config->start_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    return got == 1 && go == 'g' ? 0 : -1;
}

/// Closes every descriptor init inherited but for stdio and its own: another
/// sandbox's pipes, opened by a sibling thread of the supervisor, must not stay
/// open in this one for its whole life.
static int sbx_close_others(const struct sbx_spawn_config *config) {
    int keep[] = {2, config->start_fd, config->failure_fd, config->status_fd,
                  config->stdout_fd, config->stderr_fd, config->listener_socket};
    size_t count = sizeof keep / sizeof keep[0];
    for (size_t i = 1; i < count; i++) {
        for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int swap = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = swap;
        }
    }
    for (size_t i = 0; i < count; i++) {
        unsigned int from = (unsigned int)keep[i] + 1;
        unsigned int to = i + 1 < count ? (unsigned int)keep[i + 1] - 1 : ~0U;
        if (from <= to && syscall(SYS_close_range, from, to, 0) != 0) {
            return -1;
        }
    }
    return 0;
}

/// PID 1 of the sandbox: builds the root, starts the command, reaps, relays
/// signals, and reports the command's end. When it exits, the kernel kills
/// everything left in the PID namespace.
static void sbx_init(const struct sbx_spawn_config *config, int *sources, int *source_errors) {
    // Init's memory is a copy of the supervisor's, argument strings and all: the
    // host paths they name (the binary, the tree, --out) must not be /proc/1/cmdline.
    for (size_t i = 0; i < config->argument_length; i++) {
        ((volatile char *)config->argument_area)[i] = 0;
    }
    // Dies with the supervisor. The start byte closes the race in which the
    // supervisor died before the death signal was armed: then the read sees EOF.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DEATH_SIGNAL, errno, 0);
    }
    if (sbx_await_start(config) != 0) {
        _exit(125);
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DUMPABLE, errno, 0);
    }
    if (config->namespace_owner == 0) {
        sbx_open_sources(config, sources, source_errors, 0);
    }
    for (size_t i = 0; i < config->operation_count; i++) {
        if (source_errors[i] != 0) {
            sbx_fail(config, SBX_STAGE_OPEN_SOURCE, source_errors[i], (int)i);
        }
    }
    // Become the namespace's root, which the maps tie to the sandbox's host
    // identity; until now init still carried the supervisor's. Raw calls: glibc's
    // wrappers would try to reach threads that exist only in the parent.
    if (config->clear_groups && syscall(SYS_setgroups, 0, NULL) != 0) {
        sbx_fail(config, SBX_STAGE_SETGROUPS, errno, 0);
    }
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_SETRESGID, errno, 0);
    }
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_SETRESUID, errno, 0);
    }
    // A change of credentials clears the death signal and resets dumpable to the
    // host's fs.suid_dumpable: set both again. A supervisor that died in between
    // is caught by the next start byte, which never comes.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DEATH_SIGNAL, errno, 0);
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        sbx_fail(config, SBX_STAGE_DUMPABLE, errno, 0);
    }
    if (sethostname(config->hostname, sbx_length(config->hostname)) != 0) {
        sbx_fail(config, SBX_STAGE_HOSTNAME, errno, 0);
    }
    // inotify instances and watches are counted per user namespace and user, and
    // charged up to the user that made this namespace (the sandbox's own host uid
    // when root runs it, the user otherwise): this namespace's own limits, which
    // nothing inside can raise, bound what one step holds of that budget.
    static const char *const limits[][2] = {
        {"/proc/sys/user/max_inotify_instances", "32"},
        {"/proc/sys/user/max_inotify_watches", "8192"},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        // A kernel without inotify has neither the files nor the quota they bound.
        if (sbx_write_file(limits[i][0], limits[i][1]) != 0 && errno != ENOENT) {
            sbx_fail(config, SBX_STAGE_NAMESPACE_LIMITS, errno, (int)i);
        }
    }
    sbx_build_root(config, sources);
    if (sbx_close_others(config) != 0) {
        sbx_fail(config, SBX_STAGE_CLOSE_INHERITED, errno, 0);
    }
    if (config->new_network && sbx_loopback_up() != 0) {
        sbx_fail(config, SBX_STAGE_LOOPBACK, errno, 0);
    }
    // The supervisor places init in the step's cgroup while the root was being
    // built; nothing of the command runs before that is done.
    if (sbx_await_start(config) != 0) {
        _exit(125);
    }
    close(config->start_fd);
    if (unshare(CLONE_NEWCGROUP) != 0) {
        sbx_fail(config, SBX_STAGE_CGROUP_NAMESPACE, errno, 0);
    }
    sigset_t relayed;
    sigfillset(&relayed);
    if (sigprocmask(SIG_SETMASK, &relayed, NULL) != 0) {
        sbx_fail(config, SBX_STAGE_SIGNALS, errno, 0);
    }
    pid_t command = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (command < 0) {
        sbx_fail(config, SBX_STAGE_FORK, errno, 0);
    }
    if (command == 0) {
        sbx_command(config);
        _exit(127);
    }
    // Only the command holds the output pipes and the listener socket now.
    close(config->stdout_fd);
    close(config->stderr_fd);
    close(config->listener_socket);
    for (;;) {
        siginfo_t info;
        int signal_number = sigwaitinfo(&relayed, &info);
        if (signal_number < 0) {
            continue;
        }
        if (signal_number != SIGCHLD) {
            kill(command, signal_number);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t reaped = waitpid(-1, &status, WNOHANG);
            if (reaped <= 0) {
                break;
            }
            if (reaped == command) {
                struct sbx_exit_record record = {.wait_status = status};
                (void)sbx_write_all(config->status_fd, &record, sizeof record);
                _exit(0);
            }
        }
    }
}

pid_t sbx_spawn(const struct sbx_spawn_config *config) {
    unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (config->new_network) {
        flags |= CLONE_NEWNET;
    }
    // The new user namespace's owner is the effective uid that makes it, and the
    // kernel charges each per-user count (inotify, queued signals, message queues)
    // up the chain of owners: made as the sandbox's own host uid, none reaches host
    // root's. Raw calls change this thread's credentials only; the real and saved
    // uids stay root's, so the effective one can return. Changing it also clears
    // the process's dumpable flag, which is set back.
    int sources[config->operation_count + 1];
    int source_errors[config->operation_count + 1];
    for (size_t i = 0; i < config->operation_count; i++) {
        sources[i] = -1;
        source_errors[i] = 0;
    }
    if (config->namespace_owner != 0) {
        sbx_open_sources(config, sources, source_errors, 1);
    }
    // Dumpable is the process's, not the thread's: one spawn at a time changes and
    // restores it. SECBIT_NO_SETUID_FIXUP keeps this thread's capabilities while
    // its effective uid is the sandbox's, so that the namespace is made with
    // CAP_SYS_ADMIN, as hosts that confine unprivileged namespaces (AppArmor's
    // restrict_unprivileged_userns, Debian's unprivileged_userns_clone=0) require.
    static pthread_mutex_t owner_change = PTHREAD_MUTEX_INITIALIZER;
    int dumpable = 0;
    int securebits = -1;
    if (config->namespace_owner != 0) {
        pthread_mutex_lock(&owner_change);
        dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (securebits >= 0 && prctl(PR_SET_SECUREBITS, securebits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) != 0) {
            securebits = -1;
        }
        if (syscall(SYS_setresuid, -1, config->namespace_owner, -1) != 0) {
            int error = errno;
            if (securebits >= 0) {
                prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0);
            }
            pthread_mutex_unlock(&owner_change);
            sbx_close_sources(config, sources);
            return -error;
        }
    }
    // A fork-like clone: no new stack, the child returns here with a copy of memory.
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    int clone_error = errno;
    if (pid == 0) {
        // The supervisor's securebits again (its capabilities here are the new
        // namespace's, CAP_SETPCAP among them).
        if (securebits >= 0 && prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0) != 0) {
            _exit(125);
        }
        sbx_init(config, sources, source_errors);
        _exit(125);
    }
    if (config->namespace_owner != 0) {
        if (syscall(SYS_setresuid, -1, 0, -1) != 0) {
            // The supervisor cannot go on without root's effective uid.
            abort();
        }
        if (securebits >= 0) {
            prctl(PR_SET_SECUREBITS, securebits, 0, 0, 0);
        }
        // Only an ordinary dumpable process is made so again (not a setuid start's).
        if (dumpable == 1) {
            prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        }
        pthread_mutex_unlock(&owner_change);
    }
    sbx_close_sources(config, sources);
    return pid < 0 ? -clone_error : (pid_t)pid;
}
