// OutpostConfigTests: placeholder
