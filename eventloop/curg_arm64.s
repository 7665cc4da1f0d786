#include "textflag.h"

// func curg() uintptr
// returns the runtime's pointer to the calling goroutine, which the runtime
// keeps in register g (R28) on arm64.
TEXT ·curg(SB),NOSPLIT,$0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET
