//go:build windows

package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows Event Log API (wevtapi.dll); x/sys/windows does not wrap it.
var (
	modwevtapi            = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtSubscribe      = modwevtapi.NewProc("EvtSubscribe")
	procEvtNext           = modwevtapi.NewProc("EvtNext")
	procEvtRender         = modwevtapi.NewProc("EvtRender")
	procEvtClose          = modwevtapi.NewProc("EvtClose")
	procEvtCreateBookmark = modwevtapi.NewProc("EvtCreateBookmark")
	procEvtUpdateBookmark = modwevtapi.NewProc("EvtUpdateBookmark")
)

const (
	evtSubscribeToFutureEvents     = 1
	evtSubscribeStartAfterBookmark = 3
	evtRenderEventXML              = 1
	evtRenderBookmark              = 2
	// pollWait bounds one wait on the subscription's signal, so Next
	// notices a cancelled ctx.
	pollWait = 500 * time.Millisecond
)

type evtHandle uintptr

func evtClose(h evtHandle) {
	if h != 0 {
		procEvtClose.Call(uintptr(h))
	}
}

// platformSource is the Windows event log.
func platformSource() EventSource { return winSource{} }

type winSource struct{}

type winSubscription struct {
	sub      evtHandle
	signal   windows.Handle
	bookmark evtHandle
}

func (winSource) Subscribe(channel, query, bookmark string) (Subscription, error) {
	if err := modwevtapi.Load(); err != nil {
		return nil, fmt.Errorf("load wevtapi.dll: %w", err)
	}
	signal, err := windows.CreateEvent(nil, 1, 1, nil) // manual reset, signalled
	if err != nil {
		return nil, fmt.Errorf("CreateEvent: %w", err)
	}
	s := &winSubscription{signal: signal}
	var bmXML *uint16
	flags := uintptr(evtSubscribeToFutureEvents)
	if bookmark != "" {
		if bmXML, err = windows.UTF16PtrFromString(bookmark); err != nil {
			s.Close()
			return nil, err
		}
		flags = evtSubscribeStartAfterBookmark
	}
	h, _, callErr := procEvtCreateBookmark.Call(uintptr(unsafe.Pointer(bmXML)))
	if h == 0 {
		s.Close()
		return nil, fmt.Errorf("EvtCreateBookmark: %w", callErr)
	}
	s.bookmark = evtHandle(h)
	ch, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		s.Close()
		return nil, err
	}
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		s.Close()
		return nil, err
	}
	var bmArg uintptr
	if bookmark != "" {
		bmArg = uintptr(s.bookmark)
	}
	h, _, callErr = procEvtSubscribe.Call(0, uintptr(signal), uintptr(unsafe.Pointer(ch)), uintptr(unsafe.Pointer(q)),
		bmArg, 0, 0, flags)
	if h == 0 {
		s.Close()
		return nil, fmt.Errorf("EvtSubscribe %s: %w", channel, callErr)
	}
	s.sub = evtHandle(h)
	return s, nil
}

func (s *winSubscription) Next(ctx context.Context, max int) ([][]byte, string, error) {
	handles := make([]evtHandle, max)
	for {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		ev, err := windows.WaitForSingleObject(s.signal, uint32(pollWait/time.Millisecond))
		if err != nil {
			return nil, "", fmt.Errorf("WaitForSingleObject: %w", err)
		}
		if ev == uint32(windows.WAIT_TIMEOUT) {
			continue
		}
		var returned uint32
		ok, _, callErr := procEvtNext.Call(uintptr(s.sub), uintptr(len(handles)), uintptr(unsafe.Pointer(&handles[0])), 0, 0,
			uintptr(unsafe.Pointer(&returned)))
		if ok == 0 {
			if errors.Is(callErr, windows.ERROR_NO_MORE_ITEMS) {
				windows.ResetEvent(s.signal)
				continue
			}
			return nil, "", fmt.Errorf("EvtNext: %w", callErr)
		}
		out := make([][]byte, 0, returned)
		var renderErr error
		for _, h := range handles[:returned] {
			if renderErr == nil {
				var x string
				if x, renderErr = render(h, evtRenderEventXML); renderErr == nil {
					out = append(out, []byte(x))
					if r, _, e := procEvtUpdateBookmark.Call(uintptr(s.bookmark), uintptr(h)); r == 0 {
						renderErr = fmt.Errorf("EvtUpdateBookmark: %w", e)
					}
				}
			}
			evtClose(h)
		}
		if renderErr != nil {
			return nil, "", renderErr
		}
		bm, err := render(s.bookmark, evtRenderBookmark)
		if err != nil {
			return nil, "", err
		}
		return out, bm, nil
	}
}

// render returns EvtRender's XML for an event or a bookmark.
func render(h evtHandle, flags uintptr) (string, error) {
	buf := make([]uint16, 4096)
	for {
		var used, props uint32
		ok, _, callErr := procEvtRender.Call(0, uintptr(h), flags, uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])),
			uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
		if ok != 0 {
			return windows.UTF16ToString(buf[:used/2]), nil
		}
		if errors.Is(callErr, windows.ERROR_INSUFFICIENT_BUFFER) && used/2 > uint32(len(buf)) {
			buf = make([]uint16, used/2+1)
			continue
		}
		return "", fmt.Errorf("EvtRender: %w", callErr)
	}
}

func (s *winSubscription) Close() error {
	evtClose(s.sub)
	evtClose(s.bookmark)
	s.sub, s.bookmark = 0, 0
	if s.signal != 0 {
		windows.CloseHandle(s.signal)
		s.signal = 0
	}
	return nil
}
