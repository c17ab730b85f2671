package main

import "fmt"

// count writes n with its noun in the right number: "1 rule", "2 rules".
// The nouns the CLI counts all take a plain -s.
func count[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
