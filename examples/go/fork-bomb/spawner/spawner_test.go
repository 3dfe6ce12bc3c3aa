package spawner

import "testing"

func TestSpawnsWithoutEnd(t *testing.T) {
	started, err := Spawn(100000)
	if err != nil {
		t.Fatalf("refused after %d processes: %v", started, err)
	}
}
