//go:build race

package workerman_test

// pmRaceBuild makes the process-manager tests build their program with the
// race detector when the tests themselves run with it.
const pmRaceBuild = true
