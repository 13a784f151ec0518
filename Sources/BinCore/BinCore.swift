// BinCore module.
