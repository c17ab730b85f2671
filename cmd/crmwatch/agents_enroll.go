package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crmwatch/api"
	"crmwatch/transport"
)

// newAgentsEnrollCmd is crmwatch agents enroll: a NATS key for one agent,
// created here (its seed never crosses the network), its public part
// enrolled on the server, the credentials file written 0600.
func newAgentsEnrollCmd(conn *serverConn) *cobra.Command {
	var roles []string
	var out, caFile string
	cmd := &cobra.Command{
		Use:   "enroll NAME --out FILE",
		Short: "(admin) Enroll an agent: write the credentials file crmwatch agent --creds uses",
		Long: "Create a NATS key for the agent of host NAME, enroll its public part on the server and write\n" +
			"the credentials file (the key's seed, the centre's NATS URL and, with TLS, its CA) to --out,\n" +
			"readable by its owner only. Copy it to the host and run crmwatch agent --creds FILE. With\n" +
			"server --nats-auth creds the agent may then publish only NAME's events and samples and read\n" +
			"only NAME's settings (docs/security.md).",
		Example: "  crmwatch agents enroll CRMAPP01 --roles AppServer,AsyncService --out CRMAPP01.creds",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out FILE is required: where to write the credentials file")
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("credentials file %s exists: choose another --out, or remove it", out)
			}
			var ca []byte
			if caFile != "" {
				var err error
				if ca, err = os.ReadFile(caFile); err != nil {
					return fmt.Errorf("--ca-out: %w", err)
				}
			}
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			pub, seed, err := transport.NewUserKey()
			if err != nil {
				return err
			}
			resp, err := c.Enroll(cmd.Context(), api.EnrollRequest{Name: args[0], Roles: roles, PublicKey: pub})
			if err != nil {
				return err
			}
			creds := transport.Credentials{Name: resp.Agent.Name, Seed: seed, NATS: resp.NATS, Roles: resp.Agent.Roles, CA: resp.CA}
			if len(ca) > 0 {
				creds.CA = string(ca)
			}
			if err := transport.WriteCredentials(out, creds); err != nil {
				return fmt.Errorf("%w; the agent was enrolled: revoke it with crmwatch agents revoke %s and enroll again", err, args[0])
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Enrolled %s (NATS key %s); credentials written to %s.\nOn the host: crmwatch agent --creds %s\n",
				resp.Agent.Name, resp.Agent.PublicKey, out, out)
			if !resp.Enforced {
				fmt.Fprintln(cmd.ErrOrStderr(), "Note: this server does not check agent credentials yet; start it with --nats-auth creds once every agent has one.")
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&roles, "roles", nil, "the host's CRM roles, written into the file as the agent's --roles default")
	cmd.Flags().StringVar(&out, "out", "", "where to write the credentials file (must not exist)")
	cmd.Flags().StringVar(&caFile, "ca-out", "", "CA file to put in the credentials file (with --tls-cert; --tls auto puts its own)")
	return cmd
}

func newAgentsRevokeCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "(admin) Revoke an agent's credentials: its connection is closed at once (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			if err := c.RevokeAgent(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked %s: its NATS connection is closed and it cannot connect again.\n", args[0])
			return nil
		},
	}
}

func newAgentsEnrolledCmd(conn *serverConn) *cobra.Command {
	return &cobra.Command{
		Use:   "enrolled",
		Short: "List enrolled agents (revoked ones too) and whether the server enforces credentials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.Enrolled(cmd.Context())
			if err != nil {
				return err
			}
			if conn.json {
				return printJSONTo(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tROLES\tENROLLED\tBY\tNATS KEY")
			for _, a := range resp.Agents {
				state := "active"
				if a.RevokedAt != nil {
					state = "revoked " + a.RevokedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", a.Name, state, a.Roles, a.EnrolledAt.Local().Format(time.DateTime), a.EnrolledBy, a.PublicKey)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !resp.Enforced {
				fmt.Fprintln(cmd.OutOrStdout(), "The server does not check agent credentials (start it with --nats-auth creds).")
			}
			return nil
		},
	}
}

// newAgentsNATSConfigCmd prints the nats-server authorization block that
// enforces on an external NATS what --nats-auth creds enforces on the
// embedded one.
func newAgentsNATSConfigCmd(conn *serverConn) *cobra.Command {
	var serverKey, serverCreds, prefix, account string
	cmd := &cobra.Command{
		Use:   "nats-config --server-creds FILE | --server-key PUBLIC_KEY",
		Short: "Print the nats-server authorization for the enrolled agents (for an external NATS)",
		Long: "Print the authorization block of a nats-server configuration that gives every enrolled, not\n" +
			"revoked agent exactly its host's permissions and the crmwatch server every permission. The\n" +
			"server's key is the one in --server-creds FILE (created, mode 0600, when it does not exist:\n" +
			"give it to crmwatch server --nats-creds) or the public key --server-key. Re-generate and\n" +
			"reload nats-server (nats-server --signal reload) after each enroll and revoke. See docs/security.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serverCreds != "" {
				pub, err := serverCredentials(serverCreds)
				if err != nil {
					return err
				}
				serverKey = pub
			}
			if err := transport.CheckPublicKey(serverKey); err != nil {
				return fmt.Errorf("--server-key: %w (or give --server-creds FILE)", err)
			}
			names, err := transport.NewNames(prefix)
			if err != nil {
				return err
			}
			c, err := conn.client(cmd)
			if err != nil {
				return err
			}
			resp, err := c.Enrolled(cmd.Context())
			if err != nil {
				return err
			}
			u := transport.Users{Server: serverKey}
			for _, a := range resp.Agents {
				if a.RevokedAt == nil {
					u.Agents = append(u.Agents, transport.Enrolled{Name: a.Name, PublicKey: a.PublicKey})
				}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), u.ServerConfig(names, account))
			return err
		},
	}
	cmd.Flags().StringVar(&serverKey, "server-key", "", "public NATS key (U…) of the crmwatch server's own user")
	cmd.Flags().StringVar(&serverCreds, "server-creds", "", "the crmwatch server's credentials file (created when missing) for server --nats-creds")
	cmd.Flags().StringVar(&account, "account", "", "render an accounts block with this account (JetStream enabled) holding the users, instead of a top-level authorization block")
	cmd.Flags().StringVar(&prefix, "prefix", transport.DefaultPrefix, "the installation's subject prefix")
	return cmd
}

// serverCredentials returns the public key of the server's credentials
// file, creating the file with a new key when it does not exist.
func serverCredentials(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		c, err := transport.ReadCredentials(path)
		if err != nil {
			return "", fmt.Errorf("--server-creds: %w", err)
		}
		k, err := transport.ParseUserKey(c.Seed)
		if err != nil {
			return "", fmt.Errorf("--server-creds %s: %w", path, err)
		}
		return k.Public(), nil
	}
	pub, seed, err := transport.NewUserKey()
	if err != nil {
		return "", err
	}
	if err := transport.WriteCredentials(path, transport.Credentials{Name: "crmwatch-server", Seed: seed}); err != nil {
		return "", err
	}
	return pub, nil
}
