package fwinfer

/*
#include <stdint.h>
#include <fwinfer.h>
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime/cgo"
	"strconv"
	"unsafe"
)

// fwinferGoEvent is the streaming callback the C shim in fwinfer.go calls;
// handle is the cgo.Handle of the request's *streamState.  The event is
// opaque: it is read as the JSON fw_event_to_json makes of it.  A panic in
// the user's function must not unwind through C: it is recorded, generation
// is stopped, and the Go caller re-raises it.  (runtime.Goexit, e.g.
// t.FailNow, cannot be used in the callback: Go does not allow it in a call
// from C.)
//
//export fwinferGoEvent
func fwinferGoEvent(event *C.fw_event, handle C.uintptr_t) (ret C.int32_t) {
	state := cgo.Handle(handle).Value().(*streamState)
	if state.panicked || state.err != nil || event == nil {
		return 1
	}
	ev, err := state.readEvent(event)
	if err != nil {
		state.err = err
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
	keep := state.fn(ev)
	completed = true
	if keep {
		return 0
	}
	return 1
}

// readEvent renders the event with fw_event_to_json (buffer convention:
// a too small buffer gives ErrBufferTooSmall and the size needed) and
// decodes it.  It runs on the thread of the generating call, so
// fw_last_error is this call's.
func (s *streamState) readEvent(event *C.fw_event) (Event, error) {
	if len(s.buf) == 0 {
		s.buf = make([]byte, 512)
	}
	for {
		var n C.size_t
		st := C.fw_event_to_json(event, (*C.char)(unsafe.Pointer(&s.buf[0])), C.size_t(len(s.buf)), &n)
		if st == C.FW_E_BUFFER_TOO_SMALL && int(n) >= len(s.buf) {
			s.buf = make([]byte, int(n)+1)
			continue
		}
		if st != C.FW_OK {
			return Event{}, newError(st, C.GoString(C.fw_last_error()))
		}
		return decodeEvent(s.buf[:n])
	}
}

// f32 is a JSON number read as a float32 (parsed directly, so the library's
// shortest float32 text reads back exactly); null is NaN.
type f32 float32

func (f *f32) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = f32(math.NaN())
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 32)
	*f = f32(x)
	return err
}

// eventJSON is the object fw_event_to_json writes.
type eventJSON struct {
	Choice          int     `json:"choice"`
	Token           int32   `json:"token"`
	Text            string  `json:"text"`
	Logprob         *f32    `json:"logprob"`
	SamplingLogprob *f32    `json:"sampling_logprob"`
	FinishReason    *string `json:"finish_reason"`
	TopLogprobs     []struct {
		Token   int32 `json:"token"`
		Logprob f32   `json:"logprob"`
	} `json:"top_logprobs"`
}

func decodeEvent(b []byte) (Event, error) {
	var e eventJSON
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, &Error{Status: ErrInternal, Name: StatusString(ErrInternal),
			Message: "streaming event JSON: " + err.Error() + ": " + string(b)}
	}
	nan := float32(math.NaN())
	ev := Event{Choice: e.Choice, Token: e.Token, Text: e.Text, Logprob: nan,
		SamplingLogprob: nan, JSON: string(b)}
	if e.Logprob != nil {
		ev.Logprob = float32(*e.Logprob)
	}
	if e.SamplingLogprob != nil {
		ev.SamplingLogprob = float32(*e.SamplingLogprob)
	}
	if e.FinishReason != nil {
		ev.FinishReason = *e.FinishReason
	}
	if len(e.TopLogprobs) > 0 {
		ev.TopIDs = make([]int32, len(e.TopLogprobs))
		ev.TopLogprobs = make([]float32, len(e.TopLogprobs))
		for i, t := range e.TopLogprobs {
			ev.TopIDs[i], ev.TopLogprobs[i] = t.Token, float32(t.Logprob)
		}
	}
	return ev, nil
}
