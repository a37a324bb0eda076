print("outpost-hub: not yet wired")
