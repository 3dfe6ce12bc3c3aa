package mathx

import "testing"

func TestAbs(t *testing.T) {
	if Abs(-3) != 3 || Abs(4) != 4 {
		t.Fatal("Abs is wrong")
	}
}

func TestMax(t *testing.T) {
	if Max(1, 2) != 2 || Max(5, 2) != 5 {
		t.Fatal("Max is wrong")
	}
}
