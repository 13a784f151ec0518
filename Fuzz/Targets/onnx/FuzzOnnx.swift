import FuzzHarness

/// libFuzzer entry point for `FuzzHarness.onnx` (built by `make fuzz` with `-sanitize=fuzzer,address`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOnnx(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzHarness.onnx(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
