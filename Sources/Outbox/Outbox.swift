// Outbox: placeholder until the module lands.
