package transport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/event"
)

// Header names on every message.
const (
	// HeaderCodec names the payload encoding so it can change without
	// breaking agents of an older version.
	HeaderCodec = "Crmwatch-Codec"
	// HeaderHost is the real (unsanitised) host name.
	HeaderHost = "Crmwatch-Host"
	// codecJSON is what agents before the binary codec send (and what a
	// missing header means); servers keep decoding it.
	codecJSON = "json"
)

// Codecs a Publisher can write: CodecBinary (the default) or CodecJSON,
// which servers older than the binary codec understand.
const (
	CodecBinary = codecBinary
	CodecJSON   = codecJSON
)

// encodeBatch encodes b (events only or samples only) with codec.
func encodeBatch(codec string, b event.Batch) ([]byte, error) {
	if codec == codecBinary {
		return encodeBinary(b), nil
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode batch of host %q: %w", b.Host, err)
	}
	return data, nil
}

// decodeBatch decodes a message payload of the given codec.
func decodeBatch(codec string, data []byte) (event.Batch, error) {
	var b event.Batch
	switch codec {
	case codecJSON, "":
		if err := json.Unmarshal(data, &b); err != nil {
			return event.Batch{}, fmt.Errorf("decode batch: %w", err)
		}
	case codecBinary:
		return decodeBinary(data)
	default:
		return event.Batch{}, fmt.Errorf("decode batch: unknown codec %q (agent newer than server? upgrade the server)", codec)
	}
	return b, nil
}

// DecodeBatch reads one message of the events or samples stream in
// whatever codec its header names.
func DecodeBatch(m jetstream.Msg) (event.Batch, error) {
	return decodeBatch(m.Headers().Get(HeaderCodec), m.Data())
}

// msgID is the Nats-Msg-Id of a payload: a hash of subject and content, so a
// retry of the same publish (ack lost, connection dropped) is recognised by
// JetStream's duplicate window and stored once.
func msgID(subject string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(subject))
	h.Write([]byte{0})
	h.Write(payload)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// EncodeBatch encodes a batch of events only or samples only in the wire
// codec cwb/1 (for the agent's disk spool, which stores what it will
// publish in the form it is published).
func EncodeBatch(b event.Batch) []byte { return encodeBinary(b) }

// DecodeBinaryBatch decodes what EncodeBatch wrote; it refuses malformed
// input without panicking (FuzzDecodeBatch).
func DecodeBinaryBatch(data []byte) (event.Batch, error) { return decodeBinary(data) }
