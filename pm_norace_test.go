//go:build !race

package workerman_test

const pmRaceBuild = false
