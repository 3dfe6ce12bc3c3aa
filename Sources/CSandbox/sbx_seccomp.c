// libseccomp, wrapped: Swift cannot call its variadic functions or use its
// action macros. The filter is compiled here, in the parent, before the clone.
#include "sbx.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int sbx_syscall_number(const char *name) {
    int number = seccomp_syscall_resolve_name(name);
    return number == __NR_SCMP_ERROR || number < 0 ? -1 : number;
}

int sbx_syscall_name(int number, char *buffer, size_t size) {
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    if (name == NULL) {
        return -1;
    }
    snprintf(buffer, size, "%s", name);
    free(name);
    return 0;
}

void sbx_seccomp_version(char *buffer, size_t size) {
    const struct scmp_version *version = seccomp_version();
    snprintf(buffer, size, "%u.%u.%u", version->major, version->minor, version->micro);
}

static uint32_t sbx_libseccomp_action(const struct sbx_rule *rule) {
    switch (rule->action) {
    case SBX_ACTION_ALLOW:
        return SCMP_ACT_ALLOW;
    case SBX_ACTION_ERRNO:
        return SCMP_ACT_ERRNO((uint32_t)rule->error);
    default:
        return SCMP_ACT_NOTIFY;
    }
}

static int sbx_add_rule(scmp_filter_ctx filter, const struct sbx_rule *rule) {
    struct scmp_arg_cmp checks[4];
    if (rule->check_count > 4) {
        return -EINVAL;
    }
    for (uint32_t i = 0; i < rule->check_count; i++) {
        const struct sbx_argument_check *check = &rule->checks[i];
        if (check->compare != SBX_COMPARE_MASKED_EQUAL || check->argument > 5) {
            return -EINVAL;
        }
        checks[i] = (struct scmp_arg_cmp){
            .arg = check->argument,
            .op = SCMP_CMP_MASKED_EQ,
            .datum_a = check->mask,
            .datum_b = check->value,
        };
    }
    int number = rule->syscall;
    if (rule->name != NULL) {
        number = seccomp_syscall_resolve_name(rule->name);
        if (number == __NR_SCMP_ERROR || number < 0) {
            return -ENOENT;
        }
    }
    return seccomp_rule_add_exact_array(filter, sbx_libseccomp_action(rule), number, rule->check_count, checks);
}

// Compiled programs are cached by FilterCache (Swift), keyed by the rules and
// libseccomp's version: change what this function adds to a filter, and change
// the key's tag there too.
int sbx_filter_compile(const struct sbx_rule *rules, size_t count, void **program,
                       size_t *length, long *failed_rule) {
    *failed_rule = -1;
    *program = NULL;
    *length = 0;
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_NOTIFY);
    if (filter == NULL) {
        return -ENOMEM;
    }
    // The children set no_new_privs themselves; a foreign architecture is killed
    // outright, so no 32-bit or x32 entry point can route around the rules.
    int result = seccomp_attr_set(filter, SCMP_FLTATR_CTL_NNP, 0);
    if (result == 0) {
        result = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    }
    for (size_t i = 0; result == 0 && i < count; i++) {
        result = sbx_add_rule(filter, &rules[i]);
        if (result != 0) {
            *failed_rule = (long)i;
        }
    }
    int fd = -1;
    if (result == 0) {
        fd = (int)syscall(SYS_memfd_create, "sbx-filter", MFD_CLOEXEC);
        result = fd < 0 ? -errno : seccomp_export_bpf(filter, fd);
    }
    if (result == 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        unsigned char *bytes = size > 0 ? malloc((size_t)size) : NULL;
        if (bytes == NULL) {
            result = size > 0 ? -ENOMEM : -EIO;
        } else if (pread(fd, bytes, (size_t)size, 0) != size) {
            free(bytes);
            result = -EIO;
        } else {
            *program = bytes;
            *length = (size_t)size;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    seccomp_release(filter);
    return result;
}

int sbx_notify_answer(int listener, int answer, int error, int *syscall_number, uint32_t *arch) {
    // The kernel may grow these structures; ask for their sizes once.
    static struct seccomp_notif_sizes sizes;
    static int have_sizes;
    if (!have_sizes) {
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
            return -errno;
        }
        have_sizes = 1;
    }
    unsigned char request_bytes[sizes.seccomp_notif > 256 ? sizes.seccomp_notif : 256];
    unsigned char response_bytes[sizes.seccomp_notif_resp > 64 ? sizes.seccomp_notif_resp : 64];
    memset(request_bytes, 0, sizeof request_bytes);
    memset(response_bytes, 0, sizeof response_bytes);
    struct seccomp_notif *request = (struct seccomp_notif *)request_bytes;
    struct seccomp_notif_resp *response = (struct seccomp_notif_resp *)response_bytes;
    while (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, request) != 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    *syscall_number = request->data.nr;
    *arch = request->data.arch;
    if (!answer) {
        return 0;
    }
    response->id = request->id;
    response->error = -error;
    response->val = 0;
    response->flags = 0;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, response) != 0) {
        return -errno;
    }
    return 0;
}

struct sbx_filter_job {
    pthread_t thread;
    struct sbx_rule *rules;
    char *names;
    size_t count;
    int result;
    void *program;
    size_t length;
    long failed_rule;
};

static void *sbx_filter_job_main(void *argument) {
    struct sbx_filter_job *job = argument;
    job->result = sbx_filter_compile(job->rules, job->count, &job->program, &job->length, &job->failed_rule);
    return NULL;
}

struct sbx_filter_job *sbx_filter_compile_start(const struct sbx_rule *rules, size_t count) {
    struct sbx_filter_job *job = calloc(1, sizeof *job);
    size_t names_size = 0;
    for (size_t i = 0; i < count; i++) {
        names_size += rules[i].name != NULL ? strlen(rules[i].name) + 1 : 0;
    }
    if (job == NULL || (job->rules = calloc(count ? count : 1, sizeof *rules)) == NULL ||
        (job->names = malloc(names_size ? names_size : 1)) == NULL) {
        if (job != NULL) {
            free(job->rules);
            free(job);
        }
        return NULL;
    }
    // The copy owns its names: the caller's strings may be gone before the thread runs.
    char *cursor = job->names;
    for (size_t i = 0; i < count; i++) {
        job->rules[i] = rules[i];
        if (rules[i].name != NULL) {
            size_t length = strlen(rules[i].name) + 1;
            memcpy(cursor, rules[i].name, length);
            job->rules[i].name = cursor;
            cursor += length;
        }
    }
    job->count = count;
    if (pthread_create(&job->thread, NULL, sbx_filter_job_main, job) != 0) {
        free(job->names);
        free(job->rules);
        free(job);
        return NULL;
    }
    return job;
}

int sbx_filter_compile_finish(struct sbx_filter_job *job, void **program, size_t *length, long *failed_rule) {
    pthread_join(job->thread, NULL);
    int result = job->result;
    *program = job->program;
    *length = job->length;
    *failed_rule = job->failed_rule;
    free(job->names);
    free(job->rules);
    free(job);
    return result;
}
