package probe

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestMisbehaves(t *testing.T) {
	// A host secret: not in the sandbox.
	if data, err := os.ReadFile("/etc/shadow"); err == nil {
		t.Logf("read %d bytes of /etc/shadow", len(data))
	}
	// Attach to init: refused by the filter, and counted.
	_ = syscall.PtraceAttach(1)
	// Flood the output past the step's limit.
	line := strings.Repeat("x", 1023) + "\n"
	for i := 0; i < 64*1024; i++ {
		os.Stdout.WriteString(line)
	}
	if Answer() != 42 {
		t.Fatal("wrong answer")
	}
}
