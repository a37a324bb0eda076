// Forwarder: placeholder until the module lands.
