#include "textflag.h"

// func curg() uintptr
// returns the runtime's pointer to the calling goroutine (g), which the
// runtime keeps in thread-local storage on amd64.
TEXT ·curg(SB),NOSPLIT,$0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET
