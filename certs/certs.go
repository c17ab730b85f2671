// Package certs is crmwatch's TLS material: the private CA and server
// certificate of `crmwatch server --tls auto` (kept in the data directory and
// reused on restart), operator-supplied certificate and key files, and the
// client side's verification against a CA file. Its errors never carry key
// material and say what to do: which file, which flag.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names under the auto directory (<data>/tls).
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

// Lifetimes of what Auto creates. The server certificate is renewed from the
// same CA when less than RenewBefore remains, so clients keep their ca.pem.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 2 * 365 * 24 * time.Hour
	RenewBefore    = 30 * 24 * time.Hour
)

// Pair names a certificate chain file and its private key file.
type Pair struct {
	CertFile, KeyFile string
	// CAFile is the CA clients must trust ("" when the operator supplied the
	// pair and its CA is theirs to hand out).
	CAFile string
}

// Auto makes sure dir holds a private CA and a server certificate signed by
// it that names every host in hosts (plus localhost, 127.0.0.1, ::1 and this
// machine's name), creating what is missing. An existing CA is reused; the
// server certificate is issued again when it misses a name, expires within
// RenewBefore, or was not signed by the CA in dir.
func Auto(dir string, hosts []string) (Pair, error) {
	p := Pair{CertFile: filepath.Join(dir, ServerFile), KeyFile: filepath.Join(dir, ServerKeyFile), CAFile: filepath.Join(dir, CAFile)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, fmt.Errorf("TLS directory %s: %w", dir, err)
	}
	ca, caKey, err := loadOrCreateCA(dir)
	if err != nil {
		return p, err
	}
	names := serverNames(hosts)
	if cert, err := readCert(p.CertFile); err == nil && covers(cert, names) && signedBy(cert, ca) &&
		time.Until(cert.NotAfter) > RenewBefore {
		if _, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile); err == nil {
			return p, nil
		}
	}
	if err := issueServer(p, ca, caKey, names, ServerLifetime); err != nil {
		return p, err
	}
	return p, nil
}

func serverNames(hosts []string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	for _, h := range hosts {
		if h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	return names
}

func loadOrCreateCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Stat(certPath); err == nil {
		pair, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return nil, nil, fmt.Errorf("TLS CA in %s: %s and %s do not load as a pair (%v); move the directory away to create a new CA (clients then need the new %s)",
				dir, CAFile, CAKeyFile, keyError(err), CAFile)
		}
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("TLS CA key %s: not an ECDSA key", keyPath)
		}
		ca, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, nil, fmt.Errorf("TLS CA %s: %w", certPath, err)
		}
		return ca, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS CA key: %w", err)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"crmwatch"}, CommonName: "crmwatch private CA " + host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS CA: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func issueServer(p Pair, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, lifetime time.Duration) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("TLS server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"crmwatch"}, CommonName: names[len(names)-1]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("TLS server certificate: %w", err)
	}
	if err := writeKey(p.KeyFile, key); err != nil {
		return err
	}
	return writePEM(p.CertFile, "CERTIFICATE", der, 0o644)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("TLS key %s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes atomically (temp file, rename) so a crash never leaves
// half a key behind.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(b.Bytes)
}

func covers(c *x509.Certificate, names []string) bool {
	for _, n := range names {
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

func signedBy(c, ca *x509.Certificate) bool { return c.CheckSignatureFrom(ca) == nil }

// keyError is what crypto/tls said about a key pair: it describes PEM
// blocks and never quotes them (TestKeyNeverInErrors holds it to that).
func keyError(err error) string { return err.Error() }

// ServerConfig loads a certificate chain and key for a server (HTTPS and the
// embedded NATS). Errors name the files, never their contents.
func ServerConfig(p Pair) (*tls.Config, error) {
	if p.CertFile == "" || p.KeyFile == "" {
		return nil, errors.New("TLS needs both --tls-cert and --tls-key (or --tls auto)")
	}
	pair, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %s (both must be PEM, the key unencrypted, and belong together)",
			p.CertFile, p.KeyFile, keyError(err))
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// CAPool reads PEM certificates (a CA bundle) from path.
func CAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w (pass the server's CA with --ca or %s; with --tls auto it is <data>/tls/%s)", path, err, EnvCA, CAFile)
	}
	return PoolFromPEM(path, data)
}

// PoolFromPEM is CAPool over bytes already read (an agent credentials file
// carries its CA); name says where they came from.
func PoolFromPEM(name string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it (want the server's %s)", name, CAFile)
	}
	return pool, nil
}

// EnvCA is the environment variable clients read when --ca is not given.
const EnvCA = "CRMWATCH_CA"

// ClientOptions say how a client verifies the server.
type ClientOptions struct {
	// CAFile is the CA the server's certificate must chain to ("" uses
	// $CRMWATCH_CA, then the system roots).
	CAFile string
	// CAPEM is a CA given inline (an agent credentials file); used when
	// CAFile is empty.
	CAPEM []byte
	// InsecureSkipVerify accepts any certificate: for a first look only.
	InsecureSkipVerify bool
}

// ClientConfig builds the client TLS configuration, or nil when nothing
// was asked for (then the defaults verify against the system roots).
func ClientConfig(o ClientOptions) (*tls.Config, error) {
	if o.CAFile == "" {
		o.CAFile = os.Getenv(EnvCA)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case o.InsecureSkipVerify:
		cfg.InsecureSkipVerify = true //nolint:gosec // asked for by --insecure-skip-verify, which warns
	case o.CAFile != "":
		pool, err := CAPool(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	case len(o.CAPEM) > 0:
		pool, err := PoolFromPEM("in the credentials file", o.CAPEM)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	default:
		return nil, nil
	}
	return cfg, nil
}

// InsecureWarning is what a client prints when --insecure-skip-verify is on.
const InsecureWarning = "WARNING: --insecure-skip-verify: the server's TLS certificate is NOT checked; anyone between you and the server can read your operator token and answer in the server's name. Use --ca FILE (or CRMWATCH_CA) instead."

// Explain rewrites a TLS verification failure into what to do; other
// errors come back as they are.
func Explain(err error, caFile string) error {
	if err == nil {
		return nil
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var tv *tls.CertificateVerificationError
	which := "the system's trusted roots"
	if caFile != "" {
		which = "the CA in " + caFile
	}
	switch {
	case errors.As(err, &ua):
		return fmt.Errorf("the server's TLS certificate is not signed by %s: pass the CA the server uses with --ca FILE or %s (with --tls auto it is <data>/tls/%s on the server)", which, EnvCA, CAFile)
	case errors.As(err, &hn):
		return fmt.Errorf("the server's TLS certificate does not name the host you connect to (%v): use a host name the certificate lists, or issue one that names it", hn)
	case errors.As(err, &ci):
		return fmt.Errorf("the server's TLS certificate is not valid (%v): renew it (with --tls auto, restart the server: it renews the certificate before it expires)", ci)
	case errors.As(err, &tv):
		return fmt.Errorf("the server's TLS certificate was refused (%v): check --ca / %s", tv.Err, EnvCA)
	}
	return err
}
