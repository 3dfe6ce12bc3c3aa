// The C side of `sandbox`: libseccomp calls, and the code that runs between
// clone and exec. Every symbol carries the `sbx_` prefix.
//
// Nothing in the spawn path allocates, takes a lock or touches stdio: the parent
// prepares every string and buffer before the clone, and the children make raw
// system calls only.
#ifndef SBX_H
#define SBX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Seccomp

/// What a filter rule does when it matches.
enum sbx_action {
    /// Let the call through.
    SBX_ACTION_ALLOW = 0,
    /// Hand the call to the supervisor, which counts it and answers EPERM.
    SBX_ACTION_NOTIFY = 1,
    /// Fail the call with the rule's errno, uncounted (clone3 answers ENOSYS).
    SBX_ACTION_ERRNO = 2,
};

/// How an argument is compared.
enum sbx_compare {
    /// `(arg & mask) == value`
    SBX_COMPARE_MASKED_EQUAL = 0,
};

/// One argument comparison of a rule.
struct sbx_argument_check {
    uint32_t argument;
    uint32_t compare;
    uint64_t mask;
    uint64_t value;
};

/// One rule: every check must hold for the rule to match.
struct sbx_rule {
    /// The system call by name (resolved for this architecture), or NULL to use `syscall`.
    const char *name;
    int32_t syscall;
    uint32_t action;
    int32_t error;
    uint32_t check_count;
    struct sbx_argument_check checks[4];
};

/// The native system-call number of `name`, or -1 when this architecture has none.
int sbx_syscall_number(const char *name);

/// Writes the name of native system call `number` into `buffer`; returns 0 or -1.
int sbx_syscall_name(int number, char *buffer, size_t size);

/// Compiles `rules` over a default of SBX_ACTION_NOTIFY (a rule whose name this
/// architecture does not know fails the compilation with -ENOENT) into classic BPF for this
/// architecture (other architectures are killed). On success returns 0 and
/// stores a malloc'd program in `*program`, its length in bytes in `*length`.
/// On failure returns a negative errno and stores the failing rule's index
/// in `*failed_rule` (-1 when no single rule failed).
int sbx_filter_compile(const struct sbx_rule *rules, size_t count, void **program,
                       size_t *length, long *failed_rule);

/// A compilation running on a thread of its own, so the supervisor's other
/// preparations overlap it.
struct sbx_filter_job;

/// Starts sbx_filter_compile on a new thread with a copy of `rules` (their names
/// included). Returns NULL when no thread could be started.
struct sbx_filter_job *sbx_filter_compile_start(const struct sbx_rule *rules, size_t count);

/// Waits for the job, frees it, and returns what sbx_filter_compile returned.
int sbx_filter_compile_finish(struct sbx_filter_job *job, void **program, size_t *length, long *failed_rule);

/// The version of the libseccomp this was linked against, as "major.minor.micro".
void sbx_seccomp_version(char *buffer, size_t size);

/// Receives one notification from `listener` and, when `answer` is non-zero,
/// answers it with `-error`; unanswered, the caller stays blocked in the call.
/// Stores the system-call number and the audit architecture. Returns 0, or a
/// negative errno (-ENOENT when the caller went away before the answer).
int sbx_notify_answer(int listener, int answer, int error, int *syscall, uint32_t *arch);

// MARK: - Small wrappers Swift cannot reach

/// pipe2(fds, O_CLOEXEC); returns 0 or -1 with errno set.
int sbx_pipe(int fds[2]);

/// mkostemp(template, O_CLOEXEC), which Swift's Glibc module does not export:
/// the file is close-on-exec from its creation. Returns the fd or -1 with errno set.
int sbx_make_temporary_file(char *template_path);

/// openat2(AT_FDCWD, path, flags | O_CLOEXEC, mode) refusing every symbolic link
/// on the way (RESOLVE_NO_SYMLINKS). Returns the descriptor or -1 with errno set.
int sbx_open_no_symlinks(const char *path, int flags, unsigned mode);

/// openat2(directory, path, flags | O_CLOEXEC, mode) that stays beneath
/// `directory` and refuses every symbolic link and mount crossing on the way.
/// Returns the descriptor or -1 with errno set.
int sbx_open_beneath(int directory, const char *path, int flags, unsigned mode);

/// An O_PATH descriptor of `path` (a directory when `directory` is non-zero),
/// refusing every symbolic link on the way.
int sbx_open_path_no_symlinks(const char *path, int directory);

/// Whether `path` exists inside the directory `root`, resolving every link as if
/// `root` were `/` (RESOLVE_IN_ROOT): links inside an untrusted tree are followed
/// but can never lead out of it. Returns 1, 0, or -1 with errno set.
int sbx_exists_in_root(const char *root, const char *path);

/// unshare(CLONE_NEWNS) and make every mount private: mounts made afterwards
/// vanish with the process. Only while single-threaded. Returns 0 or -errno, and
/// sets `*failed_mount` when the mount (not the unshare) was what failed.
int sbx_private_mount_namespace(int *failed_mount);

/// pidfd_open(pid, 0): a descriptor that becomes readable when `pid` exits.
int sbx_pidfd_open(pid_t pid);

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT on the calling thread and returns
/// a signalfd for them (close-on-exec, non-blocking), or a negative errno. The
/// previous mask is stored in `previous` (a sigset_t of `size` bytes).
int sbx_signal_relay_open(void *previous, size_t size);

/// Restores the mask saved by sbx_signal_relay_open.
void sbx_signal_relay_close(int fd, const void *previous);

/// Reads one signal number from a signalfd; returns it, or 0 when none is pending.
int sbx_signal_relay_next(int fd);

/// Starts a detached thread that writes its own thread id to `tasks_path`, the
/// v1 `tasks` file of the group this process is already in: a move to where it
/// already is, which costs the kernel an RCU grace period (cgroup_threadgroup_rwsem)
/// and leaves the next real attach fast. Returns 0 or a negative errno.
int sbx_cgroup_warm_attach(const char *tasks_path);

/// A thread that kills a sandbox at its wall-clock deadline even while the
/// supervisor's loop is blocked (a stalled reader of its output).
struct sbx_watchdog;

/// Starts a watchdog that sends SIGKILL through `pidfd` at `deadline_ns`
/// (CLOCK_MONOTONIC). Returns NULL when no thread could be started.
struct sbx_watchdog *sbx_watchdog_start(int pidfd, uint64_t deadline_ns);

/// Stops and frees the watchdog; returns non-zero when it had fired.
int sbx_watchdog_stop(struct sbx_watchdog *watchdog);

/// Receives one descriptor sent with SCM_RIGHTS on `socket`. Returns it
/// (close-on-exec), 0 when the peer closed without sending, or a negative errno.
int sbx_receive_descriptor(int socket);

// MARK: - Spawning

/// One step of building the new root, run in order by the sandbox's init.
enum sbx_operation_kind {
    /// mkdir(target, mode)
    SBX_OP_MKDIR = 1,
    /// Bind `source` (resolved by the supervisor; opened refusing every link) onto `target`.
    SBX_OP_BIND = 2,
    /// A tmpfs of `size` bytes and `mode` at `target`.
    SBX_OP_TMPFS = 3,
    /// A new procfs at `target`, for the new PID namespace.
    SBX_OP_PROC = 4,
    /// symlink(source, target)
    SBX_OP_SYMLINK = 5,
    /// Create `target` holding `size` bytes from `source`, with `mode`.
    SBX_OP_FILE = 6,
    /// Bind `target` onto itself read-only (parts of the new /proc); skipped when absent.
    SBX_OP_READ_ONLY = 7,
    /// Hide `target`, skipped when absent: a directory behind an empty read-only
    /// tmpfs, anything else behind `source` (the new root's /dev/null), read-only.
    SBX_OP_MASK = 8,
};

/// Flags of SBX_OP_BIND.
enum sbx_bind_flags {
    SBX_BIND_READ_ONLY = 1,
    /// Keep device nodes usable (the /dev entries); otherwise nodev.
    SBX_BIND_DEVICES = 2,
};

/// One operation of the root's construction.
struct sbx_operation {
    uint32_t kind;
    uint32_t flags;
    const char *source;
    const char *target;
    uint64_t size;
    uint32_t mode;
};

/// A resource limit applied to the command.
struct sbx_resource_limit {
    int32_t resource;
    uint64_t soft;
    uint64_t hard;
};

/// Everything the children need, prepared by the parent before the clone.
struct sbx_spawn_config {
    const struct sbx_operation *operations;
    size_t operation_count;
    /// Where the new root is assembled before pivot_root, e.g. "/tmp".
    const char *root;
    /// The command's working directory inside the new root.
    const char *working_directory;
    const char *hostname;
    /// The command: argv[0] is searched in `search_path` unless it holds a '/'.
    char *const *argv;
    char *const *envp;
    const char *search_path;
    /// Non-zero: a new network namespace with loopback up.
    int new_network;
    /// The unprivileged identity the command runs as, in its own user namespace.
    uint32_t uid;
    uint32_t gid;
    /// Non-zero when the supervisor may let init drop the supplementary groups it
    /// inherited (a root supervisor writes the gid map without "deny").
    int clear_groups;
    /// Where an empty tmpfs is mounted while the root is built, detached before it
    /// is entered: the second, empty layer of each read-only directory's overlay.
    const char *empty_layer;
    /// Non-zero: the sandbox's user namespace is made with this effective uid (the
    /// sandbox's host uid, when root supervises), so that the kernel charges what the
    /// sandbox holds in per-user budgets to that uid, not to host root.
    uint32_t namespace_owner;
    /// Prepared "1000 0 1"-style lines for that innermost user namespace.
    const char *inner_uid_map;
    const char *inner_gid_map;
    const struct sbx_resource_limit *limits;
    size_t limit_count;
    /// The BPF program from sbx_filter_compile.
    const void *filter;
    size_t filter_length;
    /// Write ends of the output pipes.
    int stdout_fd;
    int stderr_fd;
    /// Write end of the failure pipe (struct sbx_failure records).
    int failure_fd;
    /// Write end of the status pipe (struct sbx_exit_record, written by init).
    int status_fd;
    /// A unix socket on which the seccomp listener is sent to the parent.
    int listener_socket;
    /// Read end of the start pipe: init waits for a byte before building the root
    /// (its user maps written), and for another before starting the command (it
    /// is in the step's cgroup by then).
    int start_fd;
    /// The supervisor's own argument strings, which /proc/1/cmdline would show
    /// inside (init is a copy of the supervisor): init clears its copy of them.
    char *argument_area;
    size_t argument_length;
};

/// The call a setup failure happened in: one stage per call, so that the
/// supervisor can name it (SandboxKernel maps each to `SandboxCall`).
enum sbx_stage {
    SBX_STAGE_DEATH_SIGNAL = 1,
    SBX_STAGE_DUMPABLE,
    SBX_STAGE_SETGROUPS,
    SBX_STAGE_SETRESGID,
    SBX_STAGE_SETRESUID,
    SBX_STAGE_HOSTNAME,
    SBX_STAGE_OPEN_SOURCE,
    SBX_STAGE_MOUNT_PRIVATE,
    SBX_STAGE_OPERATION,
    SBX_STAGE_ENTER_ROOT,
    SBX_STAGE_PIVOT_ROOT,
    SBX_STAGE_DETACH_OLD_ROOT,
    SBX_STAGE_CHDIR_ROOT,
    SBX_STAGE_ROOT_READ_ONLY,
    SBX_STAGE_CLOSE_INHERITED,
    SBX_STAGE_LOOPBACK,
    SBX_STAGE_CGROUP_NAMESPACE,
    SBX_STAGE_SIGNALS,
    SBX_STAGE_FORK,
    SBX_STAGE_SESSION,
    SBX_STAGE_OPEN_NULL,
    SBX_STAGE_DUP_STDIO,
    SBX_STAGE_CHDIR,
    SBX_STAGE_RLIMIT,
    SBX_STAGE_UNSHARE_USER,
    SBX_STAGE_UID_MAP,
    SBX_STAGE_SETGROUPS_DENY,
    SBX_STAGE_GID_MAP,
    SBX_STAGE_CAPABILITIES,
    SBX_STAGE_NO_NEW_PRIVS,
    SBX_STAGE_MOVE_DESCRIPTORS,
    SBX_STAGE_CLOSE_RANGE,
    SBX_STAGE_SECCOMP,
    SBX_STAGE_LISTENER,
    SBX_STAGE_NAMESPACE_LIMITS,
    SBX_STAGE_PRIVATE_INODES,
    SBX_STAGE_EXEC,
};

/// What a child writes on the failure pipe before it exits.
struct sbx_failure {
    int32_t stage;
    int32_t error;
    /// The operation index for SBX_STAGE_OPERATION and SBX_STAGE_OPEN_SOURCE, the
    /// resource for SBX_STAGE_RLIMIT, the descriptor for SBX_STAGE_DUP_STDIO.
    int32_t detail;
};

/// What init writes on the status pipe when the command has ended.
struct sbx_exit_record {
    int32_t wait_status;
};

/// Clones the sandbox's init into new user, mount, PID, IPC, UTS (and network)
/// namespaces. Call from the thread that outlives the sandbox: init dies with it.
/// Returns init's pid, or a negative errno.
pid_t sbx_spawn(const struct sbx_spawn_config *config);

#ifdef __cplusplus
}
#endif

#endif
