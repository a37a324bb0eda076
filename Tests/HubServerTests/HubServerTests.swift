// HubServerTests: placeholder until the module lands.
