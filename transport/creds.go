package transport

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"crmwatch/secret"
)

// Credentials are what `crmwatch agents enroll` writes and `crmwatch agent
// --creds FILE` reads: the agent's name, its NATS key seed, where the
// centre is and the CA to verify it with.
type Credentials struct {
	// Name is the host the credential speaks for; its permissions are
	// built from it.
	Name string
	// Seed proves the enrolled public key (a secret).
	Seed secret.Value
	// NATS is the centre's NATS URL ("" when the server could not say).
	NATS string
	// Roles the admin enrolled the agent with (its --roles default).
	Roles []string
	// CA is the PEM of the centre's CA ("" without TLS or with a CA the
	// agent finds elsewhere).
	CA string
}

// credsFile is the file's shape; the seed is plain text only here, on its
// way to or from the disk.
type credsFile struct {
	Name  string   `yaml:"name"`
	Seed  string   `yaml:"seed"`
	NATS  string   `yaml:"nats,omitempty"`
	Roles []string `yaml:"roles,omitempty"`
	CA    string   `yaml:"ca,omitempty"`
}

const credsHeader = "# crmwatch agent credentials: keep this file secret (mode 0600).\n" +
	"# Use: crmwatch agent --creds FILE. Revoke: crmwatch agents revoke NAME.\n"

// Marshal renders the file.
func (c Credentials) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(credsHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(credsFile{Name: c.Name, Seed: c.Seed.Reveal(), NATS: c.NATS, Roles: c.Roles, CA: c.CA}); err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	return b.Bytes(), nil
}

// WriteCredentials writes a new file readable by its owner only; an
// existing file is never overwritten.
func WriteCredentials(path string, c Credentials) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("credentials file %s exists: choose another --out, or remove it (an old credential stays valid until crmwatch agents revoke)", path)
		}
		return fmt.Errorf("credentials file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write credentials file %s: %w", path, err)
	}
	return f.Close()
}

// ParseCredentials reads a credentials file's content. Errors name what is
// wrong and never repeat the content.
func ParseCredentials(data []byte) (Credentials, error) {
	var f credsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Credentials{}, errors.New("not a crmwatch credentials file (want YAML with name and seed, as crmwatch agents enroll writes it)")
	}
	c := Credentials{Name: f.Name, Seed: secret.New(f.Seed), NATS: f.NATS, Roles: f.Roles, CA: f.CA}
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("no name"))
	}
	if c.Seed.IsZero() {
		errs = append(errs, errors.New("no seed"))
	} else if _, err := ParseUserKey(c.Seed); err != nil {
		errs = append(errs, err)
	}
	if c.NATS != "" {
		u, err := secret.ParseURL(c.NATS)
		if err == nil {
			err = CheckURLs("nats", u)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Credentials{}, fmt.Errorf("credentials file: %w (enroll the agent again with crmwatch agents enroll)", err)
	}
	return c, nil
}

// ReadCredentials reads and checks a credentials file.
func ReadCredentials(path string) (Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials file: %w (the file crmwatch agents enroll --out wrote)", err)
	}
	c, err := ParseCredentials(data)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
