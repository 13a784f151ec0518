// BinTestKit module.
