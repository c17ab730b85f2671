//go:build windows

package perfcounters

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// pdh.dll entry points (Windows Vista and later).
var (
	modPDH                          = windows.NewLazySystemDLL("pdh.dll")
	procPdhOpenQueryW               = modPDH.NewProc("PdhOpenQueryW")
	procPdhAddEnglishCounterW       = modPDH.NewProc("PdhAddEnglishCounterW")
	procPdhCollectQueryData         = modPDH.NewProc("PdhCollectQueryData")
	procPdhGetFormattedCounterArray = modPDH.NewProc("PdhGetFormattedCounterArrayW")
	procPdhCloseQuery               = modPDH.NewProc("PdhCloseQuery")
)

// Format flags: a double, not capped at 100 (a % counter over several
// processors may exceed it).
const (
	pdhFmtDouble   = 0x00000200
	pdhFmtNoCap100 = 0x00008000
)

// pdhItemSize and the offsets are PDH_FMT_COUNTERVALUE_ITEM_DOUBLE's
// layout on both 386 and amd64: the name pointer, then CStatus at 8 and the
// double at 16 (the union holds a LONGLONG, so MSVC aligns it to 8).
const (
	pdhItemSize    = 24
	pdhStatusOff   = 8
	pdhValueOff    = 16
	errorSuccess   = 0
	maxArrayBuffer = 64 << 20
)

// dllPDH is pdhAPI over pdh.dll.
type dllPDH struct{}

func (dllPDH) OpenQuery() (uintptr, error) {
	var q uintptr
	r, _, _ := procPdhOpenQueryW.Call(0, 0, uintptr(unsafe.Pointer(&q)))
	if r != errorSuccess {
		return 0, &pdhError{"PdhOpenQueryW", uint32(r)}
	}
	return q, nil
}

func (dllPDH) AddEnglishCounter(query uintptr, path string) (uintptr, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var c uintptr
	r, _, _ := procPdhAddEnglishCounterW.Call(query, uintptr(unsafe.Pointer(p)), 0, uintptr(unsafe.Pointer(&c)))
	if r != errorSuccess {
		return 0, &pdhError{"PdhAddEnglishCounterW " + path, uint32(r)}
	}
	return c, nil
}

func (dllPDH) CollectQueryData(query uintptr) error {
	r, _, _ := procPdhCollectQueryData.Call(query)
	if r != errorSuccess {
		return &pdhError{"PdhCollectQueryData", uint32(r)}
	}
	return nil
}

func (dllPDH) FormattedArray(counter uintptr) ([]pdhItem, error) {
	var size, count uint32
	r, _, _ := procPdhGetFormattedCounterArray.Call(counter, pdhFmtDouble|pdhFmtNoCap100,
		uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&count)), 0)
	switch {
	case r == errorSuccess:
		return nil, nil // no instances right now
	case r != pdhMoreData:
		return nil, &pdhError{"PdhGetFormattedCounterArrayW", uint32(r)}
	}
	if size == 0 || size > maxArrayBuffer {
		return nil, &pdhError{"PdhGetFormattedCounterArrayW (buffer size)", uint32(r)}
	}
	// A []uint64 keeps the buffer 8-byte aligned for the doubles in it.
	buf := make([]uint64, (size+7)/8)
	base := unsafe.Pointer(&buf[0])
	r, _, _ = procPdhGetFormattedCounterArray.Call(counter, pdhFmtDouble|pdhFmtNoCap100,
		uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&count)), uintptr(base))
	if r != errorSuccess {
		return nil, &pdhError{"PdhGetFormattedCounterArrayW", uint32(r)}
	}
	if uint64(count)*pdhItemSize > uint64(len(buf))*8 {
		return nil, &pdhError{"PdhGetFormattedCounterArrayW (item count)", uint32(r)}
	}
	items := make([]pdhItem, count)
	for i := range items {
		at := unsafe.Add(base, i*pdhItemSize)
		items[i] = pdhItem{
			Name:   windows.UTF16PtrToString(*(**uint16)(at)),
			Status: *(*uint32)(unsafe.Add(at, pdhStatusOff)),
			Value:  *(*float64)(unsafe.Add(at, pdhValueOff)),
		}
	}
	return items, nil
}

func (dllPDH) CloseQuery(query uintptr) error {
	r, _, _ := procPdhCloseQuery.Call(query)
	if r != errorSuccess {
		return &pdhError{"PdhCloseQuery", uint32(r)}
	}
	return nil
}

// nativeSource is PDH on Windows.
func nativeSource(name string) (SourceFunc, bool) {
	switch name {
	case SourceAuto, SourcePDH:
		return func() (Source, error) { return newPDHSource(dllPDH{}), nil }, true
	}
	return nil, false
}
