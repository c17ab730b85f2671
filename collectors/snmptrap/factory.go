// Package snmptrap is the agent's SNMP trap receiver: a UDP listener for
// SNMPv1, SNMPv2c and SNMPv3 (USM, authNoPriv and authPriv, several users,
// optionally bound to engine ids) built on gosnmp, whose traps become
// events (source "snmp") through the packs' trap mappings.
//
// Traps cannot be read again once received, so the collector declares
// itself Volatile: the agent hands it a sink backed by its disk spool, and
// a trap is safe once Emit returned. Every packet that is not an accepted
// trap is counted by reason (malformed, unknown community, unknown user,
// wrong engine id, failed authentication, …) and never stops the listener.
package snmptrap

import (
	"fmt"

	"crmwatch/collectors"
)

// Type is the collector's name in configuration and metrics.
const Type = "snmptrap"

type factory struct{}

// NewFactory returns the snmptrap factory for collectors.NewRegistry.
func NewFactory() collectors.Factory { return factory{} }

func (factory) Type() string { return Type }

func (factory) DefaultConfig() collectors.Config { return DefaultConfig() }

func (factory) New(cfg collectors.Config, set collectors.Settings) (collectors.Collector, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("%s: config is %T, want *snmptrap.Config", Type, cfg)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	return newCollector(c, set)
}
