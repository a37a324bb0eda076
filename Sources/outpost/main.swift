print("outpost: not yet wired")
