// Benchmark helper: compiles the allow-list of policies/seccomp/default.seccomp
// into BPF for bubblewrap's --seccomp, so both sandboxes pay for a comparable filter.
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: export-bpf PROFILE > filter.bpf\n");
        return 2;
    }
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    FILE *profile = fopen(argv[1], "r");
    if (filter == NULL || profile == NULL) {
        perror(argv[1]);
        return 1;
    }
    char line[8192];
    while (fgets(line, sizeof line, profile)) {
        if (strncmp(line, "allow ", 6) != 0) {
            continue;
        }
        for (char *name = strtok(line + 6, " \n"); name != NULL; name = strtok(NULL, " \n")) {
            int number = seccomp_syscall_resolve_name(name);
            if (number >= 0) {
                seccomp_rule_add(filter, SCMP_ACT_ALLOW, number, 0);
            }
        }
    }
    seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0);
    seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7E020000, 0));
    seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return seccomp_export_bpf(filter, 1) == 0 ? 0 : 1;
}
