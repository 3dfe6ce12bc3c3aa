// Package probe misbehaves on purpose: its test tries what untrusted code
// would try, so that the verdict shows each attempt contained.
package probe

// Answer is what the test checks, to have something real to cover.
func Answer() int { return 42 }
