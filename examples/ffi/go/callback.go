package fwinfer

/*
#include <stdint.h>
#include <fwinfer.h>
*/
import "C"

import "runtime/cgo"

// fwinferGoEvent is the streaming callback the C shim in fwinfer.go calls;
// handle is the cgo.Handle of the request's *streamState.  A panic in the
// user's function must not unwind through C: it is recorded, generation is
// stopped, and the Go caller re-raises it.  (runtime.Goexit, e.g. t.FailNow,
// cannot be used in the callback: Go does not allow it in a call from C.)
//
//export fwinferGoEvent
func fwinferGoEvent(event *C.fw_event, handle C.uintptr_t) (ret C.int32_t) {
	state := cgo.Handle(handle).Value().(*streamState)
	if state.panicked || event == nil {
		return 1
	}
	completed := false
	defer func() {
		if !completed {
			// recover() is nil for panic(nil) before Go 1.21; the
			// completed flag still tells a panic from a return.
			state.panicVal = recover()
			state.panicked = true
			ret = 1
		}
	}()
	keep := state.fn(eventFromC(event))
	completed = true
	if keep {
		return 0
	}
	return 1
}
