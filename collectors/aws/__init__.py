"""AWS: account discovery (explicit list, Organizations + AssumeRole) and collectors."""
