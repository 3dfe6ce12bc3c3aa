// Package spawner starts processes without end, on purpose: its test shows the
// process limit holding, and the verdict naming it.
package spawner

import "os/exec"

// Spawn starts sleepers until one is refused, and returns how many ran.
func Spawn(limit int) (int, error) {
	for i := 0; i < limit; i++ {
		if err := exec.Command("/bin/sleep", "30").Start(); err != nil {
			return i, err
		}
	}
	return limit, nil
}
