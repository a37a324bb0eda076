// OutboxTests: placeholder until the module lands.
