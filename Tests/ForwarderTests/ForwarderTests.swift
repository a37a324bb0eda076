// ForwarderTests: placeholder until the module lands.
