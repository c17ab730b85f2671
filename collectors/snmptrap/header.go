package snmptrap

import "errors"

// header is what the decoder reads before any authentication or payload
// decoding: enough to choose the credentials (community, or v3 user and
// engine) and to refuse a packet early without handing it to the
// full decoder.
type header struct {
	version   int // 0 (v1), 1 (v2c), 3
	community []byte
	// v3 only
	msgFlags byte
	secModel int
	engineID []byte
	userName []byte
}

// BER tags used in SNMP message headers.
const (
	tagInteger  = 0x02
	tagOctets   = 0x04
	tagSequence = 0x30
)

// SNMPv3 msgFlags bits.
const (
	flagAuth = 0x01
	flagPriv = 0x02
)

var errMalformed = errors.New("malformed SNMP header")

// ber walks definite-length BER elements.
type ber struct{ b []byte }

// next returns the next element's tag and content.
func (r *ber) next() (byte, []byte, error) {
	if len(r.b) < 2 {
		return 0, nil, errMalformed
	}
	tag, n := r.b[0], int(r.b[1])
	i := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(r.b) < 2+k {
			return 0, nil, errMalformed
		}
		n = 0
		for _, c := range r.b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if n < 0 || n > len(r.b)-i {
		return 0, nil, errMalformed
	}
	content := r.b[i : i+n]
	r.b = r.b[i+n:]
	return tag, content, nil
}

func (r *ber) expect(tag byte) ([]byte, error) {
	t, c, err := r.next()
	if err != nil || t != tag {
		return nil, errMalformed
	}
	return c, nil
}

func (r *ber) integer() (int, error) {
	c, err := r.expect(tagInteger)
	if err != nil || len(c) == 0 || len(c) > 4 {
		return 0, errMalformed
	}
	v := int(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int(x)
	}
	return v, nil
}

// parseHeader reads the message header of an SNMP packet.
func parseHeader(pkt []byte) (header, error) {
	var h header
	outer := ber{pkt}
	msg, err := outer.expect(tagSequence)
	if err != nil {
		return h, err
	}
	r := ber{msg}
	if h.version, err = r.integer(); err != nil {
		return h, err
	}
	if h.version != 3 {
		h.community, err = r.expect(tagOctets)
		return h, err
	}
	global, err := r.expect(tagSequence)
	if err != nil {
		return h, err
	}
	g := ber{global}
	if _, err := g.integer(); err != nil { // msgID
		return h, err
	}
	if _, err := g.integer(); err != nil { // msgMaxSize
		return h, err
	}
	flags, err := g.expect(tagOctets)
	if err != nil || len(flags) != 1 {
		return h, errMalformed
	}
	h.msgFlags = flags[0]
	if h.secModel, err = g.integer(); err != nil {
		return h, err
	}
	spOctets, err := r.expect(tagOctets)
	if err != nil {
		return h, err
	}
	sp := ber{spOctets}
	usm, err := sp.expect(tagSequence)
	if err != nil {
		return h, err
	}
	u := ber{usm}
	if h.engineID, err = u.expect(tagOctets); err != nil {
		return h, err
	}
	if _, err := u.integer(); err != nil { // boots
		return h, err
	}
	if _, err := u.integer(); err != nil { // time
		return h, err
	}
	h.userName, err = u.expect(tagOctets)
	return h, err
}
