package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"crmwatch/event"
	"crmwatch/transport"
)

// A record is a header and one batch in the wire codec cwb/1:
//
//	length  uint32  payload bytes
//	crc     uint32  CRC-32C of the counts and the payload
//	counts  5 × uint32  events per level slot (verbose … critical)
//	payload
//
// The counts let the spool know what a segment holds without decoding it.
const headerBytes = 4 + 4 + 4*levelSlots

// maxRecordBytes bounds one record's payload (the transport splits batches
// at 512 KiB; a batch is rarely larger than a few MiB).
const maxRecordBytes = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Level slots: unknown counts with verbose (the first to go).
const levelSlots = 5

func levelSlot(l event.Level) int {
	switch {
	case l <= event.LevelVerbose:
		return 0
	case l >= event.LevelCritical:
		return 4
	}
	return int(l) - 1
}

var slotNames = [levelSlots]string{"verbose", "info", "warning", "error", "critical"}

func slotName(i int) string { return slotNames[i] }

type recordHeader struct {
	length uint32
	crc    uint32
	levels [levelSlots]int64
}

func encodeRecord(b event.Batch) ([]byte, [levelSlots]int64) {
	var levels [levelSlots]int64
	for i := range b.Events {
		levels[levelSlot(b.Events[i].Level)]++
	}
	payload := transport.EncodeBatch(b)
	rec := make([]byte, headerBytes, headerBytes+len(payload))
	h := recordHeader{length: uint32(len(payload)), levels: levels}
	putHeader(rec, h)
	rec = append(rec, payload...)
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], crcTable))
	return rec, levels
}

// putHeader writes h into the first headerBytes of dst.
func putHeader(dst []byte, h recordHeader) {
	binary.LittleEndian.PutUint32(dst[0:], h.length)
	binary.LittleEndian.PutUint32(dst[4:], h.crc)
	for i, n := range h.levels {
		binary.LittleEndian.PutUint32(dst[8+4*i:], uint32(n))
	}
}

var errCorrupt = errors.New("corrupt spool record")

// readRecord reads the next record of r; io.EOF at a clean end,
// errCorrupt at a cut or damaged one.
func readRecord(r io.Reader) (recordHeader, []byte, error) {
	var h recordHeader
	var hb [headerBytes]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return h, nil, io.EOF
		}
		return h, nil, errCorrupt
	}
	h.length = binary.LittleEndian.Uint32(hb[0:])
	h.crc = binary.LittleEndian.Uint32(hb[4:])
	if h.length > maxRecordBytes {
		return h, nil, errCorrupt
	}
	for i := range h.levels {
		h.levels[i] = int64(binary.LittleEndian.Uint32(hb[8+4*i:]))
	}
	payload := make([]byte, h.length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return h, nil, errCorrupt
	}
	c := crc32.Update(crc32.Checksum(hb[8:], crcTable), crcTable, payload)
	if c != h.crc {
		return h, nil, errCorrupt
	}
	return h, payload, nil
}

// scanSegment calls fn for each valid record and returns the bytes they
// take; reading stops at the first damaged record.
func scanSegment(path string, fn func(recordHeader, []byte)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var valid int64
	for {
		h, payload, err := readRecord(r)
		if err != nil {
			return valid, nil
		}
		fn(h, payload)
		valid += headerBytes + int64(h.length)
	}
}
