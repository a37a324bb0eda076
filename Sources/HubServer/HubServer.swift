// HubServer: placeholder until the module lands.
